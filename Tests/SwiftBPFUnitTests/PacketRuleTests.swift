// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Foundation
import TestSupport
import Testing
@testable import Enforcers

@Suite struct PacketRules {
    @Test func shortFormsParse() throws {
        let icmp = try PacketRule("icmp", action: .drop)
        #expect(icmp.proto == .icmp && icmp.icmpType == nil && icmp.description == "drop icmp")
        #expect(try PacketRule("icmp:8", action: .drop).icmpType == 8)
        #expect(try PacketRule("tcp:22", action: .drop).destinationPorts == 22...22)
        #expect(try PacketRule("udp:1000-2000", action: .allow).description == "allow udp dport 1000-2000")
        for bad in ["gre", "tcp:0", "tcp:99999", "tcp:9-3", "icmp:300", "any:5", "tcp:x",
                    // Strict: what a separator announces must be there; plain digits only.
                    "tcp:", "tcp:22-", "tcp:-22", "udp:1000-", "icmp:", "tcp:+22", "tcp: 22", "tcp:22-+30", "tcp::22", "icmp:-1"] {
            #expect(throws: RuleSyntaxError.self, "\(bad)") { try PacketRule(bad, action: .drop) }
        }
        for bad in ["22-", "-22", "", "0", "65536", "1-2-3", "+5"] {
            #expect(throws: RuleSyntaxError.self, "\(bad)") { try PacketRule.ports(bad) }
        }
        #expect(try PacketRule.ports("1-65535") == 1...65535)
    }

    @Test func prefixesAreStrict() {
        for bad in ["10.0.0.1/", "10.0.0.0/33", "10.0.0.0/+8", "10.0.0.0/ 8", "/8", "::/129", "fe80::/", "10.0.0.0/8/8", "10.0.0.0/-1"] {
            #expect(IPPrefix(bad) == nil, "\(bad)")
        }
        #expect(IPPrefix("10.0.0.0/0")?.length == 0 && IPPrefix("::/128")?.length == 128)
    }

    @Test func flowsMatchAsTheKernelDecides() throws {
        var ssh = PacketRule(action: .allow, proto: .tcp, destinationPorts: 22...22)
        ssh.source = IPPrefix("10.0.0.0/8")
        let flow = PacketRule.Flow(family: 4, proto: 6, source: [10, 1, 2, 3], destination: [10, 0, 0, 2], sourcePort: 40000, destinationPort: 22)
        #expect(ssh.matches(flow))
        #expect(!ssh.matches(PacketRule.Flow(family: 4, proto: 6, source: [192, 168, 0, 1], destination: [10, 0, 0, 2], sourcePort: 40000, destinationPort: 22)))
        #expect(PacketFilter.passes(flow, rules: [], policy: .allow) && !PacketFilter.passes(flow, rules: [], policy: .deny))
        #expect(PacketFilter.passes(flow, rules: [ssh], policy: .deny))
        #expect(!PacketFilter.passes(flow, rules: [ssh, try PacketRule("tcp", action: .drop)], policy: .deny), "deny wins")
        // icmp is ICMP over IPv4 and ICMPv6 over IPv6, not the other way round.
        let icmp = try PacketRule("icmp", action: .drop)
        #expect(icmp.matches(PacketRule.Flow(family: 6, proto: 58, source: [UInt8](repeating: 0, count: 16), destination: [UInt8](repeating: 0, count: 16))))
        #expect(!icmp.matches(PacketRule.Flow(family: 4, proto: 58, source: [1, 2, 3, 4], destination: [1, 2, 3, 4])))
        #expect(!icmp.matches(PacketRule.Flow(family: 6, proto: 1, source: [UInt8](repeating: 0, count: 16), destination: [UInt8](repeating: 0, count: 16))))
        var syn = try PacketRule("tcp:80", action: .limit)
        syn.synOnly = true
        syn.rate = PacketRule.Rate(packetsPerSecond: 100, perSource: true)
        #expect(syn.description == "limit tcp dport 80 syn 100/s burst 10 per source")
        #expect(PacketRule(raw: syn.raw)?.description == syn.description)
        #expect(PacketRule(raw: syn.raw)?.rate == syn.rate)
    }

    @Test func prefixesMaskAndPrint() throws {
        let p = try #require(IPPrefix("10.1.2.3/8"))
        #expect(p.family == 4 && p.length == 8 && p.description == "10.1.2.3/8")
        #expect(p.words.mask[0] == UInt32(0xFF000000).bigEndian)
        #expect(p.words.address[0] == UInt32(0x0A000000).bigEndian)
        let v6 = try #require(IPPrefix("fe80::1/10"))
        #expect(v6.family == 6 && v6.words.mask[0] == UInt32(0xFFC00000).bigEndian && v6.words.mask[1] == 0)
        #expect(IPPrefix("10.0.0.300") == nil && IPPrefix("10.0.0.0/33") == nil && IPPrefix("::/129") == nil)
    }

    @Test func rulesRoundTripThroughTheKernelLayout() throws {
        var r = try PacketRule("tcp:22", action: .drop)
        r.source = IPPrefix("10.0.0.0/8")
        r.sourcePorts = 1024...65535
        let back = try #require(PacketRule(raw: r.raw))
        #expect(back.description == r.description)
        #expect(back.description == "drop tcp from 10.0.0.0/8 sport 1024-65535 dport 22")
        let v6 = PacketRule(action: .allow, proto: .udp, destination: IPPrefix("2001:db8::/32"))
        #expect(PacketRule(raw: v6.raw)?.description == "allow udp to 2001:db8::/32")
    }
}
