// SPDX-License-Identifier: BSD-2-Clause
// `swift run oomkill`: the same command as `swiftbpf oomkill`.
import oomkill

oomkill.tool.main()
