// SPDX-License-Identifier: BSD-2-Clause

extension Array {
    /// For an array sorted by `key`: the last element whose key is at or
    /// below `value` (the symbol or mapping an address falls in), by binary
    /// search; nil when every key is above it.
    func last(atOrBelow value: UInt64, key: (Element) -> UInt64) -> Element? {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if key(self[mid]) <= value { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? self[low - 1] : nil
    }
}
