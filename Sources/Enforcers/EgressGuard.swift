// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Foundation
import Glibc
import SwiftBPF
import BPFProbes
import ToolSupport

/// One entry of an egress allow-list: `PROTO[:PORTS][@CIDR]`, for example
/// `tcp:443@10.96.0.0/12`, `udp:53@10.96.0.10`, `icmp@10.0.0.0/8`,
/// `any@127.0.0.0/8`. Without `@CIDR`, any address of either family.
/// `icmp` is ICMP for IPv4 destinations and ICMPv6 for IPv6 ones.
public struct EgressRule: Sendable, Hashable, CustomStringConvertible {
    public enum Action: String, Sendable { case allow, deny }
    public enum Proto: String, Sendable, CaseIterable { case any, tcp, udp, icmp }

    public var action: Action
    public var proto: Proto
    /// Destination ports; nil for any (and for protocols without ports).
    public var ports: ClosedRange<UInt16>?
    /// The destination network (host bits cleared); nil for any address.
    public var destination: IPPrefix?

    public init(action: Action, proto: Proto, ports: ClosedRange<UInt16>? = nil, destination: IPPrefix? = nil) {
        self.action = action
        self.proto = proto
        self.ports = ports
        self.destination = destination?.masked
    }

    /// Parses `PROTO[:PORTS][@CIDR]` strictly: a separator's part must be
    /// there, ports are plain decimal (1-65535, or LO-HI), and only tcp and
    /// udp take ports.
    public init(_ spec: String, action: Action) throws(RuleSyntaxError) {
        let at = spec.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let head = at[0].lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let proto = Proto(rawValue: head[0]) else {
            throw RuleSyntaxError(description: "unknown protocol '\(head[0])' in '\(spec)' (use tcp, udp, icmp or any)")
        }
        var ports: ClosedRange<UInt16>?
        if head.count == 2 {
            guard proto == .tcp || proto == .udp else {
                throw RuleSyntaxError(description: "'\(spec)': only tcp and udp take ports")
            }
            ports = try PacketRule.ports(head[1])
        }
        var destination: IPPrefix?
        if at.count == 2 {
            guard let prefix = IPPrefix(at[1]) else {
                throw RuleSyntaxError(description: "bad address '\(at[1])' in '\(spec)' (an IPv4 or IPv6 address, or ADDRESS/LENGTH)")
            }
            // ::ffff:a.b.c.d is decided by the IPv4 rules: a rule for it
            // would never match.
            if prefix.family == 6, prefix.bytes.prefix(10).allSatisfy({ $0 == 0 }), prefix.bytes[10] == 0xff, prefix.bytes[11] == 0xff, prefix.length >= 96 {
                throw RuleSyntaxError(description: "'\(at[1])' is an IPv4-mapped address, which the IPv4 rules decide: write it as IPv4")
            }
            destination = prefix
        }
        self.init(action: action, proto: proto, ports: ports, destination: destination)
    }

    /// The families this rule applies to.
    var families: [Int] { destination.map { [$0.family] } ?? [4, 6] }

    /// `tcp:443@10.96.0.0/12`, as it is written.
    public var spec: String {
        var s = proto.rawValue
        if let ports { s += ports.lowerBound == ports.upperBound ? ":\(ports.lowerBound)" : ":\(ports.lowerBound)-\(ports.upperBound)" }
        if let destination { s += "@\(destination)" }
        return s
    }

    public var description: String { "\(action.rawValue) \(spec)" }

    init?(kernel r: egress_rule) {
        guard let action: Action = r.action == UInt8(EGRESS_ACTION_ALLOW.rawValue) ? .allow
                : r.action == UInt8(EGRESS_ACTION_DENY.rawValue) ? .deny : nil else { return nil }
        let proto: Proto
        switch r.proto {
        case 0: proto = .any
        case 6: proto = .tcp
        case 17: proto = .udp
        case 1: proto = .icmp
        default: return nil
        }
        self.action = action
        self.proto = proto
        ports = r.port_lo == 0 && r.port_hi == 0 ? nil : r.port_lo...max(r.port_lo, r.port_hi)
        if r.family == 4 || r.family == 6 {
            let bytes = withUnsafeBytes(of: r.addr) { Array($0.prefix(r.family == 4 ? 4 : 16)) }
            destination = IPPrefix(family: Int(r.family), bytes: bytes, length: Int(r.prefix_len))
        } else {
            destination = nil
        }
    }

