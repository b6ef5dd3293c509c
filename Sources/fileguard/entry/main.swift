// SPDX-License-Identifier: BSD-2-Clause
// `swift run fileguard`: the same command as `swiftbpf fileguard`.
import fileguard

fileguard.tool.main()
