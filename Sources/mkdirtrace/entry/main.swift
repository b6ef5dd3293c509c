// SPDX-License-Identifier: BSD-2-Clause
// `swift run mkdirtrace`: the same command as `swiftbpf mkdirtrace`.
import mkdirtrace

mkdirtrace.tool.main()
