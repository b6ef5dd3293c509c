// SPDX-License-Identifier: BSD-2-Clause
import Dispatch
import Foundation
import Glibc
import SwiftBPF
import BPFProbes
import ToolSupport

/// An address or network, IPv4 or IPv6: "10.0.0.1", "10.0.0.0/8", "fe80::/10".
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public let family: Int      // 4 or 6
    public let bytes: [UInt8]   // 4 or 16, network order
    public let length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let host = parts.first, !host.isEmpty else { return nil }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            family = 4
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            family = 6
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
        let maxLength = bytes.count * 8
        if parts.count == 2 {
            // Plain digits: "10.0.0.0/" and "10.0.0.0/+8" are not prefixes.
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(parts[1]), (0...maxLength).contains(n) else { return nil }
            length = n
        } else {
            length = maxLength
        }
    }

    /// An address (`bytes`, network order) and a prefix length, as given.
    public init(family: Int, bytes: [UInt8], length: Int) {
        self.family = family
        self.bytes = bytes
        self.length = length
    }

    /// The network itself (host bits cleared).
    var masked: IPPrefix {
        var b = bytes
        for i in 0..<b.count {
            let bit = i * 8
            b[i] &= length >= bit + 8 ? 0xFF : length <= bit ? 0 : UInt8(0xFF << (8 - (length - bit)) & 0xFF)
        }
        return IPPrefix(family: family, bytes: b, length: length)
    }

    /// Whether this network contains `other` (same family, as long a prefix
    /// or shorter, same leading bits).
    public func contains(_ other: IPPrefix) -> Bool {
        guard family == other.family, length <= other.length else { return false }
        return IPPrefix(family: family, bytes: other.bytes, length: length).masked.bytes == masked.bytes
    }

    /// Four network-order words of address and mask, as the probe compares.
    var words: (address: [UInt32], mask: [UInt32]) {
        var address = [UInt32](repeating: 0, count: 4), mask = [UInt32](repeating: 0, count: 4)
        for w in 0..<(bytes.count / 4) {
            var m = [UInt8](repeating: 0, count: 4)
            for b in 0..<4 {
                let bit = (w * 4 + b) * 8
                m[b] = length >= bit + 8 ? 0xFF : length <= bit ? 0 : UInt8(0xFF << (8 - (length - bit)) & 0xFF)
            }
            let mw = m.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let aw = Array(bytes[(w * 4)..<(w * 4 + 4)]).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            address[w] = aw & mw
            mask[w] = mw
        }
        return (address, mask)
    }

    public var description: String {
        var buf = [CChar](repeating: 0, count: 64)
        var b = bytes
        _ = inet_ntop(family == 4 ? AF_INET : AF_INET6, &b, &buf, socklen_t(buf.count))
        let host = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return length == bytes.count * 8 ? host : "\(host)/\(length)"
    }
}

/// A filter rule: what to match and whether to allow or drop it. (The
/// command line's short forms, such as `tcp:22`, are pktfilter's own.)
public struct PacketRule: Sendable, Equatable, CustomStringConvertible {
    /// What a matching packet gets: the words the CLI uses, too.
    public enum Action: String, Sendable, CaseIterable { case allow, drop, limit }
    public enum Proto: UInt8, Sendable { case any = 0, icmp = 1, tcp = 6, udp = 17 }

    /// A rate for a `.limit` rule: packets a second, with bursts of up to
    /// `burst` packets, for all matching packets together or for each
    /// source address (`perSource`, followed for up to
    /// `PacketFilter.limitSources` sources at a time).
    public struct Rate: Sendable, Equatable {
        public var packetsPerSecond: UInt32
        public var burst: UInt32
        public var perSource: Bool

        public init(packetsPerSecond: UInt32, burst: UInt32? = nil, perSource: Bool = false) {
            // A nanosecond clock: at most 10^9 a second.
            self.packetsPerSecond = min(packetsPerSecond, 1_000_000_000)
            // A tenth of a second's worth by default.
            self.burst = max(1, burst ?? packetsPerSecond / 10)
            self.perSource = perSource
        }

