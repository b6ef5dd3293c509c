// SPDX-License-Identifier: BSD-2-Clause
// `swift run stackcount`: the same command as `swiftbpf stackcount`.
import stackcount

stackcount.tool.main()
