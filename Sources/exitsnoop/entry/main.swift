// SPDX-License-Identifier: BSD-2-Clause
// `swift run exitsnoop`: the same command as `swiftbpf exitsnoop`.
import exitsnoop

exitsnoop.tool.main()