        /// One packet per interval; the tolerance lets `burst` through at once.
        var intervalNanoseconds: UInt64 { (1_000_000_000 + UInt64(max(1, packetsPerSecond)) / 2) / UInt64(max(1, packetsPerSecond)) }
        var toleranceNanoseconds: UInt64 { intervalNanoseconds * UInt64(max(1, burst) - 1) }
    }

    public var action: Action
    public var proto: Proto
    public var source: IPPrefix?
    public var destination: IPPrefix?
    public var sourcePorts: ClosedRange<UInt16>?
    public var destinationPorts: ClosedRange<UInt16>?
    /// ICMP or ICMPv6 type (e.g. 8, echo request).
    public var icmpType: UInt8?
    /// Only TCP segments that open a connection (SYN set, ACK clear).
    public var synOnly = false
    /// The rate of a `.limit` rule (required for it; ignored otherwise).
    public var rate: Rate?

    public init(action: Action, proto: Proto = .any, source: IPPrefix? = nil, destination: IPPrefix? = nil,
                sourcePorts: ClosedRange<UInt16>? = nil, destinationPorts: ClosedRange<UInt16>? = nil, icmpType: UInt8? = nil,
                synOnly: Bool = false, rate: Rate? = nil) {
        self.action = action
        self.synOnly = synOnly
        self.rate = rate
        self.proto = proto
        self.source = source
        self.destination = destination
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
        self.icmpType = icmpType
    }

    /// The address family the rule is limited to without an address
    /// saying so (0: none): 4 for ICMP types, which are ICMP's (8 is an
    /// echo request), 6 for ICMPv6's (128 is one).
    public var ipFamily = 0

    /// The address family the rule is limited to (0: both).
    public var family: Int { ipFamily != 0 ? ipFamily : source?.family ?? destination?.family ?? 0 }

    var raw: pktf_rule {
        var r = pktf_rule()
        r.active = 1
        switch action {
        case .allow: r.action = UInt8(PKTF_ACTION_PASS.rawValue)
        case .drop: r.action = UInt8(PKTF_ACTION_DROP.rawValue)
        case .limit: r.action = UInt8(PKTF_ACTION_LIMIT.rawValue)
        }
        r.syn_only = synOnly ? 1 : 0
        if action == .limit, let rate {
            r.per_source = rate.perSource ? 1 : 0
            r.limit_pps = rate.packetsPerSecond
            r.limit_burst = rate.burst
            r.limit_interval_ns = rate.intervalNanoseconds
            r.limit_tolerance_ns = rate.toleranceNanoseconds
        }
        r.proto = proto.rawValue
        r.family = UInt8(family)
        r.match_icmp_type = icmpType == nil ? 0 : 1
        r.icmp_type = icmpType ?? 0
        r.sport_lo = sourcePorts?.lowerBound ?? 0
        r.sport_hi = sourcePorts?.upperBound ?? 0xFFFF
        r.dport_lo = destinationPorts?.lowerBound ?? 0
        r.dport_hi = destinationPorts?.upperBound ?? 0xFFFF
        if let s = source?.words {
            r.src = (s.address[0], s.address[1], s.address[2], s.address[3])
            r.src_mask = (s.mask[0], s.mask[1], s.mask[2], s.mask[3])
        }
        if let d = destination?.words {
            r.dst = (d.address[0], d.address[1], d.address[2], d.address[3])
            r.dst_mask = (d.mask[0], d.mask[1], d.mask[2], d.mask[3])
        }
        return r
    }

