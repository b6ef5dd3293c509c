// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Foundation
import TestSupport
import Testing

/// Deterministic randomness, so a failure reproduces.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
}

/// Builds Ethernet frames of every shape the filter parses.
struct FrameGenerator {
    var rng: SplitMix64
    let v4 = [[10, 0, 0, 1], [10, 1, 2, 3], [192, 168, 7, 9], [172, 16, 0, 5]].map { $0.map(UInt8.init) }
    let v6: [[UInt8]] = [
        [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
        [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [7],
        [0x20, 0x01, 0x0d, 0xb9] + [UInt8](repeating: 0x11, count: 12),
    ]
    let ports: [UInt16] = [22, 53, 80, 1000, 1500, 2000, 2001, 8080, 65535]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

    mutating func l4(_ proto: UInt8) -> [UInt8] {
        switch proto {
        case 6:  // TCP, data offset sometimes invalid
            var h = Self.be16(rng.pick(ports)) + Self.be16(rng.pick(ports)) + [UInt8](repeating: 0, count: 16)
            h[12] = UInt8(rng.chance(90) ? 5 : rng.int(5)) << 4
            return h
        case 17: return Self.be16(rng.pick(ports)) + Self.be16(rng.pick(ports)) + [0, 8, 0, 0]
        case 1: return [rng.pick([0, 3, 8, 11]), 0, 0, 0, 0, 0, 0, 0]
        case 58: return [rng.pick([1, 128, 129, 133, 135, 136, 137, 143]), 0, 0, 0, 0, 0, 0, 0]
        default: return [UInt8](repeating: 0xAB, count: 8)
        }
    }

    mutating func ipv4() -> [UInt8] {
        let proto: UInt8 = rng.pick([1, 6, 17, 47])
        let ihl = rng.chance(70) ? 5 : 5 + rng.int(11)
        var h = [UInt8](repeating: 0, count: ihl * 4)
        h[0] = UInt8(rng.chance(97) ? 4 : rng.int(16)) << 4 | UInt8(rng.chance(98) ? ihl : rng.int(5))
        h[8] = 64
        h[9] = proto
        let frag: UInt16 = rng.chance(80) ? 0 : rng.pick([0x2000, 0x0001, 0x2010, 0x1fff, 0x4000])
        h[6] = UInt8(frag >> 8); h[7] = UInt8(frag & 0xff)
        h.replaceSubrange(12..<16, with: rng.pick(v4))
        h.replaceSubrange(16..<20, with: rng.pick(v4))
        return Self.be16(0x0800) + h + l4(proto)
    }

    mutating func ipv6() -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 40)
        h[0] = rng.chance(97) ? 0x60 : 0x40
        h.replaceSubrange(8..<24, with: rng.pick(v6))
        h.replaceSubrange(24..<40, with: rng.pick(v6))
        var exts: [UInt8] = []
        var chain: [UInt8] = []
        for _ in 0..<rng.int(4) { chain.append(rng.pick([0, 43, 60, 44, 51])) }
        let proto: UInt8 = rng.pick([6, 17, 58, 58, 59])
        let nexts = chain + [proto]
        h[6] = nexts[0]
        for (i, ext) in chain.enumerated() {
            let next = nexts[i + 1]
            switch ext {
            case 44:
                let off: UInt16 = rng.chance(70) ? 0 : rng.pick([8, 0x0010, 0xfff8])
                exts += [next, 0] + Self.be16(off | (rng.chance(50) ? 1 : 0)) + [0, 0, 0, 1]
            case 51:
                exts += [next, 1] + [UInt8](repeating: 0, count: 10)  // (1+2)*4 = 12 bytes
            default:
                let len = rng.int(2)
                exts += [next, UInt8(len)] + [UInt8](repeating: 0, count: 6 + len * 8)
            }
        }
        return Self.be16(0x86DD) + h + exts + l4(proto)
    }

    mutating func frame() -> [UInt8] {
        var f: [UInt8] = [UInt8](repeating: 0x02, count: 6) + [UInt8](repeating: 0x04, count: 6)
        for _ in 0..<rng.pick([0, 0, 0, 1, 2]) {
            f += Self.be16(rng.pick([0x8100, 0x88A8])) + [0, UInt8(rng.int(255))]
        }
        switch rng.int(10) {
        case 0: f += Self.be16(0x0806) + [UInt8](repeating: 1, count: 28)           // ARP
        case 1: f += Self.be16(rng.pick([0x88CC, 0x9000, 0x1234])) + [1, 2, 3, 4]  // other
        case 2...5: f += ipv4().dropFirst(0)
        default: f += ipv6()
        }
        return f
    }
}

