// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Dispatch
import Foundation
import Glibc
import SystemPackage
import ToolSupport

@main
struct PacketFilterCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "pktfilter",
        abstract: "Drop or allow packets arriving on an interface with XDP; rules change while it runs.",
        discussion: """
        Rules match a protocol (icmp, tcp, udp, any), destination ports or a port range \
        (tcp:22, udp:1000-2000), an ICMP type (icmp:8), and source or destination \
        addresses or networks, IPv4 or IPv6. Deny wins: a packet matching any drop rule is \
        dropped; otherwise one matching an allow rule passes; otherwise the default policy \
        decides. ARP and IPv6 neighbour discovery always pass. Packets with truncated or \
        invalid IP/TCP/UDP/ICMP headers are dropped and counted as malformed.

        'run' filters until Ctrl-C or SIGTERM; the kernel detaches the filter when the \
        process ends in any way, SIGKILL included. 'attach --persist' pins it so it \
        outlives the process, until 'detach'. The other commands find the filter through \
        the kernel (the interface's XDP program and its maps), so they work from any \
        shell of the same network namespace: 'ip netns exec', 'nsenter --net' or a container.

        Examples:
          pktfilter run veth0 --drop icmp --drop tcp:22
          pktfilter drop tcp --dport 22 --src 10.0.0.0/8 -i veth0
          pktfilter list -i veth0
        """,
        subcommands: [Run.self, Attach.self, Detach.self, Drop.self, Allow.self, Delete.self, List.self, Stats.self, Policy.self]
    )
}

// MARK: Shared

func validateInterface(_ name: String) throws {
    guard if_nametoindex(name) != 0 else { throw ValidationError("no network interface '\(name)'") }
}

/// The interface named with -i, or the only one with a filter running.
func resolveInterface(_ given: String?) throws -> String {
    if let given {
        try validateInterface(given)
        return given
    }
    let running = PacketFilter.attachedInterfaces()
    switch running.count {
    case 1: return running[0]
    case 0: throw ValidationError("no filter is running in this network namespace; start one with 'pktfilter run IFACE'")
    default: throw ValidationError("filters run on \(running.joined(separator: ", ")): name one with -i")
    }
}

extension PacketFilter.Policy: ExpressibleByArgument {}
extension XDPMode: ExpressibleByArgument {}

/// The filter attached to `interface`, found through the kernel.
func runningFilter(_ interface: String) throws -> PacketFilter {
    guard let filter = try PacketFilter.attached(to: interface) else {
        throw BPFError(.notFound, "no filter on \(interface): start one with 'pktfilter run \(interface)' or 'pktfilter attach \(interface) --persist'")
    }
    return filter
}

/// A new filter with its policy and rules, not yet attached.
func newFilter(policy: PacketFilter.Policy, rules: [PacketRule]) throws -> PacketFilter {
    let filter = try PacketFilter()
    try filter.setDefaultPolicy(policy)
    for rule in rules { try filter.add(rule) }
    return filter
}

/// `-i IFACE`, defaulting to the only interface with a filter running.
struct InterfaceOption: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: "The interface (default: the only one with a filter running).")
    var interface: String?

    func validate() throws { _ = try resolved() }
    func resolved() throws -> String { try resolveInterface(interface) }
}

