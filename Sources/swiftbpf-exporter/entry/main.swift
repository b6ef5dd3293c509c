// SPDX-License-Identifier: BSD-2-Clause
// `swift run swiftbpf-exporter`: the same command as `swiftbpf swiftbpf-exporter`.
import swiftbpf_exporter

swiftbpf_exporter.tool.main()
