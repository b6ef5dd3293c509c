// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import Glibc
import NetworkSupport
import Symbols
import ToolSupport

/// One hop, copied out of its record (records live only in the handler).
struct Hop {
    var point: Point
    var after: Bool
    var time: UInt64
    var family: UInt16
    var proto: UInt8
    var saddr: [UInt8], daddr: [UInt8]
    var sport: UInt16, dport: UInt16
    var netns: UInt32, ifindex: UInt32
    /// The device's name, and the reader's command name, as the kernel
    /// gave them: a workload chooses both.
    var ifnameBytes: [UInt8]
    var commBytes: [UInt8]
    var conntrack: UInt8?, nat: UInt8
    var replySource: [UInt8], replyDestination: [UInt8]
    var replySport: UInt16, replyDport: UInt16
    var table: UInt32, outIfindex: UInt32
    /// A route's next hop (IPv4's or IPv6's bytes), nil for none.
    var gateway: [UInt8]?
    var reason: UInt32, location: UInt64
    var tcpFlags: UInt8
    var pid: UInt32
    var skb: UInt64, journey: UInt64

    enum Point: UInt8 {
        case rx = 0, prerouting, input, forward, output, postrouting, route, tx, drop, deliver, free, ipvs

        var isNetfilter: Bool { (1...5).contains(rawValue) }
        var name: String { ["rx", "prerouting", "input", "forward", "output", "postrouting", "route", "tx", "drop", "deliver", "free", "ipvs"][Int(rawValue)] }
    }

    init(_ h: JourneyHop) {
        point = Point(rawValue: h.point) ?? .free
        after = h.side == UInt8(JOURNEY_AFTER.rawValue)
        time = h.timestamp
        family = h.flow.family
        proto = h.flow.protocol
        let length = Int32(h.flow.family) == AF_INET6 ? 16 : 4
        saddr = withUnsafeBytes(of: h.flow.saddr) { Array($0.prefix(length)) }
        daddr = withUnsafeBytes(of: h.flow.daddr) { Array($0.prefix(length)) }
        sport = h.flow.sport
        dport = h.flow.dport
        netns = h.flow.netns
        ifindex = h.flow.ifindex
        ifnameBytes = Array(h.ifname)
        conntrack = h.ctInfo == UInt8(JOURNEY_CT_NONE.rawValue) ? nil : h.ctInfo
        nat = h.nat
        replySource = Array(h.replySrc.prefix(length))
        replyDestination = Array(h.replyDst.prefix(length))
        replySport = h.replySport
        replyDport = h.replyDport
        table = h.table
        if h.flow.family == UInt16(AF_INET6) {
            let g = Array(h.gateway6)
            gateway = g.allSatisfy { $0 == 0 } ? nil : g
        } else {
            gateway = h.gateway == 0 ? nil : withUnsafeBytes(of: h.gateway) { Array($0) }
        }
        outIfindex = h.outIfindex
        reason = h.reason
        location = h.location
        tcpFlags = h.tcpFlags
        pid = h.pid
        commBytes = Array(h.comm)
        skb = h.skb
        journey = h.journey
    }
}

extension Hop {
    /// The names escaped for a line of text (control bytes cannot forge one).
    var ifname: String { TextEscaping.human(ifnameBytes) }
    var comm: String { TextEscaping.human(commBytes) }
}

/// A hop as shown: a netfilter hook's first and last program joined, so
/// it says what happened there.
struct ShownHop {
    var first: Hop
    var last: Hop
}

/// The packets being followed, and what is done with each that ends.
final class Journeys: @unchecked Sendable {
    let session: TraceSession
    let followed: TypedMap<UInt64, journey_entry>
    let format: JourneyFormat
    let summary: Bool
    let quietNanoseconds: UInt64
    private var open: [UInt64: [Hop]] = [:]
    private var paths: [String: Int] = [:]

    init(session: TraceSession, followed: TypedMap<UInt64, journey_entry>, format: JourneyFormat, summary: Bool, quietNanoseconds: UInt64) {
        self.session = session
        self.followed = followed
        self.format = format
        self.summary = summary
        self.quietNanoseconds = quietNanoseconds
    }

    /// On the session's queue.
    func add(_ hop: Hop) {
        open[hop.journey, default: []].append(hop)
        if hop.point == .drop || hop.point == .free { finish(hop.journey) }
    }

