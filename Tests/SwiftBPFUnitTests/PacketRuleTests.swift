// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Foundation
import TestSupport
import Testing

@Suite struct PacketRules {
    @Test func shortFormsParse() throws {
        let icmp = try PacketRule("icmp", action: .drop)
        #expect(icmp.proto == .icmp && icmp.icmpType == nil && icmp.description == "drop icmp")
        #expect(try PacketRule("icmp:8", action: .drop).icmpType == 8)
        #expect(try PacketRule("tcp:22", action: .drop).destinationPorts == 22...22)
        #expect(try PacketRule("udp:1000-2000", action: .allow).description == "allow udp dport 1000-2000")
        for bad in ["gre", "tcp:0", "tcp:99999", "tcp:9-3", "icmp:300", "any:5", "tcp:x"] {
            #expect(throws: RuleSyntaxError.self, "\(bad)") { try PacketRule(bad, action: .drop) }
        }
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
