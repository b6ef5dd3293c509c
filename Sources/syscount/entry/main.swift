// SPDX-License-Identifier: BSD-2-Clause
// `swift run syscount`: the same command as `swiftbpf syscount`.
import syscount

syscount.tool.main()