    /// The journeys with no hop for a while: ended without a free the
    /// tracepoints see (a TCP segment's); the kernel forgets their skb.
    func finishQuiet() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ns = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        for (id, hops) in open where ns > (hops.last?.time ?? 0) + quietNanoseconds {
            finish(id)
        }
        session.output.flush()
    }

    func finishAll() {
        for id in open.keys.sorted() { finish(id) }
        if summary { format.summary(paths, to: session) }
        session.output.flush()
    }

    private func finish(_ id: UInt64) {
        guard let hops = open.removeValue(forKey: id), let first = hops.first else { return }
        // The kernel forgets a packet that ended unseen, unless its skb
        // already carries another journey.
        for skb in Set(hops.map(\.skb)) where hops.last?.point != .drop && hops.last?.point != .free {
            if (try? followed.lookup(skb))?.number == id { _ = try? followed.delete(skb) }
        }
        let shown = JourneyFormat.join(hops.sorted { $0.time < $1.time })
        if summary {
            paths[format.path(shown), default: 0] += 1
        } else if session.options.json {
            format.json(first: first, shown, session: session)
        } else {
            format.text(first: first, shown, session: session)
        }
    }
}

/// How journeys read: a line for the packet, a line of its hops; JSON.
struct JourneyFormat {
    let reasons: DropReasons
    let kernel: Symbolizer

    /// Consecutive netfilter hops at one hook of one namespace become one.
    static func join(_ hops: [Hop]) -> [ShownHop] {
        var out: [ShownHop] = []
        for hop in hops {
            if let previous = out.last, previous.last.point == hop.point, previous.last.netns == hop.netns,
               (hop.point.isNetfilter && (!previous.last.after || hop.after)) || (hop.point == .route && previous.last.ifindex == hop.ifindex) {
                out[out.count - 1].last = hop
            } else {
                out.append(ShownHop(first: hop, last: hop))
            }
        }
        return out
    }

    /// RT_TABLE_LOCAL: the packet is for this host (namespace).
    static let localTable: UInt32 = 255

    static let protocolNames = Dictionary(uniqueKeysWithValues: PktJourney.protocols.map { ($0.value, $0.key) })
    static let states = ["ESTABLISHED", "RELATED", "NEW", "ESTABLISHED reply", "RELATED reply"]

    func endpoint(_ address: [UInt8], _ port: UInt16, _ proto: UInt8) -> String {
        FlowText.endpoint(address, port, ports: proto == 6 || proto == 17)
    }

    static func flags(_ f: UInt8) -> String {
        zip([UInt8(1), 2, 4, 8, 16], ["F", "S", "R", "P", "."]).filter { f & $0.0 != 0 }.map(\.1).joined()
    }

    /// The state and the translation at a netfilter hop: what changed
    /// between the hook's first program and its last.
    func translation(_ h: ShownHop) -> (state: String?, daddr: String?, saddr: String?) {
        let state = h.last.conntrack.map { Int($0) < Self.states.count ? Self.states[Int($0)] : "ct \($0)" }
        let d = h.first.daddr != h.last.daddr || h.first.dport != h.last.dport ? endpoint(h.last.daddr, h.last.dport, h.last.proto) : nil
        let s = h.first.saddr != h.last.saddr || h.first.sport != h.last.sport ? endpoint(h.last.saddr, h.last.sport, h.last.proto) : nil
        return (state, d, s)
    }

    /// One hop as text; a connection's state only where it differs from
    /// the last one shown (`state`).
    func text(_ h: ShownHop, state shown: inout String?) -> String {
        let hop = h.last
        switch hop.point {
        case .rx: return "\(hop.ifname) rx"
        case .tx: return "\(hop.ifname) tx"
        case .route:
            if hop.table == Self.localTable { return "route local" }
            return "route " + (hop.ifname.isEmpty ? "local" : "via \(hop.ifname)") + (hop.gateway.map { " gw \(FlowText.address($0))" } ?? "")
        case .drop: return "drop " + (reasons.explained ? "\(reasons.name(hop.reason)) " : "") + "at \(kernel.kernelPlace(hop.location))"
        case .deliver: return "deliver to \(hop.comm) (\(hop.pid))"
        case .free: return "freed"
        case .ipvs: return "IPVS → " + endpoint(hop.replySource, hop.replySport, hop.proto)
        default:
            var words = hop.point.name.uppercased()
            let t = translation(h)
            var notes: [String] = []
            if let state = t.state, state != shown {
                notes.append("ct " + state)
                shown = state
            }
            let reply = (hop.conntrack ?? 0) >= 3
            if let d = t.daddr { notes.append((reply ? "de-SNAT dst → " : "DNAT → ") + d) }
            if let s = t.saddr { notes.append((reply ? "de-DNAT src → " : "SNAT → ") + s) }
            if !notes.isEmpty { words += " " + notes.joined(separator: ", ") }
            return words
        }
    }