    init?(raw r: pktf_rule) {
        guard r.active != 0 else { return nil }
        switch UInt32(r.action) {
        case PKTF_ACTION_DROP.rawValue: action = .drop
        case PKTF_ACTION_LIMIT.rawValue: action = .limit
        default: action = .allow
        }
        synOnly = r.syn_only != 0
        ipFamily = Int(r.family)
        rate = action == .limit ? Rate(packetsPerSecond: r.limit_pps, burst: r.limit_burst, perSource: r.per_source != 0) : nil
        proto = Proto(rawValue: r.proto) ?? .any
        icmpType = r.match_icmp_type != 0 ? r.icmp_type : nil
        // (A range the kernel holds reversed matches nothing there; read as none.)
        sourcePorts = (r.sport_lo, r.sport_hi) == (0, 0xFFFF) || r.sport_lo > r.sport_hi ? nil : r.sport_lo...r.sport_hi
        destinationPorts = (r.dport_lo, r.dport_hi) == (0, 0xFFFF) || r.dport_lo > r.dport_hi ? nil : r.dport_lo...r.dport_hi
        func prefix(_ a: (UInt32, UInt32, UInt32, UInt32), _ m: (UInt32, UInt32, UInt32, UInt32)) -> IPPrefix? {
            let masks = [m.0, m.1, m.2, m.3]
            guard masks.contains(where: { $0 != 0 }) else { return nil }
            let family = Int(r.family == 0 ? 4 : r.family)
            let count = family == 4 ? 1 : 4
            var bytes: [UInt8] = []
            for w in [a.0, a.1, a.2, a.3].prefix(count) { withUnsafeBytes(of: w) { bytes += $0 } }
            let length = masks.prefix(count).reduce(0) { $0 + $1.nonzeroBitCount }
            return IPPrefix(family: family, bytes: bytes, length: length)
        }
        source = prefix(r.src, r.src_mask)
        destination = prefix(r.dst, r.dst_mask)
        // Kept apart only where no address says it (a /0 still does).
        if let f = source?.family ?? destination?.family, f == ipFamily { ipFamily = 0 }
    }

    public var description: String {
        var words = [action.rawValue, proto == .any ? "any" : proto == .icmp && family == 6 ? "icmp6" : "\(proto)"]
        // A family no address or ICMP flavour shows.
        if ipFamily != 0 && source == nil && destination == nil && proto != .icmp { words.append("ipv\(ipFamily)") }
        if let icmpType { words.append("type \(icmpType)") }
        if let source { words.append("from \(source)") }
        if let sourcePorts { words.append("sport \(Self.describe(sourcePorts))") }
        if let destination { words.append("to \(destination)") }
        if let destinationPorts { words.append("dport \(Self.describe(destinationPorts))") }
        if synOnly { words.append("syn") }
        if action == .limit, let rate {
            words.append("\(rate.packetsPerSecond)/s burst \(rate.burst)" + (rate.perSource ? " per source" : ""))
        }
        return words.joined(separator: " ")
    }

    /// A packet as the rules see it.
    public struct Flow: Sendable {
        public var family: Int          // 4 or 6
        public var proto: UInt8         // the IP protocol (1 or 58: ICMP)
        public var source: [UInt8], destination: [UInt8]
        public var sourcePort: UInt16?, destinationPort: UInt16?
        public var icmpType: UInt8?
        public var syn = false

        public init(family: Int, proto: UInt8, source: [UInt8], destination: [UInt8],
                    sourcePort: UInt16? = nil, destinationPort: UInt16? = nil, icmpType: UInt8? = nil, syn: Bool = false) {
            self.family = family
            self.proto = proto
            self.source = source
            self.destination = destination
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.icmpType = icmpType
            self.syn = syn
        }
    }

    /// Whether the rule's conditions hold for `flow`, as the kernel
    /// program tests them (its action aside).
    public func matches(_ flow: Flow) -> Bool {
        if family != 0 && family != flow.family { return false }
        let icmp: UInt8 = flow.family == 4 ? 1 : 58
        switch proto {
        case .any: break
        case .icmp: if flow.proto != icmp { return false }
        case .tcp, .udp: if flow.proto != proto.rawValue { return false }
        }
        let host = { (bytes: [UInt8]) in IPPrefix(family: flow.family, bytes: bytes, length: bytes.count * 8) }
        if let source, !source.contains(host(flow.source)) { return false }
        if let destination, !destination.contains(host(flow.destination)) { return false }
        if sourcePorts != nil || destinationPorts != nil {
            guard let sp = flow.sourcePort, let dp = flow.destinationPort,
                  sourcePorts?.contains(sp) ?? true, destinationPorts?.contains(dp) ?? true else { return false }
        }
        if let icmpType, flow.icmpType != icmpType { return false }
        if synOnly && !flow.syn { return false }
        return true
    }