struct RuleOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("icmp, icmp:TYPE, tcp, tcp:PORT, udp:LOW-HIGH or any.", valueName: "spec"))
    var spec: String

    @OptionGroup var target: InterfaceOption

    @Option(name: .long, help: ArgumentHelp("Source address or network (10.0.0.0/8, fe80::/10).", valueName: "cidr"))
    var src: String?

    @Option(name: .long, help: ArgumentHelp("Destination address or network.", valueName: "cidr"))
    var dst: String?

    @Option(name: .long, help: ArgumentHelp("Source port or range.", valueName: "port"))
    var sport: String?

    @Option(name: .long, help: ArgumentHelp("Destination port or range.", valueName: "port"))
    var dport: String?

    @Option(name: .customLong("icmp-type"), help: ArgumentHelp("ICMP or ICMPv6 type (8: echo request).", valueName: "type"))
    var icmpType: UInt8?

    func rule(_ action: PacketRule.Action) throws -> PacketRule {
        do {
            var r = try PacketRule(spec, action: action)
            if let src { r.source = try prefix(src) }
            if let dst { r.destination = try prefix(dst) }
            if let f1 = r.source?.family, let f2 = r.destination?.family, f1 != f2 {
                throw ValidationError("--src and --dst must be the same address family")
            }
            if let sport { r.sourcePorts = try PacketRule.ports(sport) }
            if let dport { r.destinationPorts = try PacketRule.ports(dport) }
            if (r.sourcePorts != nil || r.destinationPorts != nil) && r.proto != .tcp && r.proto != .udp {
                throw ValidationError("ports need tcp or udp")
            }
            if let icmpType {
                guard r.proto == .icmp else { throw ValidationError("--icmp-type needs icmp") }
                r.icmpType = icmpType
            }
            return r
        } catch let e as RuleSyntaxError {
            throw ValidationError(e.description)
        }
    }

    func prefix(_ text: String) throws -> IPPrefix {
        guard let p = IPPrefix(text) else { throw ValidationError("bad address or CIDR '\(text)'") }
        return p
    }

    func validate() throws { _ = try rule(.drop) }

    /// Adds the rule to the running filter and says which id it got.
    func add(_ action: PacketRule.Action) throws {
        try Kernel.requirePrivileges()
        let rule = try rule(action)
        let id = try runningFilter(try target.resolved()).add(rule)
        print("rule \(id): \(rule)")
    }
}

func printRules(_ filter: PacketFilter) throws {
    let rules = try filter.rules()
    print("ID  RULE                                              PACKETS      BYTES  LAST HIT")
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let nowNs = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    for (id, rule) in rules {
        let c = try filter.counter(rule: id)
        let last = c.lastHit == 0 ? "never" : String(format: "%.1fs ago", Double(nowNs - min(nowNs, c.lastHit)) / 1e9)
        let text = rule.description.padding(toLength: max(48, rule.description.count), withPad: " ", startingAt: 0)
        print("\(String(id).padding(toLength: 3, withPad: " ", startingAt: 0)) \(text) " + String(format: "%8llu %10llu  ", c.packets, c.bytes) + last)
    }
    if rules.isEmpty { print("(no rules)") }
}

func printTotals(_ filter: PacketFilter) throws {
    let t = try filter.totals()
    print(String(format: "default %@; passed %llu, dropped %llu, malformed %llu (dropped), ARP/ND %llu (passed)",
                 try filter.defaultPolicy.rawValue, t.passed.packets, t.dropped.packets, t.malformed.packets, t.exempt.packets))
}

// MARK: Commands

