// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the network tools' events (tcpstates, tcplife,
// tcpretrans, skbdrop), read in place from ring-buffer records.

/// A `struct tcpstate_event` from tcpstates. The task is the socket's
/// owner where it is known (PID 0 otherwise).
extension TcpstateEvent {
    /// The socket's kernel address: one connection's changes share it.
    public var socket: UInt64 { skaddr }
    /// Time in the old state; 0 when it began before tracing.
    public var nanosecondsInOldState: UInt64 { inStateNs }
    public var oldState: Int32 { oldstate }
    public var newState: Int32 { newstate }
}

/// A `struct tcplife_event` from tcplife: a connection ended.
extension TcplifeEvent {
    public var durationNanoseconds: UInt64 { durationNs }
    /// Data bytes sent, each once however often it was retransmitted.
    public var sentBytes: UInt64 { txBytes }
    /// Data bytes received.
    public var receivedBytes: UInt64 { rxBytes }
    /// Accepted from a listener, not connected.
    public var isPassive: Bool { passive != 0 }
}

/// A `struct tcpretrans_event` from tcpretrans.
extension TcpretransEvent {
    /// What was retransmitted (`kind`).
    public var retransmitKind: tcpretrans_kind { tcpretrans_kind(rawValue: kind) }
}

/// A `struct skbdrop_event` from skbdrop: a packet freed as dropped.
extension SkbdropEvent {
    /// The kernel address that dropped it.
    /// `enum skb_drop_reason`, as the running kernel numbers it.
    public var ethernetProtocol: UInt16 { ethProtocol }
    /// The device's name in its namespace (empty when the packet had none).
    public var interfaceName: UnsafeRawBufferPointer { ifname }
    /// The index of the device it arrived on; 0 when it was sent from this host.
    public var inputInterface: UInt32 { inIfindex }
}
