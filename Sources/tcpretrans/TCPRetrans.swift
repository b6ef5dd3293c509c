// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport
import NetworkSupport

public let tool = ToolEntry(TCPRetrans.self)

struct TCPRetrans: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcpretrans",
        abstract: "Trace TCP retransmits, and with --resets the resets sent and received.",
        discussion: """
        From the tcp:tcp_retransmit_skb, tcp_send_reset and tcp_receive_reset raw \
        tracepoints (no kprobes). Each line is one retransmitted segment (RETRANS), \
        or a reset this host sent (RST-SENT) or received (RST-RECV), with the \
        socket's state. These run in interrupt or timer context, so no task is \
        shown; with -C, POD is the pod (or container) whose network namespace \
        it is. A reset answering a packet that no socket took has no socket and \
        is not shown (skbdrop shows such packets, as NO_SOCKET).

        Examples:
          tcpretrans                        retransmits
          tcpretrans --resets --json        and resets, as JSON lines
          tcpretrans --host 10.96.0.10      one address
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Network options")
    var network: NetworkOptions

    @Flag(name: [.customShort("r"), .long], help: "Also trace resets sent and received.")
    var resets = false


    func run() throws {
        let session = try TraceSession(tool: "tcpretrans", options: trace,
                                         flags: .all.refusingTaskFlags(because: "retransmits and resets happen in interrupt or timer context"))
        var open = try TcpretransSkeleton.open()
        open.netCfg = try network.config()
        open.retransCfg = tcpretrans_config(resets: resets ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
        let probe = try session.load(open)
        let fields: [Field<TcpretransEvent>] = [
            Field.string("kind", "KIND", width: 8) { e in
                switch e.retransmitKind {
                case TCPRETRANS_SENT_RESET: "RST-SENT"
                case TCPRETRANS_RECEIVED_RESET: "RST-RECV"
                default: "RETRANS"
                }
            },
            .netns,
        ] + Field.endpoints("LADDR:LPORT", "RADDR:RPORT") + [
            Field.string("state", "STATE") { FlowText.tcpState($0.state) },
        ]
        try session.stream(probe, format: EventTable(taskless: fields, session: session), what: resets ? "TCP retransmits and resets" : "TCP retransmits")
    }
}

extension TcpretransEvent: FlowEvent {}
