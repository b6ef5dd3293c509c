// SPDX-License-Identifier: BSD-2-Clause
import Dispatch
import Foundation
import Glibc
import SwiftBPF

/// An address or network, IPv4 or IPv6: "10.0.0.1", "10.0.0.0/8", "fe80::/10".
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public let family: Int      // 4 or 6
    public let bytes: [UInt8]   // 4 or 16, network order
    public let length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
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
            guard let n = Int(parts[1]), (0...maxLength).contains(n) else { return nil }
            length = n
        } else {
            length = maxLength
        }
    }

    init(family: Int, bytes: [UInt8], length: Int) {
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
    func contains(_ other: IPPrefix) -> Bool {
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
    public enum Action: String, Sendable, CaseIterable { case allow, drop }
    public enum Proto: UInt8, Sendable { case any = 0, icmp = 1, tcp = 6, udp = 17 }

    public var action: Action
    public var proto: Proto
    public var source: IPPrefix?
    public var destination: IPPrefix?
    public var sourcePorts: ClosedRange<UInt16>?
    public var destinationPorts: ClosedRange<UInt16>?
    /// ICMP or ICMPv6 type (e.g. 8, echo request).
    public var icmpType: UInt8?

    public init(action: Action, proto: Proto = .any, source: IPPrefix? = nil, destination: IPPrefix? = nil,
                sourcePorts: ClosedRange<UInt16>? = nil, destinationPorts: ClosedRange<UInt16>? = nil, icmpType: UInt8? = nil) {
        self.action = action
        self.proto = proto
        self.source = source
        self.destination = destination
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
        self.icmpType = icmpType
    }

    /// The address family the rule is limited to (0: both).
    var family: Int { source?.family ?? destination?.family ?? 0 }

    var raw: pktf_rule {
        var r = pktf_rule()
        r.active = 1
        r.action = UInt8(action == .drop ? PKTF_ACTION_DROP.rawValue : PKTF_ACTION_PASS.rawValue)
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
        action = r.action == UInt8(PKTF_ACTION_DROP.rawValue) ? .drop : .allow
        proto = Proto(rawValue: r.proto) ?? .any
        icmpType = r.match_icmp_type != 0 ? r.icmp_type : nil
        sourcePorts = (r.sport_lo, r.sport_hi) == (0, 0xFFFF) ? nil : r.sport_lo...r.sport_hi
        destinationPorts = (r.dport_lo, r.dport_hi) == (0, 0xFFFF) ? nil : r.dport_lo...r.dport_hi
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
    }

    public var description: String {
        var words = [action.rawValue, proto == .any ? "any" : "\(proto)"]
        if let icmpType { words.append("type \(icmpType)") }
        if let source { words.append("from \(source)") }
        if let sourcePorts { words.append("sport \(Self.describe(sourcePorts))") }
        if let destination { words.append("to \(destination)") }
        if let destinationPorts { words.append("dport \(Self.describe(destinationPorts))") }
        return words.joined(separator: " ")
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
/// network namespace (an abstract socket), so every mount namespace sees it.
///
/// Needs Linux 5.17+ (`bpf_loop`).
public final class PacketFilter: Sendable {
    public enum Policy: String, Sendable, CaseIterable { case allow, deny }

    /// Packet and byte counts, summed over CPUs.
    public struct Counter: Sendable, Equatable {
        public var packets: UInt64
        public var bytes: UInt64
        /// CLOCK_MONOTONIC nanoseconds of the last hit (0: never).
        public var lastHit: UInt64
    }

    /// The program's name in the kernel, by which (with its BTF) a running
    /// filter is recognised.
    public static let programName = "pktfilter"

    /// The object this process loaded; nil for a filter found in the kernel.
    public let probe: PacketFilterSkeleton?
    let maps: PacketFilterSkeleton.TypedMaps
    /// The kernel's ID of the XDP program.
    public let programID: UInt32

    /// Loads a new filter (not attached; no rules; default allow).
    public init() throws(BPFError) {
        let probe = try PacketFilterSkeleton.open().load()
        self.probe = probe
        maps = probe.typed
        programID = probe.programs.pktfilter.id ?? 0
    }

    private init(program: KernelProgram) throws(BPFError) {
        var byName: [String: Map] = [:]
        for map in try program.maps() { byName[map.name] = map }
        maps = try PacketFilterSkeleton.TypedMaps(mapNamed: { name throws(BPFError) in
            // The kernel keeps 15 characters of a map's name.
            guard let map = byName[String(name.prefix(15))] else {
                throw BPFError(.foreignObject, "XDP program id \(program.id) has no map '\(name)': it is not a compatible pktfilter")
            }
            return map
        })
        probe = nil
        programID = program.id
    }

    /// The filter attached to `interface` in this network namespace, found
    /// through the kernel; no program is loaded. nil when the interface has
    /// no XDP program; `.foreignObject` when it has someone else's.
    public static func attached(to interface: String) throws(BPFError) -> PacketFilter? {
        guard let id = try Kernel.xdpProgramID(interface: interface) else { return nil }
        let program = try KernelProgram(id: id)
        guard program.name == programName else {
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
            guard info.type == "xdp", info.name == programName, let program = try? KernelProgram(id: info.id),
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
        try loadedHere().programs.pktfilter.attachXDP(interface: interface, mode: mode)
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
        try probe.programs.pktfilter.attachXDPPersistent(interface: interface, mode: mode)
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

    public func setDefaultPolicy(_ policy: Policy) throws(BPFError) {
        try withEditLock { () throws(BPFError) in
            var s = try maps.settings.lookup(0) ?? pktf_settings()
            s.default_drop = policy == .deny ? 1 : 0
            try maps.settings.update(0, s)
        }
    }

    /// Runs `body` holding this filter's edit lock: an abstract Unix socket
    /// named after the program, which the kernel releases when the holder
    /// exits in any way. Abstract sockets belong to the network namespace,
    /// which every invocation that can see the interface shares.
    func withEditLock<T>(_ body: () throws(BPFError) -> T) throws(BPFError) -> T {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BPFError.fromErrno("cannot create the edit lock socket") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array("swiftbpf/pktfilter/\(programID)".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path[0] = 0  // abstract: no file, nothing to clean up
            path.baseAddress!.advanced(by: 1).copyMemory(from: name, byteCount: name.count)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.count)
        let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            if rc == 0 { break }
            let e = errno
            guard e == EADDRINUSE else { throw BPFError.system("cannot take the edit lock of filter \(programID)", e) }
            guard DispatchTime.now().uptimeNanoseconds < deadline else {
                throw BPFError(.busy, "another pktfilter has been editing filter \(programID) for 10 s", errno: .resourceBusy)
            }
            usleep(5_000)
        }
        return try body()
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
    public func add(_ rule: PacketRule) throws(BPFError) -> Int {
        try withEditLock { () throws(BPFError) -> Int in
            for id in 0..<UInt32(PKTF_MAX_RULES) where (try maps.rules.lookup(id))?.active == 0 {
                try maps.ruleStats.update(id, [pktf_counter()])
                // An array update is a copy the running program may read half
                // done: write the rule inactive, then flip only `active`.
                var raw = rule.raw
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
    public func remove(_ id: Int) throws(BPFError) -> Bool {
        guard (0..<Int(PKTF_MAX_RULES)).contains(id) else { return false }
        return try withEditLock { () throws(BPFError) -> Bool in
            guard let r = try maps.rules.lookup(UInt32(id)), r.active != 0 else { return false }
            try maps.rules.update(UInt32(id), pktf_rule())
            try syncAddressMaps()
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

    /// Totals: passed, dropped (by rules or policy), malformed (dropped),
    /// exempt (ARP and neighbour discovery, always passed).
    public func totals() throws(BPFError) -> (passed: Counter, dropped: Counter, malformed: Counter, exempt: Counter) {
        func get(_ t: pktf_total) throws(BPFError) -> Counter { Self.sum(try maps.totals.lookup(t.rawValue) ?? []) }
        return (try get(PKTF_TOTAL_PASSED), try get(PKTF_TOTAL_DROPPED), try get(PKTF_TOTAL_MALFORMED), try get(PKTF_TOTAL_EXEMPT))
    }
}
