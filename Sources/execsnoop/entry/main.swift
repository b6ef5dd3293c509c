// SPDX-License-Identifier: BSD-2-Clause
// `swift run execsnoop`: the same command as `swiftbpf execsnoop`.
import execsnoop

execsnoop.tool.main()