    var kernel: egress_rule {
        var r = egress_rule()
        r.action = UInt8(action == .allow ? EGRESS_ACTION_ALLOW.rawValue : EGRESS_ACTION_DENY.rawValue)
        r.proto = switch proto { case .any: 0; case .tcp: 6; case .udp: 17; case .icmp: 1 }
        r.port_lo = ports?.lowerBound ?? 0
        r.port_hi = ports?.upperBound ?? 0
        if let destination {
            r.family = UInt8(destination.family)
            r.prefix_len = UInt8(destination.length)
            withUnsafeMutableBytes(of: &r.addr) { raw in
                for (i, b) in destination.bytes.enumerated() { raw[i] = b }
            }
        }
        return r
    }
}

/// A decision of egressguard, as its probe sends it.
extension EgressEvent {
    public enum Verdict: String, Sendable { case allowed, denied, wouldDeny = "would-deny" }
    public enum Hook: String, Sendable { case connect4, connect6, sendmsg4, sendmsg6, egress, socket, sockopt }

    /// What the guard did (`verdict`).
    public var decision: Verdict {
        switch verdict {
        case UInt8(EGRESS_ALLOWED.rawValue): .allowed
        case UInt8(EGRESS_WOULD_DENY.rawValue): .wouldDeny
        default: .denied
        }
    }
    /// Where it was decided (`hook`).
    public var hookPoint: Hook {
        switch hook {
        case UInt8(EGRESS_HOOK_CONNECT4.rawValue): .connect4
        case UInt8(EGRESS_HOOK_CONNECT6.rawValue): .connect6
        case UInt8(EGRESS_HOOK_SENDMSG4.rawValue): .sendmsg4
        case UInt8(EGRESS_HOOK_SENDMSG6.rawValue): .sendmsg6
        case UInt8(EGRESS_HOOK_SOCKET.rawValue): .socket
        case UInt8(EGRESS_HOOK_SOCKOPT.rawValue): .sockopt
        default: .egress
        }
    }
    /// The deciding rule's ID (`rule`); nil when no rule allowed it.
    public var ruleID: Int? { rule < 0 ? nil : Int(rule) }
    /// The destination address's bytes: 4 for IPv4, 16 for IPv6.
    public var destinationBytes: [UInt8] {
        Array(addr.prefix(family == 6 ? 16 : 4))
    }
}

/// egressguard's programs and allow-list: load one and attach it to a
/// cgroup, or find the one attached to a cgroup (by any process) and edit
/// its rules while it runs.
///
/// Hooks: `cgroup/connect4` and `connect6` (TCP and connected UDP),
/// `sendmsg4` and `sendmsg6` (unconnected UDP), `cgroup_skb/egress` (raw
/// and ICMP sockets). A denied connect() or sendmsg() fails with EPERM in
/// the caller; a denied packet is dropped. Nothing is allowed that no rule
/// allows, loopback included; a deny rule wins over any allow. Attached
/// through links, as BPF_F_ALLOW_MULTI: other programs on the cgroup keep
/// running, and a call or packet passes only if every program lets it.
///
/// A running guard is found through the kernel: the cgroup → its
/// connect4 programs → the one named `egress_connect4` whose BTF has this
/// version's rule layout → its maps. Nothing is pinned. Edits from several
/// processes are serialised by a lock in the guard itself.
///
/// Linux 5.7+ (cgroup links, UDP sockets in socket maps for the lock).
public final class EgressGuard: Sendable {
    public static let programName = EgressguardSkeleton.ProgramName.egressConnect4.kernelName
    /// Rule IDs are 0..<maxRules.
    public static let maxRules = Int(EGRESS_MAX_RULES)
    /// Rules that may cover one destination (each destination is checked
    /// against at most these).
    public static let maxCandidates = Int(EGRESS_MAX_CANDIDATES)

