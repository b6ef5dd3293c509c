// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc

/// A `BPF_MAP_TYPE_STACK_TRACE` map: what `bpf_get_stackid()` stored,
/// stack IDs to instruction pointers, innermost frame first. Linux 4.6+.
///
/// `bpf_get_stackid()` returns a negative errno instead of an ID when it
/// could not store a stack: `-EEXIST` when another stack has the slot its
/// hash chose (without `BPF_F_REUSE_STACKID`), `-EFAULT` when the stack
/// could not be walked, `-ENOMEM` when the map is full. Count those in
/// the probe; `StackTraceMap.Gap` names them for reports.
public struct StackTraceMap: Sendable {
    public let map: Map
    /// The frames a stack holds at most (the value size in words).
    public let depth: Int

    public init(_ map: Map) throws(BPFError) {
        guard map.type == .stackTrace else {
            throw BPFError(.wrongMapType, "map '\(map.name)' is \(map.type), not a stack trace map")
        }
        guard map.keySize == 4, map.valueSize % 8 == 0 else {
            throw BPFError(.sizeMismatch, "map '\(map.name)': a stack trace map has 4-byte keys and 8-byte frames, not \(map.keySize) and \(map.valueSize)")
        }
        self.map = map
        depth = map.valueSize / 8
    }

    /// The frames of stack `id`, innermost first; nil when there is no such
    /// stack (never stored, or deleted).
    public func frames(_ id: Int32) throws(BPFError) -> [UInt64]? {
        guard id >= 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: map.valueSize)
        guard try map.lookup(UInt32(id), into: &buffer) else { return nil }
        return buffer.withUnsafeBytes { raw in
            (0..<depth).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }.prefix { $0 != 0 }
        }
    }

    /// Why a stack is missing, from `bpf_get_stackid()`'s negative result.
    public enum Gap: String, Sendable, CaseIterable {
        /// Its hash slot held another stack (`-EEXIST`): a bigger map helps.
        case collision
        /// The stack could not be walked (`-EFAULT`): no frame pointers, or
        /// a page not present.
        case unwalkable
        /// Any other error (`-ENOMEM`: the map is full).
        case other

        public init(errno code: Int32) {
            switch -code {
            case EEXIST: self = .collision
            case EFAULT: self = .unwalkable
            default: self = .other
            }
        }
    }
}
