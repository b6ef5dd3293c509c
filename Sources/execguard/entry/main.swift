// SPDX-License-Identifier: BSD-2-Clause
// `swift run execguard`: the same command as `swiftbpf execguard`.
import execguard

execguard.tool.main()
