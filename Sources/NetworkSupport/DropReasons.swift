// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import SwiftBPF
import ToolSupport

/// The running kernel's `enum skb_drop_reason`, read from its BTF at
/// start-up: the numbering differs from one kernel version to the next,
/// so a fixed table would name drops wrongly.
public struct DropReasons: Sendable {
    /// Number → name without the `SKB_DROP_REASON_` prefix.
    let names: [Int64: String]
    /// `SKB_CONSUMED`: freed after use, not dropped.
    public let consumed: Int64?

    /// Refuses, naming the version, a kernel whose `kfree_skb` tracepoint
    /// has no reason (before Linux 5.17).
    public static func current() throws(BPFError) -> DropReasons {
        try Kernel.require(.dropReasons)
        let all = try KernelTypes.enumerators(of: "skb_drop_reason")
        var names: [Int64: String] = [:]
        var consumed: Int64?
        for e in all {
            if e.name == "SKB_CONSUMED" { consumed = e.value }
            guard e.name.hasPrefix("SKB_DROP_REASON_"), !e.name.hasSuffix("_MAX"), !e.name.contains("SUBSYS") else { continue }
            if names[e.value] == nil { names[e.value] = String(e.name.dropFirst("SKB_DROP_REASON_".count)) }
        }
        if let consumed { names[consumed] = "CONSUMED" }
        return DropReasons(names: names, consumed: consumed)
    }

    /// For a kernel whose drops have no reason (before Linux 5.17): every
    /// reason is nil.
    public static let unexplained = DropReasons(names: [:], consumed: nil)

    /// Whether this kernel gives drops a reason.
    public var explained: Bool { !names.isEmpty }

    public func name(_ reason: UInt32) -> String { names[Int64(reason)] ?? "REASON_\(reason)" }

    /// The number of the reason called `name` (with or without the
    /// prefix, any case), or a usage error with the nearest names.
    public func number(of name: String) throws -> Int64 {
        let wanted = name.uppercased().replacingOccurrences(of: "SKB_DROP_REASON_", with: "")
        if let hit = names.first(where: { $0.value == wanted }) { return hit.key }
        let near = Suggest.closest(to: wanted, in: Array(names.values))
        throw ValidationError("this kernel has no drop reason '\(name)'" + (near.isEmpty ? "" : "; did you mean \(near.joined(separator: ", "))?")
                              + " ('skbdrop --list-reasons' lists them)")
    }

    /// Every reason this kernel has, by number.
    public var all: [(number: Int64, name: String)] { names.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}
