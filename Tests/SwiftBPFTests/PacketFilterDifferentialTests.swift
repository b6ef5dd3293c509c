// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Foundation
import SwiftBPF
import TestSupport
import Testing
@testable import Enforcers

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
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + int(r.count) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

// MARK: The model, from the specifications

/// What the filter promises, written from the RFCs and docs/tools/pktfilter.md rather
/// than from the C: a frame is parsed as the standards define it, to its
/// transport header, and a frame that cannot be parsed to its end within
/// the documented bounds is malformed.
///
/// - Ethernet (IEEE 802.3), with 802.1Q/802.1ad tags: at most
///   `PKTF_MAX_VLAN_TAGS`; the kernel strips any number of VLAN-0 tags and
///   delivers what is inside, so more tags than the filter reads is malformed.
/// - IPv4 (RFC 791): version 4, IHL ≥ 5, the header inside the total length
///   and the total length inside the frame (the bytes past it are padding,
///   which the kernel trims). A fragment with a non-zero offset has no
///   transport header; a TCP fragment at offset 1 (8 bytes) is RFC 1858's
///   overlap attack. AH (RFC 4302) is stepped over to the protocol it
///   protects.
/// - IPv6 (RFC 8200): version 6; the payload length bounds the datagram, 0
///   meaning a jumbogram (RFC 2675) only when a Hop-by-Hop header follows,
///   else an empty payload. Extension headers are IANA's list: Hop-by-Hop
///   only first (§4.1); Routing, Destination Options (8-octet units), AH
///   (4-octet units, RFC 4302), Fragment (8 bytes); Mobility, HIP, Shim6,
///   253 and 254 cannot be stepped over here. Every one must lie inside the
///   datagram. At most `PKTF_MAX_EXT_HEADERS` are read. ESP and No Next
///   Header end the chain. The first fragment must hold the whole chain and
///   transport header (RFC 8200 §4.5, RFC 7112).
/// - Transport: TCP (RFC 9293) 20 bytes and a data offset from 5 to the end
///   of the datagram; UDP 8 bytes; ICMP 8 bytes (RFC 792); ICMPv6 4 bytes
///   (RFC 4443).
/// - Exempt: ARP; neighbour discovery (RFC 4861): ICMPv6 133–137 with code 0
///   and hop limit 255, in no fragment (RFC 6980).
/// - Rules: protocol (icmp meaning ICMP over IPv4 and ICMPv6 over IPv6),
///   prefixes, port ranges, ICMP type, SYN (set, ACK clear); drop wins, then
///   allow, then the policy. Other ethertypes get the policy.
struct FilterModel {
    enum Outcome: Equatable { case malformed, exempt, passed, dropped
        var verdict: UInt32 { self == .malformed || self == .dropped ? 1 : 2 }
    }

    let rules: [PacketRule]
    let defaultDeny: Bool

    struct Packet {
        var family = 4
        var proto: UInt8 = 0          // the IP protocol, as carried
        var source: [UInt8] = [], destination: [UInt8] = []
        var sourcePort: UInt16?, destinationPort: UInt16?
        var icmpType: UInt8?
        var syn = false
    }

    /// Bytes of a frame read big-endian, with bounds the caller checks.
    struct Bytes {
        let f: [UInt8]
        func u8(_ i: Int) -> Int { Int(f[i]) }
        func u16(_ i: Int) -> Int { Int(f[i]) << 8 | Int(f[i + 1]) }
    }

    func decide(_ frame: [UInt8]) -> Outcome {
        let b = Bytes(f: frame)
        guard frame.count >= 14 else { return .malformed }
        var type = b.u16(12), at = 14, tags = 0
        while type == 0x8100 || type == 0x88A8 {
            tags += 1
            guard tags <= Int(PKTF_MAX_VLAN_TAGS), at + 4 <= frame.count else { return .malformed }
            type = b.u16(at + 2)
            at += 4
        }
        switch type {
        case 0x0806: return .exempt
        case 0x0800: return ipv4(b, at)
        case 0x86DD: return ipv6(b, at)
        default: return defaultDeny ? .dropped : .passed
        }
    }

