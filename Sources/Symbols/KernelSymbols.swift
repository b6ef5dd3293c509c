// SPDX-License-Identifier: BSD-2-Clause
import Foundation

/// The kernel's function symbols, from `/proc/kallsyms`: read once,
/// sorted, and searched by address. Reading real addresses needs root
/// (or `kernel.kptr_restrict=0`); otherwise every address reads as 0 and
/// `init` throws rather than name every frame wrongly.
public final class KernelSymbols: Sendable {
    struct Entry: Sendable {
        var address: UInt64
        var name: String
        var module: String?
    }
    let entries: [Entry]

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads `path` (default `/proc/kallsyms`).
    public convenience init(path: String = "/proc/kallsyms") throws(Unavailable) {
        guard let text = try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).readToEnd().map({ String(decoding: $0, as: UTF8.self) }) else {
            throw Unavailable(description: "cannot read kernel symbols from \(path)")
        }
        try self.init(kallsyms: text, source: path)
    }

    /// Parses kallsyms text: `ADDRESS TYPE NAME [MODULE]` per line. Only
    /// text symbols (types t, T, w, W) are kept: a stack holds code
    /// addresses.
    public init(kallsyms text: String, source: String = "kallsyms") throws(Unavailable) {
        var entries: [Entry] = []
        entries.reserveCapacity(200_000)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, let type = fields[1].first, "tTwW".contains(type),
                  let address = UInt64(fields[0], radix: 16), address != 0 else { continue }
            var module: String?
            if fields.count >= 4, fields[3].hasPrefix("["), fields[3].hasSuffix("]") {
                module = String(fields[3].dropFirst().dropLast())
            }
            entries.append(Entry(address: address, name: String(fields[2]), module: module))
        }
        guard !entries.isEmpty else {
            throw Unavailable(description: "\(source) gives no addresses (not root, or kernel.kptr_restrict hides them)")
        }
        entries.sort { $0.address < $1.address }
        self.entries = entries
    }

    /// The number of function symbols.
    public var count: Int { entries.count }

    /// The function holding `address`: its name, the offset into it, and
    /// its module (nil for the kernel proper). nil below the first symbol.
    public func symbol(at address: UInt64) -> (name: String, offset: UInt64, module: String?)? {
        guard let e = entries.last(atOrBelow: address, key: \.address) else { return nil }
        return (e.name, address - e.address, e.module)
    }
}