    static func describe(_ r: ClosedRange<UInt16>) -> String { r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)" }
}

/// The pktfilter XDP program with its rule maps: load one and attach it to
/// an interface, or find the one already attached there (by any process,
/// from any mount namespace) and edit its rules while it runs.
///
/// A running filter is found through the kernel, as `bpftool` would:
/// interface → its XDP program (recognised by name and by the layout of
/// `struct pktf_rule` in its BTF) → the program's maps. Nothing is pinned,
/// so no BPF filesystem is needed and no mount namespace is special.
/// Edits from several processes are serialised by a lock that lives in the
/// filter itself (a socket map bound to the program, `withEditLock`), so
/// every process that can edit the filter sees it, and no other can take it.
///
/// Needs Linux 5.18+ (`bpf_loop`, 5.17; `bpf_xdp_load_bytes`, 5.18).
public final class PacketFilter: Sendable {
    public enum Policy: String, Sendable, CaseIterable { case allow, deny }

    /// Packet and byte counts, summed over CPUs.
    public struct Counter: Sendable, Equatable {
        public var packets: UInt64
        public var bytes: UInt64
        /// CLOCK_MONOTONIC nanoseconds of the last hit (0: never).
        public var lastHit: UInt64
    }

    /// The program's names in the kernel, by which (with its BTF) a running
    /// filter is recognised: one per `Build`.
    public static let programNames: Set<String> = Set(Build.allCases.map(\.program.kernelName))

    /// The builds of the filter, which decide alike.
    public enum Build: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Each walk (IPv6 extension headers, the rules, the limits) runs
        /// under bpf_loop, which the verifier checks once, and reads with
        /// bpf_xdp_load_bytes: Linux 5.18.
        case helpers
        /// Bounded loops over global functions (each checked once), the
        /// frame read directly: from Linux 5.12.
        case boundedLoops
        /// The same, with rate limits taken by a plain store where 5.12
        /// has compare and swap: from Linux 5.10.
        case boundedLoopsPlainStore

        var program: PacketFilterSkeleton.ProgramName {
            switch self {
            case .helpers: .pktfilter
            case .boundedLoops: .pktfilter512
            case .boundedLoopsPlainStore: .pktfilter510
            }
        }

        func program(of probe: PacketFilterSkeleton) -> Program {
            switch self {
            case .helpers: probe.programs.pktfilter
            case .boundedLoops: probe.programs.pktfilter512
            case .boundedLoopsPlainStore: probe.programs.pktfilter510
            }
        }

        public var description: String {
            switch self {
            case .helpers: "bpf_loop and bpf_xdp_load_bytes"
            case .boundedLoops: "bounded loops (bpf_loop: Linux 5.17, bpf_xdp_load_bytes: 5.18)"
            case .boundedLoopsPlainStore: "bounded loops (bpf_loop: Linux 5.17, bpf_xdp_load_bytes: 5.18), rate limits without compare and swap (Linux 5.12): loose when CPUs race"
            }
        }

