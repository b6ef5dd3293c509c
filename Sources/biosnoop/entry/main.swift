// SPDX-License-Identifier: BSD-2-Clause
// `swift run biosnoop`: the same command as `swiftbpf biosnoop`.
import biosnoop

biosnoop.tool.main()
