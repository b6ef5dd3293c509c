// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Dispatch
import Foundation
import Glibc
import SwiftBPF
import SystemPackage
import ToolSupport
import Enforcers

public let tool = ToolEntry(PacketFilterCommand.self)

struct PacketFilterCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "pktfilter",
        abstract: "Drop or allow packets arriving on an interface with XDP; rules change while it runs.",
        discussion: """
        Rules match a protocol (icmp meaning ICMP and ICMPv6, icmp6, tcp, udp, any), \
        destination ports or a port range (tcp:22, udp:1000-2000), an ICMP type (icmp:8, \
        IPv4's echo request; icmp6:128, IPv6's), TCP SYNs (--syn), and source or \
        destination addresses or networks, IPv4 or IPv6. Deny wins: a packet matching any \
        drop rule is dropped; otherwise one over a matching rate limit is dropped; otherwise \
        one matching an allow rule passes; otherwise the default policy decides. ARP and IPv6 \
        neighbour discovery (ICMPv6 133-137, code 0, hop limit 255, unfragmented) always pass, \
        whatever the rules say. A packet whose \
        headers cannot be parsed to the end (truncated, invalid, too many VLAN tags or IPv6 \
        extension headers) is dropped and counted as malformed.

        'run' filters until Ctrl-C or SIGTERM; the kernel detaches the filter when the \
        process ends in any way, SIGKILL included. 'attach --persist' attaches it so that it \
        outlives the process (no pin, no BPF filesystem), until 'detach'. The other commands find the filter through \
        the kernel (the interface's XDP program and its maps), so they work from any \
        shell of the same network namespace: 'ip netns exec', 'nsenter --net' or a container.

        Examples:
          pktfilter run veth0 --drop icmp:8 --drop icmp6:128 --drop tcp:22
          pktfilter drop tcp --dport 22 --src 10.0.0.0/8 -i veth0
          pktfilter limit tcp:80 --syn --pps 100 --per-source -i veth0
          pktfilter list -i veth0
        """,
        subcommands: [Run.self, Attach.self, Detach.self, Drop.self, Allow.self, Limit.self, Delete.self, List.self, Stats.self, Policy.self]
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

