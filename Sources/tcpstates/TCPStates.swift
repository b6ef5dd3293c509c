// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport
import NetworkSupport

public let tool = ToolEntry(TCPStates.self)

struct TCPStates: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcpstates",
        abstract: "Trace every TCP state change, with the time spent in the old state.",
        discussion: """
        From the sock:inet_sock_set_state raw tracepoint (no kprobes). PID and \
        COMM are the socket's owner: most changes happen in interrupt context, so \
        the owner is taken where a change runs in its own system call (connect, \
        listen, close) and shown from then on; 0 and empty before that. MS is the \
        time in the old state. NETNS is the network namespace (its 'ip netns' name \
        where it has one). A task filter (-p, -c, ...) keeps the sockets whose \
        owner passed it.

        Examples:
          tcpstates                         every change
          tcpstates --port 80 --json        one port, as JSON lines
          tcpstates --netns pod-a           one network namespace
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Network options")
    var network: NetworkOptions


    func run() throws {
        let session = try TraceSession(tool: "tcpstates", options: trace, flags: .all.refusing([.failed]) { "\($0) traces state changes" })
        var open = try TcpstatesSkeleton.open()
        open.netCfg = try network.config()
        let probe = try session.load(open)
        let fields: [Field<TcpstateEvent>] = [.pid, .comm(), .netns] + Field.endpoints("LADDR:LPORT", "RADDR:RPORT") + [
            Field(key: "oldstate", heading: "OLDSTATE    -> NEWSTATE   ", width: 27,
                  text: { e, out, _ in
                      out.append(FlowText.tcpState(e.oldState).padding(toLength: 11, withPad: " ", startingAt: 0) + " -> " + FlowText.tcpState(e.newState))
                  },
                  json: { e, o, _ in
                      o.field("oldstate", FlowText.tcpState(e.oldState))
                      o.field("newstate", FlowText.tcpState(e.newState))
                  }),
            Field(key: "in_state_ns", heading: "MS",
                  text: { e, out, _ in out.append(String(format: "%.3f", Double(e.nanosecondsInOldState) / 1e6)) },
                  json: { e, o, _ in
                      o.field("in_state_ns", e.nanosecondsInOldState)
                      o.field("skaddr", String(e.socket, radix: 16))
                  }),
        ]
        try session.stream(probe, format: EventTable(fields, options: trace), what: "TCP state changes")
    }
}

extension TcpstateEvent: FlowEvent {}
