// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the network tools' events (tcpstates, tcplife,
// tcpretrans, skbdrop), read in place from ring-buffer records.

/// A `struct tcpstate_event` from tcpstates. The task is the socket's
/// owner where it is known (PID 0 otherwise).
public struct TCPStateEvent: TaskEvent {
    let record: RecordReader<tcpstate_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<tcpstate_event>(bytes, minimumSize: MemoryLayout<tcpstate_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var flow: flow { record(\.flow) }
    /// The socket's kernel address: one connection's changes share it.
    public var socket: UInt64 { record(\.skaddr) }
    /// Time in the old state; 0 when it began before tracing.
    public var nanosecondsInOldState: UInt64 { record(\.in_state_ns) }
    public var oldState: Int32 { record(\.oldstate) }
    public var newState: Int32 { record(\.newstate) }
}

/// A `struct tcplife_event` from tcplife: a connection ended.
public struct TCPLifeEvent: TaskEvent {
    let record: RecordReader<tcplife_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<tcplife_event>(bytes, minimumSize: MemoryLayout<tcplife_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var flow: flow { record(\.flow) }
    public var durationNanoseconds: UInt64 { record(\.duration_ns) }
    /// Data bytes sent, each once however often it was retransmitted.
    public var sentBytes: UInt64 { record(\.tx_bytes) }
    /// Data bytes received.
    public var receivedBytes: UInt64 { record(\.rx_bytes) }
    /// Accepted from a listener, not connected.
    public var isPassive: Bool { record(\.passive) != 0 }
}

/// A `struct tcpretrans_event` from tcpretrans.
public struct TCPRetransmitEvent: TaskEvent {
    let record: RecordReader<tcpretrans_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<tcpretrans_event>(bytes, minimumSize: MemoryLayout<tcpretrans_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var flow: flow { record(\.flow) }
    public var state: Int32 { record(\.state) }
    public var kind: tcpretrans_kind { tcpretrans_kind(rawValue: record(\.kind)) }
}

/// A `struct skbdrop_event` from skbdrop: a packet freed as dropped.
public struct PacketDropEvent: TaskEvent {
    let record: RecordReader<skbdrop_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<skbdrop_event>(bytes, minimumSize: MemoryLayout<skbdrop_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var flow: flow { record(\.flow) }
    /// The kernel address that dropped it.
    public var location: UInt64 { record(\.location) }
    /// `enum skb_drop_reason`, as the running kernel numbers it.
    public var reason: UInt32 { record(\.reason) }
    public var ethernetProtocol: UInt16 { record(\.eth_protocol) }
    /// The device's name in its namespace (empty when the packet had none).
    public var interfaceName: UnsafeRawBufferPointer { record.string(\.ifname) }
    /// The index of the device it arrived on; 0 when it was sent from this host.
    public var inputInterface: UInt32 { record(\.in_ifindex) }
}
