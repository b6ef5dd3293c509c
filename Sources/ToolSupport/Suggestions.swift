// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

/// Close-match suggestions for unknown names.
public enum Suggest {
    public static func closest(to word: String, in candidates: [String], limit: Int = 4) -> [String] {
        let scored = candidates.map { ($0, distance(word, $0)) }
        let budget = max(2, word.count / 3)
        let near = scored.filter { $0.1 <= budget || ($0.0.hasPrefix(word) && word.count >= 3) }
        return near.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(limit).map(\.0)
    }

    /// Levenshtein distance.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count), cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            if b.isEmpty { cur = [i] }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
