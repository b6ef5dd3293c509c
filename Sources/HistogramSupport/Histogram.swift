// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import ToolSupport

/// BCC-style log2 histograms.
public enum Log2Histogram {
    /// `buckets[i]` counts values in [2^i, 2^(i+1)) (bucket 0: 0 and 1).
    public static func render(_ buckets: [UInt64], unit: String, width: Int = 40) -> String {
        guard let last = buckets.lastIndex(where: { $0 > 0 }) else { return "" }
        let peak = buckets.max() ?? 1
        var lines = [String(repeating: " ", count: max(0, 24 - unit.count)) + unit + " : count    distribution"]
        for i in 0...last {
            let low: UInt64 = i == 0 ? 0 : 1 << UInt64(i)
            let high: UInt64 = (1 << UInt64(i + 1)) - 1
            let stars = Int((Double(buckets[i]) / Double(peak) * Double(width)).rounded(.down))
            let range = "\(low) -> \(high)"
            lines.append(String(repeating: " ", count: max(0, 24 - range.count)) + range + " : "
                         + String(buckets[i]).padding(toLength: 8, withPad: " ", startingAt: 0)
                         + " |" + String(repeating: "*", count: stars) + String(repeating: " ", count: width - stars) + "|")
        }
        return lines.joined(separator: "\n")
    }
}
