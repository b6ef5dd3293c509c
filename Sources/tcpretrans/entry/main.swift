// SPDX-License-Identifier: BSD-2-Clause
// `swift run tcpretrans`: the same command as `swiftbpf tcpretrans`.
import tcpretrans

tcpretrans.tool.main()