    func ipv4(_ b: Bytes, _ start: Int) -> Outcome {
        guard start + 20 <= b.f.count, b.u8(start) >> 4 == 4 else { return .malformed }
        let headerLength = (b.u8(start) & 0xF) * 4, total = b.u16(start + 2)
        guard headerLength >= 20, total >= headerLength, start + total <= b.f.count else { return .malformed }
        let end = start + total
        var p = Packet(family: 4, source: Array(b.f[(start + 12)..<(start + 16)]), destination: Array(b.f[(start + 16)..<(start + 20)]))
        var proto = b.u8(start + 9)
        let fragmentOffset = b.u16(start + 6) & 0x1FFF
        if fragmentOffset != 0 {
            if proto == 6 && fragmentOffset == 1 { return .malformed }
            p.proto = UInt8(proto)
            return byRules(p)
        }
        var at = start + headerLength
        if proto == 51 {
            guard at + 2 <= end else { return .malformed }
            let length = (b.u8(at + 1) + 2) * 4
            guard at + length <= end else { return .malformed }
            proto = b.u8(at)
            at += length
        }
        return transport(b, &p, proto: proto, at: at, end: end, hopLimit: 0, fragmented: false)
    }

    func ipv6(_ b: Bytes, _ start: Int) -> Outcome {
        guard start + 40 <= b.f.count, b.u8(start) >> 4 == 6 else { return .malformed }
        let payload = b.u16(start + 4)
        var next = b.u8(start + 6)
        let end: Int
        if payload > 0 {
            guard start + 40 + payload <= b.f.count else { return .malformed }
            end = start + 40 + payload
        } else {
            end = next == 0 ? b.f.count : start + 40
        }
        var p = Packet(family: 6, source: Array(b.f[(start + 8)..<(start + 24)]), destination: Array(b.f[(start + 24)..<(start + 40)]))
        let extensions: Set<Int> = [0, 43, 44, 51, 60, 135, 139, 140, 253, 254]
        var at = start + 40, fragmented = false, read = 0
        while extensions.contains(next) {
            guard read < Int(PKTF_MAX_EXT_HEADERS) else { return .malformed }
            if next == 0 && read > 0 { return .malformed }
            if [135, 139, 140, 253, 254].contains(next) { return .malformed }
            guard at + 8 <= end else { return .malformed }
            read += 1
            let header = next
            next = b.u8(at)
            switch header {
            case 44:
                fragmented = true
                let offset = b.u16(at + 2) >> 3
                at += 8
                if offset != 0 {
                    if next == 6 && offset == 1 { return .malformed }
                    p.proto = UInt8(next)
                    return byRules(p)
                }
            case 51:
                at += (b.u8(at + 1) + 2) * 4
            default:
                at += (b.u8(at + 1) + 1) * 8
            }
            guard at <= end else { return .malformed }
        }
        return transport(b, &p, proto: next, at: at, end: end, hopLimit: b.u8(start + 7), fragmented: fragmented)
    }

    func transport(_ b: Bytes, _ p: inout Packet, proto: Int, at: Int, end: Int, hopLimit: Int, fragmented: Bool) -> Outcome {
        switch proto {
        case 6:
            guard at + 20 <= end else { return .malformed }
            let dataOffset = b.u8(at + 12) >> 4
            guard dataOffset >= 5, at + dataOffset * 4 <= end else { return .malformed }
            p.sourcePort = UInt16(b.u16(at)); p.destinationPort = UInt16(b.u16(at + 2))
            p.syn = b.u8(at + 13) & 0x12 == 0x02
        case 17:
            guard at + 8 <= end else { return .malformed }
            p.sourcePort = UInt16(b.u16(at)); p.destinationPort = UInt16(b.u16(at + 2))
        case 1 where p.family == 4:
            guard at + 8 <= end else { return .malformed }
            p.icmpType = UInt8(b.u8(at))
        case 58 where p.family == 6:
            guard at + 4 <= end else { return .malformed }
            p.icmpType = UInt8(b.u8(at))
            if (133...137).contains(b.u8(at)) && b.u8(at + 1) == 0 && hopLimit == 255 && !fragmented { return .exempt }
        default: break
        }
        p.proto = UInt8(proto)
        return byRules(p)
    }

