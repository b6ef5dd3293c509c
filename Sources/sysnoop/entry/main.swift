// SPDX-License-Identifier: BSD-2-Clause
// `swift run sysnoop`: the same command as `swiftbpf sysnoop`.
import sysnoop

sysnoop.tool.main()
