// SPDX-License-Identifier: BSD-2-Clause
// `swift run skbdrop`: the same command as `swiftbpf skbdrop`.
import skbdrop

skbdrop.tool.main()
