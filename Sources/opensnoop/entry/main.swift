// SPDX-License-Identifier: BSD-2-Clause
// `swift run opensnoop`: the same command as `swiftbpf opensnoop`.
import opensnoop

opensnoop.tool.main()