    /// The object this process loaded; nil for a guard found in the kernel.
    public let probe: EgressguardSkeleton?
    /// The maps an editor uses (a guard found in the kernel lists only the
    /// maps its programs use).
    struct Maps {
        let rules: TypedMap<UInt32, egress_rule>
        let dest4: TypedMap<egress_v4_key, egress_candidates>
        let dest6: TypedMap<egress_v6_key, egress_candidates>
        let decisions: PerCPUMap<egress_count_key, UInt64>
        let uncounted: PerCPUMap<UInt32, UInt64>
    }
    let maps: Maps
    let editLock: TypedMap<UInt32, UInt64>
    public let programID: UInt32

    /// Loads a new guard (not attached, no rules: it would deny everything).
    /// `enforce` false: audit mode, where what the rules deny is reported
    /// as would-deny and let through.
    public init(enforce: Bool) throws(BPFError) {
        var open = try EgressguardSkeleton.open()
        open.guardCfg = egress_config(enforce: enforce ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
        // Before the task helpers reached setsockopt programs (after Linux
        // 5.10), its decisions are reported without the caller's PID.
        open.sockoptKnowsTask = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_FUNC_get_current_pid_tgid, nil) == 1 ? 1 : 0
        let probe = try open.load()
        self.probe = probe
        maps = Maps(rules: probe.typed.rules, dest4: probe.typed.dest4, dest6: probe.typed.dest6, decisions: probe.typed.decisions,
                    uncounted: try probe.maps.uncounted.perCPU(UInt32.self, UInt64.self))
        // Editors find the maps through this program: bound to it are the
        // ones it does not use itself (the lock, IPv6's trie).
        try probe.programs.egressConnect4.bind(map: probe.maps.editLock)
        try probe.programs.egressConnect4.bind(map: probe.maps.dest6)
        editLock = try probe.maps.editLock.typed(UInt32.self, UInt64.self)
        programID = probe.programs.egressConnect4.id ?? 0
    }

    private init(program: KernelProgram) throws(BPFError) {
        let find = try program.mapFinder(expecting: "egressguard")
        func named(_ map: EgressguardSkeleton.MapName) throws(BPFError) -> Map { try find(map.rawValue) }
        maps = Maps(rules: try named(.rules).typed(UInt32.self, egress_rule.self),
                    dest4: try named(.dest4).typed(egress_v4_key.self, egress_candidates.self),
                    dest6: try named(.dest6).typed(egress_v6_key.self, egress_candidates.self),
                    decisions: try named(.decisions).perCPU(egress_count_key.self, UInt64.self),
                    uncounted: try named(.uncounted).perCPU(UInt32.self, UInt64.self))
        editLock = try named(.editLock).typed(UInt32.self, UInt64.self)
        probe = nil
        programID = program.id
    }

    /// Every compatible guard loaded in the kernel, found by program name
    /// and layout (CAP_SYS_ADMIN lists programs); no file is read.
    public static func loaded() -> [EgressGuard] {
        Kernel.loadedPrograms().compactMap { info in
            guard info.name == programName, let program = try? KernelProgram(id: info.id), isCompatible(program) else { return nil }
            return try? EgressGuard(program: program)
        }
    }

    static func isCompatible(_ program: KernelProgram) -> Bool {
        program.structSize("egress_rule") == MemoryLayout<egress_rule>.size
            && program.structSize("egress_candidates") == MemoryLayout<egress_candidates>.size
    }

