// SPDX-License-Identifier: BSD-2-Clause
// `swift run pktfilter`: the same command as `swiftbpf pktfilter`.
import pktfilter

pktfilter.tool.main()
