// SPDX-License-Identifier: BSD-2-Clause
// Swift view of biosnoop's event, read in place from a ring-buffer record.

/// A `struct block_event` from biosnoop: a block request completed. The
/// task is the one that queued it.
extension BlockEvent {
    /// The disk, as major << 20 | minor.
    public var device: UInt32 { dev }
    /// The operation (low bits) and REQ_* flags.
    public var commandFlags: UInt32 { cmdFlags }
    /// Issue to completion.
    public var latencyNanoseconds: UInt64 { latencyNs }
    /// Insertion to issue; 0 when the request was issued without being queued.
    public var queuedNanoseconds: UInt64 { queuedNs }
}
