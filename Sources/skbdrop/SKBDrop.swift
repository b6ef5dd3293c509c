// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import Symbols
import ToolSupport
import NetworkSupport

public let tool = ToolEntry(SKBDrop.self)

struct SKBDrop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "skbdrop",
        abstract: "Trace packets the kernel drops: why, where, and in which network namespace.",
        discussion: """
        From the skb:kfree_skb raw tracepoint (no kprobes; reasons need Linux \
        5.17+). REASON is the kernel's own drop reason, named from this kernel's \
        BTF (the numbering differs between versions): NETFILTER_DROP for an \
        iptables DROP, NO_SOCKET for a closed port, and so on. LOCATION is the \
        kernel function that dropped it. NETNS and IFACE are where the packet \
        was (the namespace's 'ip netns' name where it has one); with -C, POD \
        is the pod (or container) whose namespace it is. SOURCE and \
        DESTINATION come from the packet's own headers. Packets freed after \
        use (CONSUMED) are not drops and are left out.

        Examples:
          skbdrop                               every drop
          skbdrop --reason NETFILTER_DROP       iptables and nftables drops
          skbdrop --summary -i 5                counts per reason and place
          skbdrop --netns node --port 9090      one namespace, one port
          skbdrop --list-reasons                this kernel's reasons
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Network options")
    var network: NetworkOptions

    @Option(name: .long, help: ArgumentHelp("Only drops for this reason (NETFILTER_DROP, NO_SOCKET, ...).", valueName: "name"))
    var reason: String?

    @Flag(name: [.customShort("s"), .long], help: "Count drops per reason, location and namespace instead of printing each.")
    var summary = false

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("With --summary, print the counts every this many seconds.", valueName: "seconds"))
    var interval: Double?

    @Flag(name: .long, help: "List this kernel's drop reasons and exit.")
    var listReasons = false

    func validate() throws {
        if let interval, !(interval > 0) { throw ValidationError("--interval must be a positive number of seconds, got \(interval)") }
        if interval != nil && !summary { throw ValidationError("-i prints counts; add --summary") }
    }

    func run() throws {
        let reasons = try DropReasons.current()
        if listReasons {
            print(reasons.all.map { "\($0.number)\t\($0.name)" }.joined(separator: "\n"))
            return
        }
        var config = skbdrop_config(reason: -1, consumed: reasons.consumed ?? -1, summary: summary ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
        if let reason { config.reason = try reasons.number(of: reason) }
        let session = try TraceSession(tool: "skbdrop", options: trace, flags: (summary ? SharedFlags.counting : .all).refusingTaskFlags(because: "packets are dropped in interrupt context"))
        var open = try SkbdropSkeleton.open()
        open.netCfg = try network.config()
        open.dropCfg = config
        let probe = try session.load(open)
        // kallsyms is large, and slow to parse on a slow machine: it is read
        // meanwhile, not before attaching (the first drop waits if need be).
        let kernel = Symbolizer(kernelSymbols: true)
        DispatchQueue.global(qos: .utility).async { kernel.readKernelSymbols() }
        if summary {
            let report = DropSummary(counts: probe.typed.dropCounts, reasons: reasons, kernel: kernel)
            try session.runPeriodic(what: "packet drops", interval: interval,
                                    attach: { () throws(BPFError) in try probe.attachAll() }) { final in
                report.report(to: session)
            }
            return
        }
        let fields: [Field<SkbdropEvent>] = [
            .netns,
            Field(key: "ifname", heading: "IFACE", width: 12,
                  text: { e, out, _ in out.appendEscaped(e.interfaceName) },
                  json: { e, o, _ in 
                      o.field("ifname", bytes: e.interfaceName)
                      o.field("ifindex", e.flow.ifindex)
                      o.field("in_ifindex", e.inputInterface)
                  }),
        ] + Field.endpoints("SOURCE", "DESTINATION") + [
            Field.string("reason", "REASON", width: 22) { reasons.name($0.reason) },
            Field(key: "location", heading: "LOCATION",
                  text: { e, out, _ in out.append(kernel.kernelPlace(e.location)) },
                  json: { e, o, _ in
                      o.field("location", kernel.kernelPlace(e.location))
                      o.field("reason_number", e.reason)
                  }),
        ]
        try session.stream(probe, format: EventTable(taskless: fields, session: session), what: "packet drops")
    }
}

extension SkbdropEvent: FlowEvent {}

/// --summary: the kernel's counts per reason, location and namespace,
/// printed and cleared each time.
final class DropSummary: Sendable {
    let counts: TypedMap<skbdrop_key, UInt64>
    let reasons: DropReasons
    let kernel: Symbolizer

    init(counts: TypedMap<skbdrop_key, UInt64>, reasons: DropReasons, kernel: Symbolizer) {
        self.counts = counts
        self.reasons = reasons
        self.kernel = kernel
    }

    func report(to session: TraceSession) {
        var rows: [(key: skbdrop_key, count: UInt64)] = []
        for key in (try? counts.keys()) ?? [] {
            guard let n = try? counts.lookup(key) else { continue }
            _ = try? counts.delete(key)
            rows.append((key, n))
        }
        rows.sort { $0.count > $1.count }
        let out = session.output
        if session.options.json {
            let time = TimeFormat.iso8601(monotonicNanoseconds: 0, offset: Int64(Date().timeIntervalSince1970 * 1e9))
            for r in rows {
                var o = JSONObject()
                o.field("time", time)
                o.field("reason", reasons.name(r.key.reason))
                o.field("location", kernel.kernelPlace(r.key.location))
                o.field("netns", r.key.netns)
                o.field("netns_name", NetworkNamespaces.name(of: r.key.netns))
                o.field("count", r.count)
                o.write(to: out)
            }
        } else {
            out.append("COUNT    REASON                 NETNS        LOCATION")
            out.endLine()
            for r in rows {
                out.column(r.count, 8)
                out.column(reasons.name(r.key.reason), 22)
                out.column(FlowText.netns(r.key.netns), 12)
                out.append(kernel.kernelPlace(r.key.location))
                out.endLine()
            }
            out.endLine()
        }
        out.flush()
    }
}
