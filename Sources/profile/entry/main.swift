// SPDX-License-Identifier: BSD-2-Clause
// `swift run profile`: the same command as `swiftbpf profile`.
import profile

profile.tool.main()
