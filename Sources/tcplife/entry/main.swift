// SPDX-License-Identifier: BSD-2-Clause
// `swift run tcplife`: the same command as `swiftbpf tcplife`.
import tcplife

tcplife.tool.main()