        /// The helpers' build where the kernel has them, else bounded
        /// loops, with compare and swap where the kernel has it;
        /// SWIFTBPF_FORCE_BOUNDED_LOOPS=1 asks for bounded loops (to test them).
        public static var preferred: Build {
            let forced = ProcessInfo.processInfo.environment["SWIFTBPF_FORCE_BOUNDED_LOOPS"] == "1"
            if !forced && Kernel.supports(.boundedLoopHelper) && Kernel.supports(.xdpLoadBytes) { return .helpers }
            return Kernel.supports(.atomicFetch) ? .boundedLoops : .boundedLoopsPlainStore
        }
    }

    /// Which build this process loaded (nil for a filter found in the kernel).
    public let build: Build?

    /// The object this process loaded; nil for a filter found in the kernel.
    public let probe: PacketFilterSkeleton?
    let maps: PacketFilterSkeleton.TypedMaps
    /// The edit lock: a one-entry socket map (see `withEditLock`).
    let editLock: TypedMap<UInt32, UInt64>
    /// The kernel's ID of the XDP program.
    public let programID: UInt32

    /// Sources followed at a time by each per-source rate limit.
    public static let limitSources = Int(PKTF_LIMIT_SOURCES)

    /// Loads a new filter (not attached; no rules; default allow), of
    /// `build`: by default the one this kernel runs best.
    public init(build: Build = .preferred) throws(BPFError) {
        var open = try PacketFilterSkeleton.open()
        for other in Build.allCases where other != build { try open.setAutoload(false, for: other.program) }
        let probe = try open.load()
        self.probe = probe
        self.build = build
        maps = probe.typed
        let program = build.program(of: probe)
        // The program never touches the lock map: bound to it, it is listed
        // with the program's maps, where other processes find it. So is the
        // bounded-loop builds' scratch, which the helpers' build never uses
        // (binding a map a program uses already changes nothing).
        try program.bind(map: probe.maps.editLock)
        try program.bind(map: probe.maps.loopScratch)
        editLock = try probe.maps.editLock.typed(UInt32.self, UInt64.self)
        programID = program.id ?? 0
    }

    /// The loaded program, for a filter this process loaded.
    public var program: Program {
        get throws(BPFError) {
            (build ?? .helpers).program(of: try loadedHere())
        }
    }

    private init(program: KernelProgram) throws(BPFError) {
        let named = try program.mapFinder(expecting: "pktfilter")
        maps = try PacketFilterSkeleton.TypedMaps(mapNamed: named)
        editLock = try PacketFilterSkeleton.Maps(mapNamed: named).editLock.typed(UInt32.self, UInt64.self)
        probe = nil
        build = nil
        programID = program.id
    }

    /// The filter attached to `interface` in this network namespace, found
    /// through the kernel; no program is loaded. nil when the interface has
    /// no XDP program; `.foreignObject` when it has someone else's.
    public static func attached(to interface: String) throws(BPFError) -> PacketFilter? {
        guard let id = try Kernel.xdpProgramID(interface: interface) else { return nil }
        let program = try KernelProgram(id: id)
        guard programNames.contains(program.name) else {
            throw BPFError(.foreignObject, "the XDP program on \(interface) (id \(id), '\(program.name)') is not a pktfilter")
        }
        guard isCompatible(program) else {
            throw BPFError(.foreignObject, "the pktfilter on \(interface) (id \(id)) was built from another version: its rule layout differs from this one's")
        }
        return try PacketFilter(program: program)
    }

    /// Whether a program's BTF has this version's rule and settings layout.
    static func isCompatible(_ program: KernelProgram) -> Bool {
        program.structSize("pktf_rule") == MemoryLayout<pktf_rule>.size
            && program.structSize("pktf_settings") == MemoryLayout<pktf_settings>.size
    }

    /// Every compatible filter loaded in the kernel, in any network
    /// namespace, found by program name and layout; no file is read. A
    /// program that goes away while being looked at is left out.
    public static func loaded() -> [PacketFilter] {
        Kernel.loadedPrograms().compactMap { info in
            guard info.type == "xdp", programNames.contains(info.name), let program = try? KernelProgram(id: info.id),
                  isCompatible(program) else { return nil }
            return try? PacketFilter(program: program)
        }
    }

    /// Interfaces of this network namespace with a pktfilter attached.
    public static func attachedInterfaces() -> [String] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var names: [String] = []
        var entry = list
        while entry.pointee.if_index != 0, let name = entry.pointee.if_name {
            names.append(String(cString: name))
            entry += 1
        }
        return names.filter { (try? attached(to: $0)) != nil }.sorted()
    }

    /// Attaches to `interface` (no fallback between modes, no replacing
    /// another XDP program). Releasing the link, or the process ending,
    /// detaches it. Only for a filter this process loaded.
    public func attach(interface: String, mode: XDPMode) throws(BPFError) -> Link {
        try program.attachXDP(interface: interface, mode: mode)
    }

    /// Attaches to `interface` so that the filter outlives this process,
    /// until `detachPersistent(interface:)`: attached as `ip link set xdp`
    /// attaches, without a link, so no pin and no BPF filesystem is needed
    /// and any mount namespace of the network namespace can detach it.
    public func attachPersistent(interface: String, mode: XDPMode) throws(BPFError) {
        let probe = try loadedHere()
        // Marked first: once attached, another process may look at it.
        var settings = try maps.settings.lookup(0) ?? pktf_settings()
        settings.persistent = 1
        try maps.settings.update(0, settings)
        _ = probe
        try program.attachXDPPersistent(interface: interface, mode: mode)
    }

    /// The object, for a filter this process loaded; a filter found in the
    /// kernel is attached already and cannot be attached again.
    private func loadedHere() throws(BPFError) -> PacketFilterSkeleton {
        guard let probe else {
            throw BPFError(.foreignObject, "this filter was found attached, not loaded here: it cannot be attached again")
        }
        return probe
    }

    /// Whether the filter was attached with `attachPersistent`, rather than
    /// by a process that holds it.
    public var isPersistent: Bool {
        get throws(BPFError) { try maps.settings.lookup(0)?.persistent == 1 }
    }

    /// Detaches the persistent filter on `interface`. A filter held by a
    /// running process is left to that process.
    public static func detachPersistent(interface: String) throws(BPFError) {
        guard let filter = try attached(to: interface) else {
            throw BPFError(.notFound, "no filter on \(interface)")
        }
        guard try filter.isPersistent else {
            throw BPFError(.busy, "the filter on \(interface) belongs to a running 'pktfilter run': stop that process instead", errno: .resourceBusy)
        }
        try Kernel.detachXDP(interface: interface, programID: filter.programID)
    }

    // MARK: Rules

    public var defaultPolicy: Policy {
        get throws(BPFError) {
            let s = try maps.settings.lookup(0)
            return s?.default_drop == 1 ? .deny : .allow
        }
    }

    /// A check an edit runs under the edit lock, on the rules and policy the
    /// edit would leave; what it throws cancels the edit.
    public typealias EditCheck = (_ rules: [PacketRule], _ policy: Policy) throws(BPFError) -> Void

    public func setDefaultPolicy(_ policy: Policy, check: EditCheck? = nil) throws(BPFError) {
        try withEditLock { () throws(BPFError) in
            try check?(try rules().map(\.rule), policy)
            var s = try maps.settings.lookup(0) ?? pktf_settings()
            s.default_drop = policy == .deny ? 1 : 0
            try maps.settings.update(0, s)
        }
    }

    /// Runs `body` holding this filter's edit lock, an entry in the
    /// filter's own one-slot socket map: taking it inserts a socket of this
    /// process with BPF_NOEXIST, which only one process at a time can do,
    /// and the kernel removes the entry when that socket closes, however
    /// the process ends. Reaching the map at all needs what editing needs
    /// (CAP_SYS_ADMIN to open it by ID), so an unprivileged process in the
    /// network namespace cannot hold the lock and block edits. Linux 5.7+
    /// (UDP sockets in socket maps).
    func withEditLock<T>(_ body: () throws(BPFError) -> T) throws(BPFError) -> T {
        try EditLock.holding(editLock, busy: "another pktfilter has been editing filter \(programID) for 10 s", body)
    }

    /// Rebuilds the address maps from the active rules (plus one being
    /// added): exact addresses into the hashes, prefixes into the tries,
    /// each entry the bitmask of rules matching an address found there.
    /// New entries go in before stale ones go, so no packet sees a gap.
    /// Which of the address maps: a side of the packet and a family.
    struct AddressKey: Hashable {
        enum Side { case source, destination }
        var side: Side
        var family: Int
        static let source4 = AddressKey(side: .source, family: 4), source6 = AddressKey(side: .source, family: 6)
        static let destination4 = AddressKey(side: .destination, family: 4), destination6 = AddressKey(side: .destination, family: 6)
    }

    func syncAddressMaps(including pending: (Int, PacketRule)? = nil) throws(BPFError) {
        var all = try rules()
        if let pending { all.append(pending) }
        var any: [AddressKey: UInt64] = [:]
        var exact: [AddressKey: [[UInt8]: UInt64]] = [:]
        var prefixes: [AddressKey: [(IPPrefix, UInt64)]] = [:]
        for (id, rule) in all {
            let bit = UInt64(1) << UInt64(id)
            for (side, prefix) in [(AddressKey.Side.source, rule.source), (.destination, rule.destination)] {
                guard let prefix, prefix.length > 0 else {
                    if rule.family != 6 { any[AddressKey(side: side, family: 4), default: 0] |= bit }
                    if rule.family != 4 { any[AddressKey(side: side, family: 6), default: 0] |= bit }
                    continue
                }
                let key = AddressKey(side: side, family: prefix.family)
                if prefix.length == prefix.bytes.count * 8 {
                    exact[key, default: [:]][prefix.bytes, default: 0] |= bit
                } else {
                    prefixes[key, default: []].append((prefix, bit))
                }
            }
        }
        // A trie entry carries every rule whose prefix contains it.
        func tries(_ key: AddressKey) -> [IPPrefix: UInt64] {
            let list = prefixes[key] ?? []
            var out: [IPPrefix: UInt64] = [:]
            for (p, _) in list {
                out[p.masked] = list.filter { $0.0.contains(p) }.reduce(0) { $0 | $1.1 }
            }
            return out
        }
        let m = maps
        try sync(m.srcExact4, exact[.source4] ?? [:]) { $0.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        try sync(m.dstExact4, exact[.destination4] ?? [:]) { $0.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        try sync(m.srcExact6, exact[.source6] ?? [:]) { Self.addr6($0) }
        try sync(m.dstExact6, exact[.destination6] ?? [:]) { Self.addr6($0) }
        try sync(m.srcPrefix4, tries(.source4)) { Self.lpm4($0) }
        try sync(m.dstPrefix4, tries(.destination4)) { Self.lpm4($0) }
        try sync(m.srcPrefix6, tries(.source6)) { Self.lpm6($0) }
        try sync(m.dstPrefix6, tries(.destination6)) { Self.lpm6($0) }
        var s = try m.settings.lookup(0) ?? pktf_settings()
        s.any_src4 = any[.source4] ?? 0
        s.any_src6 = any[.source6] ?? 0
        s.any_dst4 = any[.destination4] ?? 0
        s.any_dst6 = any[.destination6] ?? 0
        try m.settings.update(0, s)
    }

    static func addr6(_ bytes: [UInt8]) -> pktf_addr6 {
        var a = pktf_addr6()
        withUnsafeMutableBytes(of: &a.addr) { $0.copyBytes(from: bytes) }
        return a
    }

    static func lpm4(_ p: IPPrefix) -> pktf_lpm4_key {
        pktf_lpm4_key(prefixlen: UInt32(p.length), addr: p.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
    }

    static func lpm6(_ p: IPPrefix) -> pktf_lpm6_key {
        var k = pktf_lpm6_key()
        k.prefixlen = UInt32(p.length)
        withUnsafeMutableBytes(of: &k.addr) { $0.copyBytes(from: p.bytes) }
        return k
    }

    /// Makes `map` hold exactly `wanted` (keys made by `key`).
    private func sync<Source: Hashable, Key: BitwiseCopyable>(_ typed: TypedMap<Key, UInt64>, _ wanted: [Source: UInt64],
                                                              key: (Source) -> Key) throws(BPFError) {
        var keep: [[UInt8]] = []
        for (source, mask) in wanted {
            var k = key(source)
            try typed.update(k, mask)
            keep.append(withUnsafeBytes(of: &k) { Array($0) })
        }
        for var old in try typed.keys() where !keep.contains(withUnsafeBytes(of: &old) { Array($0) }) {
            try typed.delete(old)
        }
    }

    /// Adds a rule in the first free slot; returns its id.
    @discardableResult
    public func add(_ rule: PacketRule, check: EditCheck? = nil) throws(BPFError) -> Int {
        if rule.action == .limit {
            guard let rate = rule.rate, rate.packetsPerSecond > 0 else {
                throw BPFError(.invalidArgument, "a limit rule needs a rate of at least 1 packet a second")
            }
        }
        return try withEditLock { () throws(BPFError) -> Int in
            try check?(try rules().map(\.rule) + [rule], try defaultPolicy)
            for id in 0..<UInt32(PKTF_MAX_RULES) where (try maps.rules.lookup(id))?.active == 0 {
                try maps.ruleStats.update(id, [pktf_counter()])
                // A fresh budget: the rule's own, and a generation no
                // per-source budget of an earlier rule in this slot has.
                try maps.limitRule.update(id, 0)
                // An array update is a copy the running program may read half
                // done: write the rule inactive, then flip only `active`.
                var raw = rule.raw
                raw.generation = UInt32.random(in: 1...UInt32.max)
                raw.active = 0
                try maps.rules.update(id, raw)
                try syncAddressMaps(including: (Int(id), rule))
                raw.active = 1
                try maps.rules.update(id, raw)
                return Int(id)
            }
            throw BPFError(.full, "all \(PKTF_MAX_RULES) rule slots are in use", errno: .noSpace)
        }
    }

    /// Removes rule `id`; false if there was none.
    @discardableResult
    public func remove(_ id: Int, check: EditCheck? = nil) throws(BPFError) -> Bool {
        guard (0..<Int(PKTF_MAX_RULES)).contains(id) else { return false }
        return try withEditLock { () throws(BPFError) -> Bool in
            guard var r = try maps.rules.lookup(UInt32(id)), r.active != 0 else { return false }
            try check?(try rules().filter { $0.id != id }.map(\.rule), try defaultPolicy)
            // As in `add`: a reader sees the whole rule or an inactive one,
            // never its conditions half cleared.
            r.active = 0
            try maps.rules.update(UInt32(id), r)
            try syncAddressMaps()
            try maps.rules.update(UInt32(id), pktf_rule())
            return true
        }
    }

    /// The active rules by id.
    public func rules() throws(BPFError) -> [(id: Int, rule: PacketRule)] {
        var out: [(id: Int, rule: PacketRule)] = []
        for id in 0..<UInt32(PKTF_MAX_RULES) {
            if let raw = try maps.rules.lookup(id), let rule = PacketRule(raw: raw) { out.append((Int(id), rule)) }
        }
        return out
    }

    static func sum(_ values: [pktf_counter]) -> Counter {
        values.reduce(Counter(packets: 0, bytes: 0, lastHit: 0)) {
            Counter(packets: $0.packets + $1.packets, bytes: $0.bytes + $1.bytes, lastHit: max($0.lastHit, $1.last_ns))
        }
    }

    /// Packets decided by rule `id`.
    public func counter(rule id: Int) throws(BPFError) -> Counter {
        Self.sum(try maps.ruleStats.lookup(UInt32(id)) ?? [])
    }

    /// Whether rules and policy would pass `flow`: deny wins, then an allow
    /// rule, then the policy. (Rate limits only ever drop, and only what
    /// exceeds them, so they are left out.)
    public static func passes(_ flow: PacketRule.Flow, rules: [PacketRule], policy: Policy) -> Bool {
        let matching = rules.filter { $0.matches(flow) }
        if matching.contains(where: { $0.action == .drop }) { return false }
        if matching.contains(where: { $0.action == .allow }) { return true }
        return policy == .allow
    }

    /// Totals, each packet in one: passed, dropped (by a drop rule or the
    /// policy), malformed (dropped), exempt (ARP and neighbour discovery,
    /// always passed), limited (over a rate limit, dropped).
    public func totals() throws(BPFError) -> (passed: Counter, dropped: Counter, malformed: Counter, exempt: Counter, limited: Counter) {
        func get(_ t: pktf_total) throws(BPFError) -> Counter { Self.sum(try maps.totals.lookup(t.rawValue) ?? []) }
        return (try get(PKTF_TOTAL_PASSED), try get(PKTF_TOTAL_DROPPED), try get(PKTF_TOTAL_MALFORMED), try get(PKTF_TOTAL_EXEMPT),
                try get(PKTF_TOTAL_LIMITED))
    }
}
