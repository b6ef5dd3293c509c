// SPDX-License-Identifier: BSD-2-Clause
// `swift run tcpstates`: the same command as `swiftbpf tcpstates`.
import tcpstates

tcpstates.tool.main()
