// SPDX-License-Identifier: BSD-2-Clause
// `swift run bashreadline`: the same command as `swiftbpf bashreadline`.
import bashreadline

bashreadline.tool.main()
