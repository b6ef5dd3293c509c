// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport
import NetworkSupport

public let tool = ToolEntry(TCPLife.self)

struct TCPLife: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcplife",
        abstract: "Trace TCP connections as they end: how long they lived and the bytes each way.",
        discussion: """
        From the sock:inet_sock_set_state raw tracepoint (no kprobes), and the \
        kernel's own byte counts (tcp_sock's bytes_sent, less bytes_retrans, and \
        bytes_received, less the peer's FIN): data bytes, each once. A \
        connection is shown when it closes, if it began while tracing. PID and \
        COMM are the owner (see tcpstates). DIR is "out" for a connection made \
        here, "in" for one accepted. Behind a NAT (a Kubernetes ClusterIP) the \
        connecting side sees the address it dialled; the accepting side the \
        translated one.

        Examples:
          tcplife                           every connection
          tcplife --port 443 --json         one port, as JSON lines
          tcplife -C --namespace shop       one Kubernetes namespace's pods
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Network options")
    var network: NetworkOptions


    func run() throws {
        let session = try TraceSession(tool: "tcplife", options: trace, flags: .all.refusing([.failed]) { "\($0) traces connections" })
        var open = try TcplifeSkeleton.open()
        open.netCfg = try network.config()
        let probe = try session.load(open)
        let fields: [Field<TcplifeEvent>] = [.pid, .comm(), .netns] + Field.endpoints("LADDR:LPORT", "RADDR:RPORT") + [
            Field(key: "passive", heading: "DIR", width: 3,
                  text: { e, out, _ in out.append(e.isPassive ? "in" : "out") },
                  json: { e, o, _ in o.field("passive", e.isPassive) }),
            Field(key: "tx_bytes", heading: "TX_KB", width: 8,
                  text: { e, out, _ in out.appendNumber(e.sentBytes / 1024) },
                  json: { e, o, _ in o.field("tx_bytes", e.sentBytes) }),
            Field(key: "rx_bytes", heading: "RX_KB", width: 8,
                  text: { e, out, _ in out.appendNumber(e.receivedBytes / 1024) },
                  json: { e, o, _ in o.field("rx_bytes", e.receivedBytes) }),
            Field(key: "duration_ns", heading: "MS",
                  text: { e, out, _ in out.append(String(format: "%.2f", Double(e.durationNanoseconds) / 1e6)) },
                  json: { e, o, _ in o.field("duration_ns", e.durationNanoseconds) }),
        ]
        try session.stream(probe, format: EventTable(fields, options: trace), what: "TCP connections")
    }
}

extension TcplifeEvent: FlowEvent {}
