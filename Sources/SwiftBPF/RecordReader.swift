// SPDX-License-Identifier: BSD-2-Clause
/// Reads fields of a C event struct out of a ring-buffer record without
/// copying the record. Records may be shorter than the struct (probes send
/// only the used part of a trailing buffer), so every read is bounds-checked.
public struct RecordReader<Record> {
    public let bytes: UnsafeRawBufferPointer

    /// nil when the record is shorter than the fields up to `minimumSize`.
    public init?(_ bytes: UnsafeRawBufferPointer, minimumSize: Int) {
        guard bytes.count >= minimumSize else { return nil }
        self.bytes = bytes
    }

    /// The value of the field at `field` (a key path into the C struct).
    @inlinable
    public func callAsFunction<T: BitwiseCopyable>(_ field: KeyPath<Record, T>) -> T {
        let offset = MemoryLayout<Record>.offset(of: field)!
        guard offset + MemoryLayout<T>.size <= bytes.count else {
            return [UInt8](repeating: 0, count: MemoryLayout<T>.size).withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    /// The value at a byte offset; for views that compute their fields'
    /// offsets once (a key path's offset is looked up at run time).
    @inlinable
    public func load<T: BitwiseCopyable>(at offset: Int, as type: T.Type = T.self) -> T {
        guard offset + MemoryLayout<T>.size <= bytes.count else {
            return [UInt8](repeating: 0, count: MemoryLayout<T>.size).withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    /// Bytes from `offset` up to a NUL, at most `length` bytes.
    @inlinable
    public func string(at offset: Int, length: Int) -> UnsafeRawBufferPointer {
        let end = min(bytes.count, offset + length)
        guard offset < end else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        let n = slice.firstIndex(of: 0) ?? slice.count
        return UnsafeRawBufferPointer(rebasing: slice[..<n])
    }

    /// `count` bytes from `offset`, or as many as the record has.
    @inlinable
    public func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer {
        let end = min(bytes.count, offset + count)
        guard offset < end else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    /// Bytes of a `char[]` field up to its NUL (or `length` bytes, or the
    /// end of the record, whichever comes first).
    public func string<T>(_ field: KeyPath<Record, T>, length: Int? = nil) -> UnsafeRawBufferPointer {
        let offset = MemoryLayout<Record>.offset(of: field)!
        let end = min(bytes.count, offset + (length ?? MemoryLayout<T>.size))
        guard offset < end else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        let n = slice.firstIndex(of: 0) ?? slice.count
        return UnsafeRawBufferPointer(rebasing: slice[..<n])
    }
}