/// Says when the kernel runs a bounded-loop build (before Linux 5.18),
/// and when its rate limits have no compare and swap (before 5.12).
func sayBuild(_ filter: PacketFilter) {
    guard let build = filter.build, build != .helpers else { return }
    StandardStreams.error("pktfilter: this kernel runs the filter with \(build)")
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
    @Argument(help: ArgumentHelp("icmp, icmp:TYPE, icmp6, icmp6:TYPE, tcp, tcp:PORT, udp:LOW-HIGH or any.", valueName: "spec"))
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

    @Option(name: .customLong("icmp-type"), help: ArgumentHelp("ICMP type (8: echo request), or with icmp6 an ICMPv6 type (128: echo request).", valueName: "type"))
    var icmpType: UInt8?

    @Flag(name: .long, help: "Only TCP segments that open a connection (SYN set, ACK clear).")
    var syn = false

    @Flag(name: .long, help: "Add it even if it would cut an SSH connection arriving on the interface.")
    var force = false

    func rule(_ action: PacketRule.Action) throws -> PacketRule {
        do {
            var r = try PacketRule(spec, action: action)
            if syn {
                guard r.proto == .tcp else { throw ValidationError("--syn needs tcp") }
                r.synOnly = true
            }
            if let icmpType {
                guard r.proto == .icmp else { throw ValidationError("--icmp-type needs icmp or icmp6") }
                r.icmpType = icmpType
                if r.ipFamily == 0 { r.ipFamily = 4 }
            }
            if let src { r.source = try prefix(src) }
            if let dst { r.destination = try prefix(dst) }
            if let f1 = r.source?.family, let f2 = r.destination?.family, f1 != f2 {
                throw ValidationError("--src and --dst must be the same address family")
            }
            if r.ipFamily != 0, let f = r.source?.family ?? r.destination?.family, f != r.ipFamily {
                throw ValidationError(r.ipFamily == 4 ? "ICMP types are IPv4's: use icmp6:TYPE for ICMPv6 (128 is an echo request)"
                                                      : "icmp6 is IPv6's: the addresses are IPv4")
            }
            if let sport { r.sourcePorts = try PacketRule.ports(sport) }
            if let dport { r.destinationPorts = try PacketRule.ports(dport) }
            if (r.sourcePorts != nil || r.destinationPorts != nil) && r.proto != .tcp && r.proto != .udp {
                throw ValidationError("ports need tcp or udp")
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
    func add(_ action: PacketRule.Action, rate: PacketRule.Rate? = nil) throws {
        try Kernel.requirePrivileges()
        var rule = try rule(action)
        rule.rate = rate
        let interface = try target.resolved()
        let filter = try runningFilter(interface)
        let check = action == .drop ? lockoutCheck(interface: interface, force: force, what: "this rule") : nil
        let id = try filter.add(rule, check: check)
        StandardStreams.out("rule \(id): \(rule)")
    }
}

/// The rules with their counters; false when standard output is closed.
@discardableResult
func printRules(_ filter: PacketFilter) throws -> Bool {
    let rules = try filter.rules()
    var text = "ID  RULE                                              PACKETS      BYTES  LAST HIT\n"
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let nowNs = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    for (id, rule) in rules {
        let c = try filter.counter(rule: id)
        let last = c.lastHit == 0 ? "never" : String(format: "%.1fs ago", Double(nowNs - min(nowNs, c.lastHit)) / 1e9)
        let description = rule.description.padding(toLength: max(48, rule.description.count), withPad: " ", startingAt: 0)
        text += "\(String(id).padding(toLength: 3, withPad: " ", startingAt: 0)) \(description) " + String(format: "%8llu %10llu  ", c.packets, c.bytes) + last + "\n"
    }
    if rules.isEmpty { text += "(no rules)\n" }
    return StandardStreams.write(text, to: STDOUT_FILENO)
}

/// The totals line; false when standard output is closed.
@discardableResult
func printTotals(_ filter: PacketFilter) throws -> Bool {
    let t = try filter.totals()
    return StandardStreams.out(String(format: "default %@; passed %llu, dropped %llu, limited %llu (dropped), malformed %llu (dropped), ARP/ND %llu (passed)",
                                      try filter.defaultPolicy.rawValue, t.passed.packets, t.dropped.packets, t.limited.packets,
                                      t.malformed.packets, t.exempt.packets))
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

        @Flag(name: .long, help: "Start even if the rules would cut an SSH connection arriving on IFACE.")
        var force = false

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
            let rules = try rules
            try lockoutCheck(interface: interface, force: force, what: "this filter")(rules, self.default)
            let filter = try newFilter(policy: self.default, rules: rules)
            let link = try filter.attach(interface: interface, mode: mode)
            sayBuild(filter)
            StandardStreams.error("Filtering \(interface) (XDP \(mode), default \(self.default)). Hit Ctrl-C to end.")
            // A reader that goes away (`| head`) ends the run like Ctrl-C:
            // noticed by the wait at once, or here at a write.
            let closed = ManagedFlag()
            if try !printRules(filter) { closed.set(); StopWaiter.requestStop() }
            let queue = DispatchQueue(label: "pktfilter.watch")
            let timers = watch ? [StopWaiter.Timer(queue: queue, interval: 1) { [filter] in
                guard !closed.isSet else { return }
                let written = StandardStreams.write("\n", to: STDOUT_FILENO) && ((try? printRules(filter)) ?? false) && ((try? printTotals(filter)) ?? false)
                if !written { closed.set(); StopWaiter.requestStop() }
            }] : []
            StopWaiter.wait(duration: duration, timers: timers)
            link.detach()
            queue.sync {}
            let t = try filter.totals()
            StandardStreams.error(String(format: "\npktfilter: %@detached from %@; passed %llu, dropped %llu, limited %llu, malformed %llu",
                                         closed.isSet || StandardStreams.isClosed ? "output closed; " : "", interface, t.passed.packets, t.dropped.packets,
                                         t.limited.packets, t.malformed.packets))
        }
    }

    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attach a filter that outlives this process (--persist).")

        @Argument(help: "The interface to filter.")
        var interface: String

        @Flag(name: .long, help: "Keep the filter attached after the command exits (required).")
        var persist = false

        @Option(name: .long, help: "Policy for packets no rule matches.")
        var `default`: PacketFilter.Policy = .allow

        @Option(name: .long, help: "native or generic XDP.")
        var mode: XDPMode = .native

        @Flag(name: .long, help: "Attach even if it would cut an SSH connection arriving on IFACE.")
        var force = false

        func validate() throws {
            try validateInterface(interface)
            guard persist else { throw ValidationError("attach needs --persist (use 'run' to filter in the foreground)") }
        }

        func run() throws {
            try Kernel.requirePrivileges()
            // Nothing can be allowed yet: with deny, an SSH session through
            // IFACE would be cut, and the filter stays when you are gone.
            try lockoutCheck(interface: interface, force: force, what: "attaching with --default deny")([], self.default)
            let filter = try newFilter(policy: self.default, rules: [])
            sayBuild(filter)
            try filter.attachPersistent(interface: interface, mode: mode)
            StandardStreams.out("pktfilter: attached to \(interface) (XDP \(mode), program \(filter.programID)) until 'pktfilter detach \(interface)'")
        }
    }

    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a persistent filter.")

        @Argument(help: "The interface.")
        var interface: String

        func run() throws {
            try Kernel.requirePrivileges()
            try PacketFilter.detachPersistent(interface: interface)
            StandardStreams.out("pktfilter: detached from \(interface)")
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

    struct Limit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rate limit to a running filter: matching packets beyond the rate are dropped.",
            discussion: """
            A packet within the rate is not passed by the limit: it goes on to the allow rules \
            and the default policy. With --per-source every source address has its own budget; \
            up to \(PacketFilter.limitSources) sources are followed at a time, and beyond that the \
            least recently seen starts afresh.

            Examples:
              pktfilter limit tcp:80 --syn --pps 100 --per-source -i eth0
              pktfilter limit any --src 10.0.0.0/8 --pps 5000 -i eth0
            """)

        @OptionGroup var options: RuleOptions

        @Option(name: .long, help: ArgumentHelp("Packets a second (1-100000000).", valueName: "n"))
        var pps: UInt32

        @Option(name: .long, help: ArgumentHelp("Packets let through at once (default: a tenth of a second's worth, at least 1).", valueName: "n"))
        var burst: UInt32?

        @Flag(name: .customLong("per-source"), help: "A budget for each source address.")
        var perSource = false

        var rate: PacketRule.Rate { PacketRule.Rate(packetsPerSecond: pps, burst: burst, perSource: perSource) }

        func validate() throws {
            guard (1...100_000_000).contains(pps) else { throw ValidationError("--pps must be 1-100000000") }
            if let burst, !(1...100_000_000).contains(burst) { throw ValidationError("--burst must be 1-100000000") }
        }

        func run() throws { try options.add(.limit, rate: rate) }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule by id.")

        @Argument(help: "The rule id, as 'list' shows it.")
        var id: Int

        @OptionGroup var target: InterfaceOption

        @Flag(name: .long, help: "Delete it even if that would cut an SSH connection arriving on the interface.")
        var force = false

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            let filter = try runningFilter(interface)
            let removed = try filter.remove(id, check: lockoutCheck(interface: interface, force: force, what: "deleting rule \(id)"))
            guard removed else { throw BPFError(.notFound, "no rule \(id) on \(interface)") }
            StandardStreams.out("rule \(id) removed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the rules with live counters.")

        @OptionGroup var target: InterfaceOption

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            let filter = try runningFilter(interface)
            // A reader that went away (`| head -1`) is not an error.
            if try printRules(filter) { try printTotals(filter) }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show totals: passed, dropped, limited, malformed.")

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

        @Flag(name: .long, help: "Change it even if that would cut an SSH connection arriving on the interface.")
        var force = false

        func run() throws {
            try Kernel.requirePrivileges()
            let interface = try target.resolved()
            let filter = try runningFilter(interface)
            try filter.setDefaultPolicy(policy, check: lockoutCheck(interface: interface, force: force, what: "default \(policy)"))
            StandardStreams.out("default policy on \(interface): \(policy)")
        }
    }
}

/// A flag set once, read from any queue.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
