// SPDX-License-Identifier: BSD-2-Clause

/// The OpenMetrics 1.0 form of a Prometheus text exposition, for scrapers
/// that ask for it. The two differ, for what this exporter writes, in a
/// counter family's name (`# TYPE syscalls counter` for the sample
/// `syscalls_total`) and the closing `# EOF`.
enum OpenMetrics {
    static func fromPrometheusText(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 8)
        var counters: Set<Substring> = []
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        for line in lines {
            let words = line.split(separator: " ", maxSplits: 3)
            if words.count >= 4, words[0] == "#", words[1] == "TYPE", words[3] == "counter", words[2].hasSuffix("_total") {
                counters.insert(words[2])
            }
        }
        for line in lines {
            var line = line
            let words = line.split(separator: " ", maxSplits: 3)
            if words.count >= 3, words[0] == "#", words[1] == "TYPE" || words[1] == "HELP", counters.contains(words[2]) {
                // The family is named without the suffix its samples carry.
                let family = words[2].dropLast("_total".count)
                line = "# \(words[1]) \(family)" + (words.count > 3 ? " \(words[3])" : "")
            }
            out.append(contentsOf: line.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        out.append(contentsOf: "# EOF\n".utf8)
        return out
    }
}