extension PacketFilterCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Filter IFACE in the foreground until Ctrl-C or SIGTERM.")

        @Argument(help: "The interface to filter (packets arriving on it).")
        var interface: String

        @Option(name: .long, help: ArgumentHelp("Drop packets matching SPEC (repeatable).", valueName: "spec"))
        var drop: [String] = []

        @Option(name: .long, help: ArgumentHelp("Allow packets matching SPEC (repeatable).", valueName: "spec"))
        var allow: [String] = []

        @Option(name: .long, help: "Policy for packets no rule matches.")
        var `default`: PacketFilter.Policy = .allow

        @Option(name: .long, help: "native (in the driver) or generic (skb) XDP; no fallback.")
        var mode: XDPMode = .native

        @Flag(name: .long, help: "Print the rules and counters every second.")
        var watch = false

        @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
        var duration: Double?

        var rules: [PacketRule] {
            get throws {
                do {
                    return try drop.map { s throws(RuleSyntaxError) in try PacketRule(s, action: .drop) }
                        + allow.map { s throws(RuleSyntaxError) in try PacketRule(s, action: .allow) }
                } catch { throw ValidationError(error.description) }
            }
        }

        func validate() throws {
            try validateInterface(interface)
            _ = try rules
            if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        }

        func run() throws {
            try Kernel.requirePrivileges()
            StopWaiter.takeSignals()
            let filter = try newFilter(policy: self.default, rules: try rules)
            let link = try filter.attach(interface: interface, mode: mode)
            FileHandle.standardError.write(Data("Filtering \(interface) (XDP \(mode), default \(self.default)). Hit Ctrl-C to end.\n".utf8))
            try printRules(filter)
            let queue = DispatchQueue(label: "pktfilter.watch")
            let timers = watch ? [StopWaiter.Timer(queue: queue, interval: 1) { [filter] in
                print("")
                try? printRules(filter)
                try? printTotals(filter)
                fflush(nil)  // all streams: stdout itself is not Sendable
            }] : []
            fflush(nil)  // all streams: stdout itself is not Sendable
            StopWaiter.wait(duration: duration, timers: timers)
            link.detach()
            queue.sync {}
            let t = try filter.totals()
            FileHandle.standardError.write(Data(String(format: "\npktfilter: detached from %@; passed %llu, dropped %llu, malformed %llu\n",
                                                       interface, t.passed.packets, t.dropped.packets, t.malformed.packets).utf8))
        }
    }

    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attach a filter that outlives this process (--persist).")

        @Argument(help: "The interface to filter.")
        var interface: String

        @Flag(name: .long, help: "Pin the filter so it stays after the command exits (required).")
        var persist = false

        @Option(name: .long, help: "Policy for packets no rule matches.")
        var `default`: PacketFilter.Policy = .allow

        @Option(name: .long, help: "native or generic XDP.")
        var mode: XDPMode = .native

        func validate() throws {
            try validateInterface(interface)
            guard persist else { throw ValidationError("attach needs --persist (use 'run' to filter in the foreground)") }
        }

        func run() throws {
            try Kernel.requirePrivileges()
            let filter = try newFilter(policy: self.default, rules: [])
            try filter.attachPersistent(interface: interface, mode: mode)
            print("pktfilter: attached to \(interface) (XDP \(mode), program \(filter.programID)) until 'pktfilter detach \(interface)'")
        }
    }

    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a persistent filter.")

        @Argument(help: "The interface.")
        var interface: String

        func run() throws {
            try Kernel.requirePrivileges()
            try PacketFilter.detachPersistent(interface: interface)
            print("pktfilter: detached from \(interface)")
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a drop rule to a running filter.")
        @OptionGroup var options: RuleOptions
        func run() throws { try options.add(.drop) }
    }

    struct Allow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an allow rule to a running filter.")
        @OptionGroup var options: RuleOptions
        func run() throws { try options.add(.allow) }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule by id.")

        @Argument(help: "The rule id, as 'list' shows it.")
        var id: Int

        @OptionGroup var target: InterfaceOption

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            let removed = try runningFilter(interface).remove(id)
            guard removed else { throw BPFError(.notFound, "no rule \(id) on \(interface)") }
            print("rule \(id) removed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the rules with live counters.")

        @OptionGroup var target: InterfaceOption

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            let filter = try runningFilter(interface)
            try printRules(filter)
            try printTotals(filter)
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show totals: passed, dropped, malformed.")

        @OptionGroup var target: InterfaceOption

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            try printTotals(try runningFilter(interface))
        }
    }

    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change the default policy of a running filter.")

        @Argument(help: "allow or deny.")
        var policy: PacketFilter.Policy

        @OptionGroup var target: InterfaceOption

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            try runningFilter(interface).setDefaultPolicy(policy)
            print("default policy on \(interface): \(policy)")
        }
    }
}
