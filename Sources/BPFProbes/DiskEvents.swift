// SPDX-License-Identifier: BSD-2-Clause
// Swift view of biosnoop's event, read in place from a ring-buffer record.

/// A `struct block_event` from biosnoop: a block request completed. The
/// task is the one that queued it.
public struct BlockEvent: TaskEvent {
    let record: RecordReader<block_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<block_event>(bytes, minimumSize: MemoryLayout<block_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    /// The disk, as major << 20 | minor.
    public var device: UInt32 { record(\.dev) }
    public var sector: UInt64 { record(\.sector) }
    public var bytes: UInt32 { record(\.bytes) }
    /// The operation (low bits) and REQ_* flags.
    public var commandFlags: UInt32 { record(\.cmd_flags) }
    /// Issue to completion.
    public var latencyNanoseconds: UInt64 { record(\.latency_ns) }
    /// Insertion to issue; 0 when the request was issued without being queued.
    public var queuedNanoseconds: UInt64 { record(\.queued_ns) }
    /// The block layer's status: 0 for success.
    public var error: Int32 { record(\.error) }
}