    /// The guard attached directly to the cgroup at `path`, found through
    /// the kernel; nil when there is none.
    public static func attached(toCgroup path: String) throws(BPFError) -> EgressGuard? {
        for id in try Kernel.cgroupPrograms(path: path, hook: .connect4) {
            guard let program = try? KernelProgram(id: id), program.name == programName else { continue }
            guard isCompatible(program) else {
                throw BPFError(.foreignObject, "the egressguard on \(path) (program \(id)) was built from another version: its rule layout differs")
            }
            return try EgressGuard(program: program)
        }
        return nil
    }

    /// Attaches every hook to the cgroup v2 directory at `path`. Releasing
    /// the links, or the process ending, lifts the policy.
    public func attach(cgroup path: String) throws(BPFError) -> [Link] {
        guard let probe else {
            throw BPFError(.foreignObject, "this guard was found attached, not loaded here: it cannot be attached again")
        }
        let p = probe.programs
        var links: [Link] = []
        for program in [p.egressConnect4, p.egressConnect6, p.egressSendmsg4, p.egressSendmsg6, p.egressPacket, p.egressSocket, p.egressSockopt] {
            links.append(try program.attachCgroup(path: path))
        }
        return links
    }

    // MARK: Rules

    /// The rules, by ID.
    public func rules() throws(BPFError) -> [(id: Int, rule: EgressRule)] {
        var out: [(Int, EgressRule)] = []
        for id in 0..<Self.maxRules {
            guard let r = try maps.rules.lookup(UInt32(id)), let rule = EgressRule(kernel: r) else { continue }
            out.append((id, rule))
        }
        return out
    }

    /// Adds a rule; returns its ID. Refused (and nothing changed) when
    /// every slot is used, or when it would make more than
    /// `maxCandidates` rules cover one destination.
    @discardableResult
    public func add(_ rule: EgressRule) throws(BPFError) -> Int {
        try EditLock.holding(editLock, busy: "another egressguard has been editing guard \(programID) for 10 s") { () throws(BPFError) -> Int in
            let current = try rules()
            if let same = current.first(where: { $0.rule == rule }) { return same.id }
            guard let free = (0..<Self.maxRules).first(where: { id in !current.contains { $0.id == id } }) else {
                throw BPFError(.full, "all \(Self.maxRules) rule slots are used", errno: .noSpace)
            }
            let after = current + [(free, rule)]
            let tries = try Self.tries(after)
            // The rule first, then the destinations that point at it.
            try maps.rules.update(UInt32(free), rule.kernel)
            try write(tries)
            return free
        }
    }

    /// Removes the rule with this ID.
    public func delete(id: Int) throws(BPFError) {
        try EditLock.holding(editLock, busy: "another egressguard has been editing guard \(programID) for 10 s") { () throws(BPFError) in
            let current = try rules()
            guard current.contains(where: { $0.id == id }) else { throw BPFError(.notFound, "no rule \(id)") }
            // The destinations first, then the rule.
            try write(try Self.tries(current.filter { $0.id != id }))
            // An array's slot is freed by zeroing it.
            try maps.rules.update(UInt32(id), egress_rule())
        }
    }

    /// Per family, each destination prefix any rule names, with the rules
    /// whose prefix contains it: denies first, then allows, by ID.
    static func tries(_ rules: [(id: Int, rule: EgressRule)]) throws(BPFError) -> [Int: [IPPrefix: [Int]]] {
        var out: [Int: [IPPrefix: [Int]]] = [4: [:], 6: [:]]
        for family in [4, 6] {
            let applicable = rules.filter { $0.rule.families.contains(family) }
            let any = IPPrefix(family: family, bytes: [UInt8](repeating: 0, count: family == 4 ? 4 : 16), length: 0)
            let prefixes = Set(applicable.map { $0.rule.destination ?? any })
            for prefix in prefixes {
                let covering = applicable.filter { ($0.rule.destination ?? any).contains(prefix) }
                    .sorted { ($0.rule.action == .deny ? 0 : 1, $0.id) < ($1.rule.action == .deny ? 0 : 1, $1.id) }
                guard covering.count <= maxCandidates else {
                    throw BPFError(.full, "more than \(maxCandidates) rules would cover \(prefix)", errno: .noSpace)
                }
                out[family]![prefix] = covering.map(\.id)
            }
        }
        return out
    }

