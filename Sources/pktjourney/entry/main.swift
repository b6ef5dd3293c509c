// SPDX-License-Identifier: BSD-2-Clause
// `swift run pktjourney`: the same command as `swiftbpf pktjourney`.
import pktjourney

pktjourney.tool.main()
