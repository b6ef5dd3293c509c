// SPDX-License-Identifier: BSD-2-Clause
// `swift run biolatency`: the same command as `swiftbpf biolatency`.
import biolatency

biolatency.tool.main()
