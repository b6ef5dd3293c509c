// SPDX-License-Identifier: BSD-2-Clause
// `swift run egressguard`: the same command as `swiftbpf egressguard`.
import egressguard

egressguard.tool.main()
