// SPDX-License-Identifier: BSD-2-Clause
// `swift run offcputime`: the same command as `swiftbpf offcputime`.
import offcputime

offcputime.tool.main()