    func text(first: Hop, _ hops: [ShownHop], session: TraceSession) {
        let out = session.output
        session.appendTime(first.time)
        out.append(" \(Self.protocolNames[first.proto] ?? "proto \(first.proto)") \(endpoint(first.saddr, first.sport, first.proto)) > \(endpoint(first.daddr, first.dport, first.proto))")
        if first.proto == 6 { out.append(" [\(Self.flags(first.tcpFlags))]") }
        out.endLine()
        var line = "  "
        var netns: UInt32 = 0
        var state: String?
        for (i, h) in hops.enumerated() where h.last.point != .free || i == hops.count - 1 {
            if i > 0 { line += " → " }
            if h.first.netns != 0 && h.first.netns != netns {
                netns = h.first.netns
                state = nil
                line += "[\(FlowText.netns(netns))] "
            }
            line += text(h, state: &state)
        }
        let micros = Double((hops.last?.last.time ?? first.time) - first.time) / 1000
        line += String(format: "   (%.0f µs)", micros)
        out.append(line)
        out.endLine()
    }

    func verdict(_ hops: [ShownHop]) -> String {
        if hops.contains(where: { $0.last.point == .drop }) { return "dropped" }
        if hops.contains(where: { $0.last.point == .deliver }) { return "delivered" }
        if hops.last?.last.point == .free { return "freed" }
        return "quiet"
    }

    func json(first: Hop, _ hops: [ShownHop], session: TraceSession) {
        var o = JSONObject()
        o.timestamp(first.time, clockOffset: session.clockOffset)
        o.field("proto", Self.protocolNames[first.proto] ?? String(first.proto))
        o.field("saddr", FlowText.address(first.saddr))
        o.field("sport", first.sport)
        o.field("daddr", FlowText.address(first.daddr))
        o.field("dport", first.dport)
        if first.proto == 6 { o.field("tcp_flags", Self.flags(first.tcpFlags)) }
        o.field("verdict", verdict(hops))
        o.field("duration_ns", (hops.last?.last.time ?? first.time) - first.time)
        o.rawArray("hops", hops.map { h in
            var j = JSONObject()
            let hop = h.last
            j.field("point", hop.point.name)
            if hop.ifnameBytes.isEmpty { j.field("dev", nil as String?) } else { j.field("dev", bytes: hop.ifnameBytes) }
            j.field("netns", h.first.netns)
            j.field("netns_name", h.first.netns == 0 ? nil : NetworkNamespaces.name(of: h.first.netns))
            j.field("time_ns", h.first.time)
            if hop.point.isNetfilter {
                let t = translation(h)
                j.field("ct_state", t.state)
                j.field("nat_saddr", t.saddr == nil ? nil : FlowText.address(hop.saddr))
                j.field("nat_sport", t.saddr == nil ? nil : hop.sport)
                j.field("nat_daddr", t.daddr == nil ? nil : FlowText.address(hop.daddr))
                j.field("nat_dport", t.daddr == nil ? nil : hop.dport)
            }
            switch hop.point {
            case .ipvs:
                j.field("nat_daddr", FlowText.address(hop.replySource))
                j.field("nat_dport", hop.replySport)
            case .route:
                j.field("table", hop.table)
                j.field("gateway", hop.gateway.map { FlowText.address($0) })
            case .drop:
                j.field("reason", reasons.explained ? reasons.name(hop.reason) : nil)
                j.field("location", kernel.kernelPlace(hop.location))
            case .deliver:
                j.field("pid", hop.pid)
                j.field("comm", bytes: hop.commBytes)
            default: break
            }
            return j.text
        })
        o.write(to: session.output)
    }

    /// A path: the hops' places, without times or addresses.
    func path(_ hops: [ShownHop]) -> String {
        hops.filter { $0.last.point != .free }.map { h in
            switch h.last.point {
            case .rx, .tx: "\(h.last.ifname) \(h.last.point.name)"
            case .drop: reasons.explained ? "drop \(reasons.name(h.last.reason))" : "drop"
            case .deliver: "deliver"
            case .ipvs: "IPVS"
            case .route: h.last.table == Self.localTable ? "route local" : "route" + (h.last.ifname.isEmpty ? "" : " \(h.last.ifname)")
            default: h.last.point.name.uppercased()
            }
        }.joined(separator: " → ")
    }

    func summary(_ paths: [String: Int], to session: TraceSession) {
        let out = session.output
        if session.options.json {
            for (path, count) in paths.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                var o = JSONObject()
                o.field("path", path)
                o.field("count", count)
                o.write(to: out)
            }
            return
        }
        out.append("COUNT    PATH")
        out.endLine()
        for (path, count) in paths.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            out.append(String(count).padding(toLength: 8, withPad: " ", startingAt: 0) + " " + path)
            out.endLine()
        }
    }
}