    /// Rules as documented, written over `PacketRule`s, not the kernel's layout.
    func byRules(_ p: Packet) -> Outcome {
        // `matches` reads "icmp" as ICMP over IPv4 and ICMPv6 over IPv6.
        let flow = PacketRule.Flow(family: p.family, proto: p.proto, source: p.source, destination: p.destination,
                                   sourcePort: p.sourcePort, destinationPort: p.destinationPort, icmpType: p.icmpType, syn: p.syn)
        var allowed = false
        for r in rules where r.matches(flow) {
            if r.action == .drop { return .dropped }
            if r.action == .allow { allowed = true }
        }
        return allowed ? .passed : defaultDeny ? .dropped : .passed
    }
}

// MARK: What an attacker sends

/// Frames built to find what gets past a parser: every header the filter
/// reads, made valid, invalid, too long, too short, too many, and cut.
struct HostileFrames {
    var rng: SplitMix64
    let v4: [[UInt8]] = [[10, 0, 0, 1], [10, 1, 2, 3], [192, 168, 7, 9], [172, 16, 0, 5], [8, 8, 8, 8]]
    let v6: [[UInt8]] = [
        [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
        [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [7],
        [0x20, 0x01, 0x0d, 0xb9] + [UInt8](repeating: 0x11, count: 12),
        [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1],
    ]
    let ports: [UInt16] = [22, 53, 80, 1000, 1500, 2000, 2001, 8080, 65535, 0]

    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    /// A transport header (and a little payload) for `proto`, often broken.
    mutating func transport(_ proto: Int) -> [UInt8] {
        var h: [UInt8]
        switch proto {
        case 6:
            h = Self.be16(Int(rng.pick(ports))) + Self.be16(Int(rng.pick(ports))) + [UInt8](repeating: 0, count: 16)
            // Data offset: usually 5, else below 5 or reaching past the end.
            let dataOffset = rng.chance(75) ? 5 : rng.pick([0, 1, 4, 6, 8, 15])
            h[12] = UInt8(dataOffset << 4)
            h[13] = rng.pick([0x02, 0x12, 0x10, 0x18, 0x03, 0x00, 0xFF])
            if dataOffset > 5 && rng.chance(50) { h += [UInt8](repeating: 1, count: (dataOffset - 5) * 4) }
        case 17: h = Self.be16(Int(rng.pick(ports))) + Self.be16(Int(rng.pick(ports))) + [0, 8, 0, 0]
        case 1: h = [rng.pick([0, 3, 8, 11, 133, 135]), 0, 0, 0, 0, 0, 0, 0]
        case 58: h = [rng.pick([1, 128, 129, 133, 134, 135, 136, 137, 143]), rng.chance(85) ? 0 : 1, 0, 0, 0, 0, 0, 0]
        default: h = [UInt8](repeating: 0xAB, count: 8)
        }
        if rng.chance(20) { h += [UInt8](repeating: 0x5A, count: rng.int(40)) }
        return h
    }

    mutating func ipv4() -> [UInt8] {
        var proto = rng.pick([1, 6, 6, 17, 17, 58, 51, 50, 47, 0, 255])
        let ihl = rng.pick([5, 5, 5, 5, 6, 15, 15, 0, 1, 4])  // options at their maximum, and below the minimum
        var h = [UInt8](repeating: 0, count: max(ihl, 5) * 4)
        h[0] = UInt8(rng.chance(97) ? 4 : rng.int(16)) << 4 | UInt8(ihl)
        h[8] = 64
        let offset = rng.chance(75) ? 0 : rng.pick([1, 1, 2, 3, 5, 7, 185, 0x1FFF])
        let flags = rng.chance(50) ? 0x2000 : 0
        h.replaceSubrange(6..<8, with: Self.be16(flags | offset))
        h.replaceSubrange(12..<16, with: rng.pick(v4))
        h.replaceSubrange(16..<20, with: rng.pick(v4))
        var payload: [UInt8] = []
        h[9] = UInt8(proto)
        if proto == 51 {  // AH, then what it protects
            let inner = rng.pick([6, 17, 1, 51])
            let length = rng.pick([1, 2, 4, 0, 60])
            payload = [UInt8(inner), UInt8(length)] + [UInt8](repeating: 0, count: max(0, (length + 2) * 4 - 2))
            proto = inner
        }
        payload += transport(proto)
        var total = h.count + payload.count
        switch rng.int(20) {
        case 0: total = rng.int(h.count)                   // shorter than the header
        case 1: total += rng.int(1...64)                   // past the frame
        case 2: total = h.count + rng.int(payload.count + 1)  // cuts the payload: a first fragment split mid-header
        default: break
        }
        h.replaceSubrange(2..<4, with: Self.be16(total))
        var frame = Self.be16(0x0800) + h + payload
        if rng.chance(10) { frame += [UInt8](repeating: 0, count: rng.int(1...30)) }  // Ethernet padding
        return frame
    }

    /// Protocol 58 over IPv4 with the payload of a neighbour solicitation:
    /// not ICMPv6, so never exempt.
    mutating func ipv4Protocol58() -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 20)
        h[0] = 0x45; h[8] = 255; h[9] = 58
        h.replaceSubrange(12..<16, with: rng.pick(v4))
        h.replaceSubrange(16..<20, with: rng.pick(v4))
        let payload: [UInt8] = [rng.pick([133, 135, 136]), 0, 0, 0] + [UInt8](repeating: 0, count: 20)
        h.replaceSubrange(2..<4, with: Self.be16(20 + payload.count))
        return Self.be16(0x0800) + h + payload
    }

