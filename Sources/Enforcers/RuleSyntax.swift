// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import ToolSupport
/// A rule written the short way on pktfilter's command line was not valid.
public struct RuleSyntaxError: Error, CustomStringConvertible {
    public let description: String
}

/// pktfilter's short forms for rules; the library takes `PacketRule`s.
/// Strict: every part that a separator announces must be there ("tcp:",
/// "22-" and "10.0.0.1/" are errors), and numbers are plain decimal digits.
extension PacketRule {
    /// Parses the short form: "icmp" (ICMP and ICMPv6), "icmp:8" (an ICMP
    /// type: IPv4's), "icmp6", "icmp6:128" (an ICMPv6 type), "tcp", "tcp:22",
    /// "udp:1000-2000" (destination ports), "any".
    public init(_ spec: String, action: Action) throws(RuleSyntaxError) {
        let parts = spec.lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let names: [String: (Proto, Int)] = ["any": (.any, 0), "icmp": (.icmp, 0), "icmp6": (.icmp, 6), "icmpv6": (.icmp, 6),
                                             "tcp": (.tcp, 0), "udp": (.udp, 0)]
        guard let name = parts.first, let (proto, family) = names[name] else {
            throw RuleSyntaxError(description: "unknown protocol '\(parts.first ?? spec)' (use icmp, icmp6, tcp, udp or any)")
        }
        self.init(action: action, proto: proto)
        ipFamily = family
        guard parts.count == 2 else { return }
        switch proto {
        case .icmp:
            guard let t = Self.decimal(parts[1], max: 255) else { throw RuleSyntaxError(description: "bad ICMP type '\(parts[1])' in '\(spec)' (0-255)") }
            icmpType = UInt8(t)
            // Types are per protocol: 8 is ICMP's echo request, 128 ICMPv6's.
            if family == 0 { ipFamily = 4 }
        case .tcp, .udp:
            destinationPorts = try Self.ports(parts[1])
        case .any:
            throw RuleSyntaxError(description: "'any' takes no port or type")
        }
    }

    /// "22" or "1000-2000".
    public static func ports(_ text: String) throws(RuleSyntaxError) -> ClosedRange<UInt16> {
        let ends = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { decimal(String($0), max: 65535) }
        guard let lo = ends.first ?? nil, let hi = ends.last ?? nil, lo <= hi, lo > 0 else {
            throw RuleSyntaxError(description: "bad port '\(text)' (1-65535, or a range like 1000-2000)")
        }
        return UInt16(lo)...UInt16(hi)
    }

    /// A number of plain decimal digits (no sign, no spaces) up to `max`.
    static func decimal(_ text: String, max: Int) -> Int? {
        guard !text.isEmpty, text.count <= 6, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text), n <= max else { return nil }
        return n
    }
}
