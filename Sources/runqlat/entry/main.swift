// SPDX-License-Identifier: BSD-2-Clause
// `swift run runqlat`: the same command as `swiftbpf runqlat`.
import runqlat

runqlat.tool.main()
