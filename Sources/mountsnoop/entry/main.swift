// SPDX-License-Identifier: BSD-2-Clause
// `swift run mountsnoop`: the same command as `swiftbpf mountsnoop`.
import mountsnoop

mountsnoop.tool.main()