    /// Brings the tries to `tries`: entries in or updated first, stale ones out.
    private func write(_ tries: [Int: [IPPrefix: [Int]]]) throws(BPFError) {
        func candidates(_ ids: [Int]) -> egress_candidates {
            var c = egress_candidates()
            c.count = UInt32(ids.count)
            withUnsafeMutableBytes(of: &c.rule) { raw in
                let slots = raw.bindMemory(to: UInt16.self)
                for (i, id) in ids.enumerated() { slots[i] = UInt16(id) }
            }
            return c
        }
        for (prefix, ids) in tries[4] ?? [:] { try maps.dest4.update(Self.key4(prefix), candidates(ids)) }
        for (prefix, ids) in tries[6] ?? [:] { try maps.dest6.update(Self.key6(prefix), candidates(ids)) }
        for key in try maps.dest4.keys() where tries[4]?[Self.prefix(key)] == nil { try maps.dest4.delete(key) }
        for key in try maps.dest6.keys() where tries[6]?[Self.prefix(key)] == nil { try maps.dest6.delete(key) }
    }

    static func key4(_ p: IPPrefix) -> egress_v4_key {
        var k = egress_v4_key()
        k.prefix_len = UInt32(p.length)
        withUnsafeMutableBytes(of: &k.addr) { raw in for (i, b) in p.bytes.enumerated() { raw[i] = b } }
        return k
    }

    static func key6(_ p: IPPrefix) -> egress_v6_key {
        var k = egress_v6_key()
        k.prefix_len = UInt32(p.length)
        withUnsafeMutableBytes(of: &k.addr) { raw in for (i, b) in p.bytes.enumerated() { raw[i] = b } }
        return k
    }

    static func prefix(_ k: egress_v4_key) -> IPPrefix {
        IPPrefix(family: 4, bytes: withUnsafeBytes(of: k.addr) { Array($0) }, length: Int(k.prefix_len))
    }

    static func prefix(_ k: egress_v6_key) -> IPPrefix {
        IPPrefix(family: 6, bytes: withUnsafeBytes(of: k.addr) { Array($0) }, length: Int(k.prefix_len))
    }

    // MARK: Counts

    /// "2 allowed, 1 denied, 0 would-deny": the decisions of every cgroup
    /// and hook, summed.
    public func verdictTotals() throws(BPFError) -> String {
        var totals: [EgressEvent.Verdict: UInt64] = [:]
        for d in try decisions() { totals[d.verdict, default: 0] += d.count }
        return "\(totals[.allowed] ?? 0) allowed, \(totals[.denied] ?? 0) denied, \(totals[.wouldDeny] ?? 0) would-deny"
    }

    /// Decisions the kernel could not count (its count map was full).
    public func uncounted() throws(BPFError) -> UInt64 {
        try maps.uncounted.sum(0) ?? 0
    }

    /// Decisions counted in the kernel, per cgroup, verdict and hook,
    /// summed over CPUs.
    public func decisions() throws(BPFError) -> [(cgroup: UInt64, verdict: EgressEvent.Verdict, hook: EgressEvent.Hook, count: UInt64)] {
        var out: [(UInt64, EgressEvent.Verdict, EgressEvent.Hook, UInt64)] = []
        let verdicts: [EgressEvent.Verdict] = [.allowed, .denied, .wouldDeny]
        let hooks: [EgressEvent.Hook] = [.connect4, .connect6, .sendmsg4, .sendmsg6, .egress, .socket, .sockopt]
        for key in try maps.decisions.keys() {
            guard let n = try maps.decisions.sum(key), Int(key.verdict) < verdicts.count, Int(key.hook) < hooks.count else { continue }
            out.append((key.cgroup_id, verdicts[Int(key.verdict)], hooks[Int(key.hook)], n))
        }
        return out
    }
}
