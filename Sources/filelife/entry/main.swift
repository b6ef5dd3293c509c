// SPDX-License-Identifier: BSD-2-Clause
// `swift run filelife`: the same command as `swiftbpf filelife`.
import filelife

filelife.tool.main()
