// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Dispatch
import Foundation
import NetworkSupport
import Symbols
import ToolSupport

public let tool = ToolEntry(PktJourney.self)

struct PktJourney: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "pktjourney",
        abstract: "Follow packets through this node: devices, netfilter hooks, conntrack and NAT, routes, drops, delivery.",
        discussion: """
        Each packet that matches the filters at its first hop is followed by its skb \
        until it is delivered, dropped, freed, or goes quiet, then printed as one line \
        and its hops: a device receiving it (rx) or sending it (tx), each netfilter \
        hook it passes (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING) with its \
        connection's state and the address translation applied there, the route \
        chosen, a drop with its reason and place, and the process it was delivered \
        to. No kprobes: tracepoints, and BPF netfilter programs (Linux 6.4) in this \
        network namespace and every one named in /run/netns (as ip netns and \
        Kubernetes' runtimes name pods'). Without netfilter programs the hooks are \
        left out, and said so.

        Examples:
          pktjourney --host 10.96.0.10 --port 80      a Service's packets
          pktjourney --proto icmp --summary            which ways pings go
          pktjourney --netns cni-1234 --json           a pod's packets, as JSON
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Packets")
    var network: NetworkOptions

    @Option(name: .long, help: ArgumentHelp("Only this protocol: tcp, udp, icmp, icmpv6, or a number.", valueName: "proto"))
    var proto: String?

    @Flag(name: .long, help: "Count packets per path (the hops they took) and print the paths at the end.")
    var summary = false

    @Option(name: .long, help: ArgumentHelp("Packets followed at once (default 4096); more are counted, not followed.", valueName: "n"))
    var maxJourneys: UInt32 = 4096

    @Option(name: .long, help: ArgumentHelp("A packet unseen for this long has ended (default 200).", valueName: "ms"))
    var quietMs: UInt32 = 200

    @Flag(name: .long, help: "Refuse to run where the kernel has no BPF netfilter programs (Linux 6.4+).")
    var requireNetfilter = false

    @Flag(name: .long, help: "Leave the netfilter hooks out: devices, routes, drops and deliveries only.")
    var noNetfilter = false

    static let protocols: [String: UInt8] = ["tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132]

    func validate() throws {
        if let proto, Self.protocols[proto.lowercased()] == nil && UInt8(proto) == nil {
            throw ValidationError("--proto '\(proto)': give tcp, udp, icmp, icmpv6, sctp or a protocol number")
        }
        guard (1...1 << 20).contains(maxJourneys) else { throw ValidationError("--max-journeys must be from 1 to 1048576, got \(maxJourneys)") }
        guard (1...60_000).contains(quietMs) else { throw ValidationError("--quiet-ms must be from 1 to 60000, got \(quietMs)") }
        if requireNetfilter && noNetfilter { throw ValidationError("--require-netfilter and --no-netfilter exclude each other") }
        if requireNetfilter, let why = Kernel.missing(.netfilterLinks) {
            throw ValidationError("--require-netfilter: \(why)")
        }
    }

    func run() throws {
        let session = try TraceSession(tool: "pktjourney", options: trace,
                                       flags: .all.refusingTaskFlags(because: "packets travel in interrupt context").refusing([.containers]) { _ in
                                           "pktjourney names each hop's namespace"
                                       })
        let reasons = try DropReasons.current()
        var open = try PktjourneySkeleton.open()
        open.netCfg = try network.config()
        open.journeyCfg = journey_config(proto: proto.map { Self.protocols[$0.lowercased()] ?? UInt8($0) ?? 0 } ?? 0,
                                         pad: (0, 0, 0), max_journeys: maxJourneys)
        open.consumedReason = reasons.consumed ?? -1
        try open.setMaxEntries(maxJourneys, for: .journeys)
        // Netfilter programs cannot write to a perf buffer (they have only
        // the base helpers): with one (SWIFTBPF_FORCE_PERFBUF=1; every kernel
        // with netfilter programs has ring buffers), the hooks are left out.
        let perf = EventBuffer.preferred == .perf
        if requireNetfilter && perf {
            throw BPFError(.featureMissing(.ringBuffer), "--require-netfilter: netfilter programs cannot write to a perf buffer, which SWIFTBPF_FORCE_PERFBUF=1 asks for")
        }
        let netfilter = !noNetfilter && !perf && Kernel.supports(.netfilterLinks)
        if !netfilter {
            try open.setAutoload(false, for: .journeyNfBefore)
            try open.setAutoload(false, for: .journeyNfAfter)
        }
        if !netfilter && !noNetfilter, let why = Kernel.missing(.netfilterLinks) {
            session.note("pktjourney: netfilter hops are not shown: \(why)")
        } else if !netfilter && !noNetfilter {
            session.note("pktjourney: netfilter hops are not shown: netfilter programs cannot write to a perf buffer")
        }
        let probe = try session.load(open)
        let kernel = Symbolizer(kernelSymbols: true)
        DispatchQueue.global(qos: .utility).async { kernel.readKernelSymbols() }
        let journeys = Journeys(session: session, followed: probe.typed.journeys,
                                format: JourneyFormat(reasons: reasons, kernel: kernel), summary: summary, quietNanoseconds: UInt64(quietMs) * 1_000_000)
        let namespaces = netfilter ? NetworkNamespaces.named() : []
        let what = "packets" + (netfilter ? " (netfilter hooks in \(namespaces.count + 1) network namespaces)" : "")
        let sweep = DispatchSource.makeTimerSource(queue: session.queue)
        sweep.schedule(deadline: .now() + .milliseconds(Int(quietMs)), repeating: .milliseconds(Int(max(quietMs / 2, 10))))
        sweep.setEventHandler { journeys.finishQuiet() }
        sweep.resume()
        _ = try session.run(events: probe.maps.events, lostCounter: probe.maps.lostEvents, what: what,
                                      header: nil, attach: { () throws(BPFError) -> [Link] in
            var links: [Link] = []
            for program in probe.object.programs where program.isLoaded && program.sectionName != "netfilter" {
                links.append(try program.attach())
            }
            guard netfilter else { return links }
            links += try Self.hooks(probe)
            for path in namespaces {
                links += try Kernel.inNetworkNamespace(path) { () throws(BPFError) -> [Link] in try Self.hooks(probe) }
            }
            return links
        }) { bytes in
            guard let hop = JourneyHop(bytes) else { return }
            journeys.add(Hop(hop))
        }
        sweep.cancel()
        session.queue.sync { journeys.finishAll() }
        let cut = (try? probe.maps.journeysFull.perCPU(UInt32.self, UInt64.self).sum(0)) ?? 0
        if cut > 0 {
            session.note("pktjourney: \(cut) packets matched but were not followed: \(maxJourneys) were being followed (--max-journeys)")
        }
    }

    /// Both netfilter programs at every hook of both families, in the
    /// calling thread's network namespace: the first before everything
    /// there, the second after. A priority is one program's (the kernel
    /// refuses a second link at it): another pktjourney running, or
    /// anything else there, moves this one a step inwards.
    static func hooks(_ probe: PktjourneySkeleton) throws(BPFError) -> [Link] {
        var links: [Link] = []
        for family in [NetfilterFamily.ipv4, .ipv6] {
            for hook in NetfilterHook.allCases {
                links.append(try attach(probe.programs.journeyNfBefore, family, hook, from: NetfilterPriority.first, step: 1))
                links.append(try attach(probe.programs.journeyNfAfter, family, hook, from: NetfilterPriority.last, step: -1))
            }
        }
        return links
    }

    static func attach(_ program: Program, _ family: NetfilterFamily, _ hook: NetfilterHook, from priority: Int32, step: Int32) throws(BPFError) -> Link {
        var tries = 0
        while true {
            do {
                return try program.attachNetfilter(family: family, hook: hook, priority: priority + step * Int32(tries))
            } catch {
                tries += 1
                guard error.errno == .resourceBusy, tries < 64 else { throw error }
            }
        }
    }
}
