// SPDX-License-Identifier: BSD-2-Clause
// `swift run vfsstat`: the same command as `swiftbpf vfsstat`.
import vfsstat

vfsstat.tool.main()
