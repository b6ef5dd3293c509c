// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes

/// A rule written the short way on pktfilter's command line was not valid.
struct RuleSyntaxError: Error, CustomStringConvertible {
    let description: String
}

/// pktfilter's short forms for rules; the library takes `PacketRule`s.
extension PacketRule {
    /// Parses the short form: "icmp", "icmp:8" (type), "tcp", "tcp:22",
    /// "udp:1000-2000" (destination ports), "any".
    init(_ spec: String, action: Action) throws(RuleSyntaxError) {
        let parts = spec.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, let proto = ["any": Proto.any, "icmp": .icmp, "tcp": .tcp, "udp": .udp][name] else {
            throw RuleSyntaxError(description: "unknown protocol '\(parts.first ?? spec)' (use icmp, tcp, udp or any)")
        }
        self.init(action: action, proto: proto)
        guard parts.count == 2 else { return }
        switch proto {
        case .icmp:
            guard let t = UInt8(parts[1]) else { throw RuleSyntaxError(description: "bad ICMP type '\(parts[1])' (0-255)") }
            icmpType = t
        case .tcp, .udp:
            destinationPorts = try Self.ports(parts[1])
        case .any:
            throw RuleSyntaxError(description: "'any' takes no port or type")
        }
    }

    /// "22" or "1000-2000".
    static func ports(_ text: String) throws(RuleSyntaxError) -> ClosedRange<UInt16> {
        let ends = text.split(separator: "-", maxSplits: 1).map { UInt16($0) }
        guard let lo = ends.first ?? nil, let hi = ends.last ?? nil, lo <= hi, (ends.count == 1 ? lo > 0 : true) else {
            throw RuleSyntaxError(description: "bad port '\(text)' (1-65535, or a range like 1000-2000)")
        }
        return lo...hi
    }
}
