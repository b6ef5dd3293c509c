// SPDX-License-Identifier: BSD-2-Clause
// `swift run killsnoop`: the same command as `swiftbpf killsnoop`.
import killsnoop

killsnoop.tool.main()