/// The filter's documented decision procedure, in Swift, over the rules'
/// kernel layout. Returns the XDP verdict: 1 drop, 2 pass.
struct PacketFilterModel {
    var rules: [pktf_rule?]
    var defaultDrop: Bool

    func be16(_ f: [UInt8], _ i: Int) -> UInt16 { UInt16(f[i]) << 8 | UInt16(f[i + 1]) }
    func word(_ f: [UInt8], _ i: Int) -> UInt32 { Array(f[i..<(i + 4)]).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }

    struct Packet {
        var src = [UInt32](repeating: 0, count: 4), dst = [UInt32](repeating: 0, count: 4)
        var sport: UInt16 = 0, dport: UInt16 = 0, family: UInt8 = 0, proto: UInt8 = 0
        var hasPorts = false, hasICMP = false, icmpType: UInt8 = 0
    }

    func matches(_ r: pktf_rule, _ p: Packet) -> Bool {
        guard r.active != 0 else { return false }
        if r.family != 0 && r.family != p.family { return false }
        if r.proto != 0 && r.proto != p.proto { return false }
        let rs = [r.src.0, r.src.1, r.src.2, r.src.3], rsm = [r.src_mask.0, r.src_mask.1, r.src_mask.2, r.src_mask.3]
        let rd = [r.dst.0, r.dst.1, r.dst.2, r.dst.3], rdm = [r.dst_mask.0, r.dst_mask.1, r.dst_mask.2, r.dst_mask.3]
        for i in 0..<4 where p.src[i] & rsm[i] != rs[i] || p.dst[i] & rdm[i] != rd[i] { return false }
        if r.sport_lo != 0 || r.sport_hi != 0xffff || r.dport_lo != 0 || r.dport_hi != 0xffff {
            guard p.hasPorts, (r.sport_lo...r.sport_hi).contains(p.sport), (r.dport_lo...r.dport_hi).contains(p.dport) else { return false }
        }
        if r.match_icmp_type != 0 && (!p.hasICMP || p.icmpType != r.icmp_type) { return false }
        return true
    }

    func byRules(_ p: Packet) -> UInt32 {
        var verdict: UInt32? = nil
        for case let r? in rules where matches(r, p) {
            if r.action == UInt8(PKTF_ACTION_DROP.rawValue) { return 1 }
            if verdict == nil { verdict = 2 }
        }
        return verdict ?? (defaultDrop ? 1 : 2)
    }

    func decide(_ f: [UInt8]) -> UInt32 {
        let malformed: UInt32 = 1, pass: UInt32 = 2
        guard f.count >= 14 else { return malformed }
        var ethertype = be16(f, 12), off = 14
        for _ in 0..<2 where ethertype == 0x8100 || ethertype == 0x88A8 {
            guard off + 4 <= f.count else { return malformed }
            ethertype = be16(f, off + 2)
            off += 4
        }
        if ethertype == 0x0806 { return pass }
        var p = Packet()
        var ipproto: UInt8
        if ethertype == 0x0800 {
            guard off + 20 <= f.count, f[off] >> 4 == 4, f[off] & 0xf >= 5 else { return malformed }
            let hlen = Int(f[off] & 0xf) * 4
            guard off + hlen <= f.count else { return malformed }
            p.family = 4
            p.src[0] = word(f, off + 12)
            p.dst[0] = word(f, off + 16)
            ipproto = f[off + 9]
            let frag = be16(f, off + 6) & 0x1fff
            off += hlen
            if frag != 0 { p.proto = ipproto; return byRules(p) }
        } else if ethertype == 0x86DD {
            guard off + 40 <= f.count, f[off] >> 4 == 6 else { return malformed }
            p.family = 6
            for i in 0..<4 { p.src[i] = word(f, off + 8 + 4 * i); p.dst[i] = word(f, off + 24 + 4 * i) }
            ipproto = f[off + 6]
            off += 40
            for _ in 0..<6 {
                if [0, 43, 60].contains(ipproto) {
                    guard off + 2 <= f.count else { return malformed }
                    let next = f[off]
                    off += (Int(f[off + 1]) + 1) * 8
                    ipproto = next
                } else if ipproto == 44 {
                    guard off + 8 <= f.count else { return malformed }
                    ipproto = f[off]
                    let fragOff = be16(f, off + 2) & 0xfff8
                    off += 8
                    if fragOff != 0 { p.proto = ipproto == 58 ? 1 : ipproto; return byRules(p) }
                } else if ipproto == 51 {
                    guard off + 2 <= f.count else { return malformed }
                    let next = f[off]
                    off += (Int(f[off + 1]) + 2) * 4
                    ipproto = next
                } else {
                    break
                }
            }
            guard off <= 0xffff else { return malformed }
        } else {
            return defaultDrop ? 1 : 2
        }
        switch ipproto {
        case 6:
            guard off + 20 <= f.count, f[off + 12] >> 4 >= 5 else { return malformed }
            p.sport = be16(f, off); p.dport = be16(f, off + 2); p.hasPorts = true
        case 17:
            guard off + 8 <= f.count else { return malformed }
            p.sport = be16(f, off); p.dport = be16(f, off + 2); p.hasPorts = true
        case 1, 58:
            guard off + 4 <= f.count else { return malformed }
            p.icmpType = f[off]; p.hasICMP = true
        default: break
        }
        if ipproto == 58 && (133...137).contains(p.icmpType) { return pass }
        p.proto = ipproto == 58 ? 1 : ipproto
        return byRules(p)
    }
}