    /// An IPv6 extension header of `type` whose next header is `next`.
    mutating func extensionHeader(_ type: Int, next: Int, fragmentOffset: Int) -> [UInt8] {
        switch type {
        case 44:
            return [UInt8(next), 0] + Self.be16(fragmentOffset << 3 | (rng.chance(50) ? 1 : 0)) + [0, 0, 0, UInt8(rng.int(255))]
        case 51:
            let length = rng.pick([1, 1, 2, 0, 3])  // 0: shorter than its own fixed part
            return [UInt8(next), UInt8(length)] + [UInt8](repeating: 0, count: max(0, (length + 2) * 4 - 2))
        default:
            // 0: the 8-byte minimum; 255: 2 KiB, past most datagrams.
            let length = rng.chance(70) ? 0 : rng.chance(97) ? rng.pick([1, 2, 3]) : 255
            return [UInt8(next), UInt8(length)] + [UInt8](repeating: 1, count: (length + 1) * 8 - 2)
        }
    }

    mutating func ipv6(chainLength: Int? = nil, upper: Int? = nil) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 40)
        h[0] = rng.chance(97) ? 0x60 : 0x40
        h[7] = rng.chance(60) ? 255 : rng.pick([1, 64, 254])
        h.replaceSubrange(8..<24, with: rng.pick(v6))
        h.replaceSubrange(24..<40, with: rng.pick(v6))
        let count = chainLength ?? (rng.chance(30) ? 0 : rng.chance(85) ? rng.int(1...16) : rng.int(28...36))
        var chain: [Int] = []
        for i in 0..<count {
            chain.append(i == 0 && rng.chance(30) ? 0 : rng.pick([0, 43, 60, 60, 44, 51, 43, 60, 135, 139, 140, 253, 254]))
        }
        let proto = upper ?? rng.pick([6, 6, 17, 58, 58, 58, 59, 50, 1, 47])
        let nexts = chain + [proto]
        h[6] = UInt8(nexts[0])
        var payload: [UInt8] = []
        for (i, type) in chain.enumerated() {
            let offset = type == 44 && rng.chance(40) ? rng.pick([1, 1, 2, 3, 185]) : 0
            payload += extensionHeader(type, next: nexts[i + 1], fragmentOffset: offset)
        }
        payload += transport(proto)
        var length = payload.count
        switch rng.int(16) {
        case 0: length = 0                                  // jumbogram only after Hop-by-Hop, else empty
        case 1: length += rng.int(1...64)                   // past the frame
        case 2: length = rng.int(payload.count + 1)         // cuts the chain or the transport header
        default: break
        }
        h.replaceSubrange(4..<6, with: Self.be16(length))
        return Self.be16(0x86DD) + h + payload
    }

    /// Neighbour discovery, correct or off by one field.
    mutating func neighbourDiscovery() -> [UInt8] {
        var f = ipv6(chainLength: rng.chance(80) ? 0 : 1, upper: 58)
        // Make the ICMPv6 header an ND message most of the time.
        if rng.chance(80), f[2 + 6] == 58, f.count >= 2 + 40 + 4 {
            f[2 + 40] = rng.pick([133, 134, 135, 136, 137])
            f[2 + 41] = rng.chance(80) ? 0 : 1
            f[2 + 7] = rng.chance(70) ? 255 : 254
        }
        return f
    }

    mutating func frame() -> [UInt8] {
        var f: [UInt8] = [UInt8](repeating: 0x02, count: 6) + [UInt8](repeating: 0x04, count: 6)
        let tags = rng.chance(70) ? 0 : rng.int(1...6)
        for _ in 0..<tags {
            f += Self.be16(rng.pick([0x8100, 0x88A8])) + Self.be16(rng.chance(50) ? 0 : rng.int(4096))
        }
        switch rng.int(20) {
        case 0: f += Self.be16(0x0806) + [UInt8](repeating: 1, count: 28)
        case 1: f += Self.be16(rng.pick([0x88CC, 0x9000, 0x1234, 0x8847])) + [1, 2, 3, 4]
        case 2: f += ipv4Protocol58()
        case 3, 4: f += neighbourDiscovery()
        case 5...10: f += ipv4()
        default: f += ipv6()
        }
        if rng.chance(3) { f = Array(f.prefix(max(14, f.count - rng.int(1...8)))) }
        // No longer than a frame XDP sees whole on a 1500-byte MTU (this
        // program is not multi-buffer aware, and the kernel attaches it
        // only where frames fit in one buffer): a longer one is cut.
        return Array(f.prefix(1514 + 8))
    }
}

