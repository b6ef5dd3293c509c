// SPDX-License-Identifier: BSD-2-Clause
// `swift run cpudist`: the same command as `swiftbpf cpudist`.
import cpudist

cpudist.tool.main()