extension Privileged {
    @Suite struct PacketFilterDifferential {
        init() throws { _ = try Privileged() }

        static let ruleSet: [PacketRule] = {
            var rules = [PacketRule]()
            func add(_ spec: String, _ action: PacketRule.Action, _ edit: (inout PacketRule) -> Void = { _ in }) {
                var r = try! PacketRule(spec, action: action)
                edit(&r)
                rules.append(r)
            }
            add("icmp:8", .drop)
            add("tcp:22", .drop) { $0.source = IPPrefix("10.0.0.0/8") }
            add("udp:1000-2000", .allow)
            add("udp", .drop) { $0.destination = IPPrefix("2001:db8::/32") }
            add("tcp", .allow) { $0.sourcePorts = 53...80; $0.destination = IPPrefix("192.168.0.0/16") }
            add("any", .drop) { $0.source = IPPrefix("fe80::/10") }
            add("icmp:128", .allow)
            add("tcp:8080", .drop)
            // Exact addresses (hash maps) and nested prefixes (LPM tries).
            add("udp", .drop) { $0.source = IPPrefix("172.16.0.5") }
            add("icmp", .allow) { $0.destination = IPPrefix("2001:db8::1") }
            add("tcp", .allow) { $0.source = IPPrefix("10.1.0.0/16") }
            add("any", .drop) { $0.source = IPPrefix("10.1.2.3"); $0.destination = IPPrefix("192.168.7.9") }
            return rules
        }()

        @Test(arguments: [false, true])
        func kernelAndModelAgreeOnEveryPacket(defaultDeny: Bool) throws {
            let filter = try PacketFilter()
            try filter.setDefaultPolicy(defaultDeny ? .deny : .allow)
            var slots = [pktf_rule?](repeating: nil, count: Int(PKTF_MAX_RULES))
            for rule in Self.ruleSet { slots[try filter.add(rule)] = rule.raw }
            let model = PacketFilterModel(rules: slots, defaultDrop: defaultDeny)

            var gen = FrameGenerator(rng: SplitMix64(state: defaultDeny ? 7 : 42))
            var frames: [[UInt8]] = []
            for i in 0..<3000 {
                let f = gen.frame()
                frames.append(f)
                // Every 20th frame also truncated at every offset (the kernel
                // will not run XDP on less than an Ethernet header).
                if i % 20 == 0 { for n in 14..<f.count { frames.append(Array(f.prefix(n))) } }
            }
            var mismatches: [String] = []
            var verdicts = [UInt32: Int]()
            for f in frames {
                let kernel = try #require(filter.probe).programs.pktfilter.testRun(packet: f)
                let expected = model.decide(f)
                verdicts[kernel, default: 0] += 1
                if kernel != expected, mismatches.count < 5 {
                    mismatches.append("kernel \(kernel) model \(expected): " + f.map { String(format: "%02x", $0) }.joined())
                }
            }
            #expect(frames.count > 8000)
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            // Both outcomes occur: the packets exercise the rules.
            #expect((verdicts[1] ?? 0) > 500 && (verdicts[2] ?? 0) > 500, "\(verdicts)")
        }
    }
}