// MARK: The kernel against the model

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
            add("tcp:22", .drop)
            add("udp:1000-2000", .allow)
            add("udp", .drop) { $0.destination = IPPrefix("2001:db8::/32") }
            add("tcp", .allow) { $0.sourcePorts = 53...80; $0.destination = IPPrefix("192.168.0.0/16") }
            add("any", .drop) { $0.source = IPPrefix("fe80::/10") }
            add("icmp6:128", .allow)
            add("icmp6:135", .drop)  // exempt neighbour discovery comes first
            add("tcp:8080", .drop)
            add("udp", .drop) { $0.source = IPPrefix("172.16.0.5") }
            add("icmp", .allow) { $0.destination = IPPrefix("2001:db8::1") }
            add("tcp", .allow) { $0.source = IPPrefix("10.1.0.0/16") }
            add("any", .drop) { $0.source = IPPrefix("10.1.2.3"); $0.destination = IPPrefix("192.168.7.9") }
            add("tcp:80", .drop) { $0.synOnly = true }
            add("tcp:1000-2000", .allow)
            add("any", .allow) { $0.source = IPPrefix("8.8.8.8") }
            // A rate far above anything a test run sends: matching it must
            // change no verdict.
            add("udp:53", .limit) { $0.rate = PacketRule.Rate(packetsPerSecond: 100_000_000, burst: 100_000_000) }
            return rules
        }()

        /// Frames per policy, and each 50th also cut at every length (to 400).
        static var frameCount: Int { 100_000 }

        /// Whether this kernel runs `build`: the bounded-loop ones anywhere
        /// from 5.10 (with compare and swap from 5.12), the helpers' from 5.18.
        static func runs(_ build: PacketFilter.Build) -> Bool {
            switch build {
            case .helpers: Kernel.supports(.xdpLoadBytes)
            case .boundedLoops: Kernel.supports(.atomicFetch)
            case .boundedLoopsPlainStore: true
            }
        }

        /// Every build of the filter, each under both policies.
        @Test(arguments: [false, true], PacketFilter.Build.allCases)
        func kernelAndModelAgreeOnHostileFrames(defaultDeny: Bool, build: PacketFilter.Build) throws {
            guard Self.runs(build) else { return }
            // Under emulation, the build this kernel runs (the host runs both).
            guard !TestEnvironment.inKernelLane || build == .preferred else { return }
            let filter = try PacketFilter(build: build)
            try filter.setDefaultPolicy(defaultDeny ? .deny : .allow)
            for rule in Self.ruleSet { try filter.add(rule) }
            let program = try filter.program
            let model = FilterModel(rules: Self.ruleSet, defaultDeny: defaultDeny)

            var gen = HostileFrames(rng: SplitMix64(state: defaultDeny ? 7 : 42))
            var disagreements: [String] = []
            var outcomes: [FilterModel.Outcome: UInt64] = [:]
            var checked = 0
            func check(_ f: [UInt8]) throws {
                let kernel = try program.testRun(packet: f)
                let expected = model.decide(f)
                outcomes[expected, default: 0] += 1
                checked += 1
                if kernel != expected.verdict {
                    disagreements.append("kernel \(kernel == 1 ? "drop" : "pass") model \(expected): " + f.map { String(format: "%02x", $0) }.joined())
                }
            }
            for i in 0..<Self.frameCount {
                let f = gen.frame()
                try check(f)
                if i % 50 == 0 { for n in 14..<min(f.count, 400) { try check(Array(f.prefix(n))) } }
                if disagreements.count >= 10 { break }
            }
            #expect(disagreements.isEmpty, "\(disagreements.count) frames decided differently, in hex:\n\(disagreements.joined(separator: "\n"))")
            #expect(checked >= Self.frameCount)
            // The kernel counted each outcome as the model did, malformed
            // apart from dropped.
            let t = try filter.totals()
            #expect(t.malformed.packets == outcomes[.malformed] ?? 0 && t.exempt.packets == outcomes[.exempt] ?? 0
                        && t.passed.packets == outcomes[.passed] ?? 0 && t.dropped.packets == outcomes[.dropped] ?? 0,
                    "kernel \(t) model \(outcomes)")
            #expect(t.limited.packets == 0)
            // Every outcome occurs often: the frames reach every branch.
            for o in [FilterModel.Outcome.malformed, .exempt, .passed, .dropped] {
                #expect((outcomes[o] ?? 0) > 2_000, "\(o): \(outcomes)")
            }
        }

        /// The two packets a review found getting past the filter, and the
        /// chain bound itself, decided by the kernel as docs/tools/pktfilter.md says.
        @Test(arguments: PacketFilter.Build.allCases)
        func craftedPacketsThatOnceGotThroughAreDropped(build: PacketFilter.Build) throws {
            guard Self.runs(build) else { return }
            let filter = try PacketFilter(build: build)
            try filter.add(PacketRule("tcp:22", action: .drop))
            let program = try filter.program
            var gen = HostileFrames(rng: SplitMix64(state: 1))
            let eth: [UInt8] = [UInt8](repeating: 2, count: 6) + [UInt8](repeating: 4, count: 6)
            func ipv6Syn(destinationOptions n: Int) -> [UInt8] {
                var h = [UInt8](repeating: 0, count: 40)
                h[0] = 0x60; h[7] = 64; h[6] = n == 0 ? 6 : 60
                h.replaceSubrange(8..<24, with: gen.v6[0]); h.replaceSubrange(24..<40, with: gen.v6[2])
                var payload: [UInt8] = []
                for i in 0..<n { payload += [i == n - 1 ? 6 : 60, 0, 0, 0, 0, 0, 0, 0] }
                var tcp = [UInt8](repeating: 0, count: 20)
                tcp[0] = 0xC0; tcp[1] = 0x01; tcp[3] = 22; tcp[12] = 0x50; tcp[13] = 0x02
                payload += tcp
                h.replaceSubrange(4..<6, with: HostileFrames.be16(payload.count))
                return eth + [0x86, 0xDD] + h + payload
            }
            // A SYN to port 22 behind 7 Destination Options headers: read
            // to the TCP header and dropped by the rule.
            #expect(try program.testRun(packet: ipv6Syn(destinationOptions: 7)) == 1)
            #expect(try filter.counter(rule: 0).packets == 1)
            // Behind as many as the walk reads, the same; one more is malformed.
            #expect(try program.testRun(packet: ipv6Syn(destinationOptions: Int(PKTF_MAX_EXT_HEADERS))) == 1)
            #expect(try filter.counter(rule: 0).packets == 2)
            #expect(try program.testRun(packet: ipv6Syn(destinationOptions: Int(PKTF_MAX_EXT_HEADERS) + 1)) == 1)
            #expect(try filter.totals().malformed.packets == 1)
            #expect(try filter.counter(rule: 0).packets == 2)
            // Protocol 58 over IPv4 with a neighbour-solicitation byte is not
            // exempt: under deny by default it is dropped.
            try filter.setDefaultPolicy(.deny)
            let before = try filter.totals()
            #expect(try program.testRun(packet: eth + gen.ipv4Protocol58()) == 1)
            let after = try filter.totals()
            #expect(after.exempt.packets == 0 && after.dropped.packets == before.dropped.packets + 1)
        }
    }
}
