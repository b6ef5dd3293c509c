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
        to. Tracepoints, and BPF netfilter programs (Linux 6.4) in this \
        network namespace and every one named in /run/netns (as ip netns and \
        Kubernetes' runtimes name pods'). Without netfilter programs the hooks are \
        left out, and said so. Where the kernel has kprobes and ip_vs is loaded, \
        the hop where IPVS gives a packet to a real server is shown too.

        --container, --pod and --namespace follow the packets that start in, or \
        enter, the network namespace of that container's or pod's processes.

        Examples:
          pktjourney --host 10.96.0.10 --port 80      a Service's packets
          pktjourney --proto icmp --summary            which ways pings go
          pktjourney --netns cni-1234 --json           a namespace's packets, as JSON
          pktjourney --pod shop/cart --proto tcp       a pod's TCP packets
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
        if network.netns != nil && !trace.workloads.isEmpty {
            throw ValidationError("--netns and \(trace.workloads.description) both choose a network namespace: give one")
        }
        if requireNetfilter, let why = Kernel.missing(.netfilterLinks) {
            throw ValidationError("--require-netfilter: \(why)")
        }
    }

    func run() throws {
        let session = try TraceSession(tool: "pktjourney", options: trace,
                                       flags: .all.refusingTaskFlags(because: "packets travel in interrupt context", except: [.workloads]).refusing([.containers]) { _ in
                                           "pktjourney names each hop's namespace"
                                       })
        let pods = try podNamespaces(session)
        // A drop's reason is named from the kernel's own BTF (each kernel
        // numbers them its own way); before 5.17, or without that BTF, a
        // drop is shown by its place only.
        let unexplained = Kernel.missing(.dropReasons) ?? (KernelBTF.source == .kernel ? nil
            : "their names come from the kernel's own BTF, and this run uses \(KernelBTF.source)")
        let reasons = unexplained == nil ? try DropReasons.current() : .unexplained
        var open = try PktjourneySkeleton.open()
        open.netCfg = try network.config()
        open.journeyCfg = journey_config(proto: proto.map { Self.protocols[$0.lowercased()] ?? UInt8($0) ?? 0 } ?? 0,
                                         netns_set: pods.isEmpty ? 0 : 1, pad: (0, 0), max_journeys: maxJourneys)
        open.consumedReason = reasons.consumed ?? -1
        try open.setAutoload(false, for: reasons.explained ? .journeyDropUnexplained : .journeyDrop)
        if let unexplained { session.note("pktjourney: drops are shown without their reason: \(unexplained)") }
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
        let ipvs = IPVSHop.here()
        if !ipvs.shown {
            try open.setAutoload(false, for: .journeyIpvs)
            try open.setAutoload(false, for: .journeyIpvs6)
        }
        if let why = ipvs.why { session.note("pktjourney: IPVS hops are not shown: \(why)") }
        let probe = try session.load(open)
        for inode in pods { try probe.typed.journeyNetns.update(inode, 1) }
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
            for program in probe.object.programs where program.isLoaded && program.sectionName != "netfilter" && !program.sectionName.hasPrefix("kprobe/") {
                links.append(try program.attach())
            }
            if ipvs.shown {
                // IPv6 services exist only with CONFIG_IP_VS_IPV6.
                for (program, which) in [(probe.programs.journeyIpvs, ""), (probe.programs.journeyIpvs6, " of IPv6 services")] {
                    do { links.append(try program.attach()) } catch {
                        session.note("pktjourney: IPVS hops\(which) are not shown: \(error)")
                    }
                }
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

    /// The network namespaces of `--container`, `--pod` and `--namespace`
    /// (the session has checked that they match): its processes', found
    /// now, so a pod's packets are followed from their first hop in it.
    func podNamespaces(_ session: TraceSession) throws -> Set<UInt32> {
        let selector = trace.workloads
        guard !selector.isEmpty, let directory = session.workloads else { return [] }
        let found = NetworkNamespaces.of(selector, in: directory)
        guard !found.namespaces.isEmpty else {
            throw ValidationError("\(selector.description): " + (found.processes == 0
                ? "no process of it is running, so it has no network namespace yet"
                : "the network namespaces of its \(found.processes) processes cannot be read (/proc/PID/ns/net)"))
        }
        guard found.namespaces.count <= 256 else {
            throw ValidationError("\(selector.description): its processes are in \(found.namespaces.count) network namespaces; at most 256 are followed")
        }
        if let host = NetworkNamespaces.host, found.namespaces.contains(host) {
            session.note("pktjourney: \(selector.description) uses the host's network namespace: every packet there is followed")
        }
        session.chose("following packets from the network namespaces " + found.namespaces.sorted().map { FlowText.netns($0) }.joined(separator: ", "))
        return found.namespaces
    }

    /// Whether the hop where IPVS sends a packet to a real server can be
    /// shown: a kprobe on ip_vs_nat_xmit, read with the module's BTF.
    struct IPVSHop {
        var shown = false
        /// Why it is not, where this node has IPVS.
        var why: String?

        static func here(modules: String = "/sys/module", btf: String = "/sys/kernel/btf") -> IPVSHop {
            // No IPVS on this node (ip_vs is loaded when a service is made):
            // nothing to show.
            guard FileManager.default.fileExists(atPath: modules + "/ip_vs") else { return IPVSHop() }
            if let why = Kernel.missing(.kprobes) { return IPVSHop(why: why) }
            // ip_vs's types are read with the kernel's own BTF (libbpf looks
            // into modules' BTF only then).
            guard KernelBTF.source == .kernel else {
                return IPVSHop(why: "it reads ip_vs's types from the kernel's own BTF, and this run uses \(KernelBTF.source)")
            }
            // Built in (a module has an initstate), its types are vmlinux's.
            let builtIn = !FileManager.default.fileExists(atPath: modules + "/ip_vs/initstate")
            guard builtIn || FileManager.default.fileExists(atPath: btf + "/ip_vs") else {
                return IPVSHop(why: "ip_vs has no BTF in \(btf) (modules' BTF came with Linux 5.11 and CONFIG_DEBUG_INFO_BTF_MODULES)")
            }
            return IPVSHop(shown: true)
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
