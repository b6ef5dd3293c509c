// SPDX-License-Identifier: BSD-2-Clause
// `swift run sigsnoop`: the same command as `swiftbpf sigsnoop`.
import sigsnoop

sigsnoop.tool.main()
