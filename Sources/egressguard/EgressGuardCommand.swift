// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Containers
import Foundation
import SwiftBPF
import ToolSupport
import NetworkSupport
import Enforcers

public let tool = ToolEntry(EgressGuardTool.self)

struct EgressGuardTool: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "egressguard",
        abstract: "Allow a container, pod or cgroup to connect and send only where rules say; report every decision.",
        discussion: """
        An allow-list for one workload's outbound traffic, enforced in the kernel at \
        its cgroup: connect() (TCP, connected UDP) and sendmsg() (unconnected UDP) \
        to a destination no rule allows fail with EPERM in the caller; packets of raw \
        and ICMP sockets to one are dropped. Nothing is allowed that no rule names, \
        loopback included. A deny rule wins over any allow. Each decision is printed \
        (and counted in the kernel). --audit lets everything through and reports \
        would-deny instead. The policy lifts when egressguard stops, SIGKILL included.

        Rules: PROTO[:PORTS][@CIDR], PROTO one of tcp, udp, icmp, any; without \
        @CIDR any address. Rules change while it runs: egressguard allow|deny|list|\
        delete with the same --container, --pod or --cgroup.

        Examples:
          egressguard --container web --allow tcp:443@10.96.0.0/12 --allow udp:53@10.96.0.10
          egressguard --pod api --namespace shop --allow-loopback --allow tcp:5432@10.0.3.7 --audit
          egressguard allow tcp:8080@10.0.0.0/8 --container web
          egressguard list --container web
        """,
        subcommands: [Run.self, Allow.self, Deny.self, List.self, Delete.self],
        defaultSubcommand: Run.self
    )
}

/// The rules given on a command line, in order.
func parseRules(allow: [String], deny: [String], loopback: Bool) throws -> [EgressRule] {
    do {
        var rules = try deny.map { s throws(RuleSyntaxError) in try EgressRule(s, action: .deny) }
        rules += try allow.map { s throws(RuleSyntaxError) in try EgressRule(s, action: .allow) }
        if loopback {
            rules += [EgressRule(action: .allow, proto: .any, destination: IPPrefix("127.0.0.0/8")),
                      EgressRule(action: .allow, proto: .any, destination: IPPrefix("::1/128"))]
        }
        return rules
    } catch {
        throw ValidationError(error.description)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Attach the guard and print its decisions until Ctrl-C (the default).")

    @OptionGroup(title: "Workload")
    var target: GuardTarget

    @Option(name: .long, help: ArgumentHelp("Allow PROTO[:PORTS][@CIDR] (repeatable).", valueName: "spec"))
    var allow: [String] = []

    @Option(name: .long, help: ArgumentHelp("Deny PROTO[:PORTS][@CIDR], whatever allows it (repeatable).", valueName: "spec"))
    var deny: [String] = []

    @Flag(name: .long, help: "Allow loopback: any@127.0.0.0/8 and any@::1/128.")
    var allowLoopback = false

    @OptionGroup(title: "Output")
    var output: GuardOutputOptions

    func validate() throws {
        try target.requireGiven()
        _ = try parseRules(allow: allow, deny: deny, loopback: allowLoopback)
    }

    func run() throws {
        let rules = try parseRules(allow: allow, deny: deny, loopback: allowLoopback)
        let options = try output.traceOptions()
        let session = try TraceSession(tool: "egressguard", options: options)
        let target = try self.target.resolve()
        if let existing = try EgressGuard.attached(toCgroup: target.directory) {
            throw BPFError(.busy, "\(target.description) already has an egressguard (program \(existing.programID)); change its rules with 'egressguard allow|deny|delete'", errno: .resourceBusy)
        }
        let guardian = try EgressGuard(enforce: !output.audit)
        for rule in rules { try guardian.add(rule) }
        guard let probe = guardian.probe else { return }
        let mode = output.audit ? "audit" : "enforcing"
        try session.stream(probe, format: EventTable(EgressFields.all, options: options),
                           what: "egress of \(target.description) (\(mode), \(rules.count) rules)") { _ throws(BPFError) in
            try guardian.attach(cgroup: target.directory)
        }
        let uncounted = try guardian.uncounted()
        session.note("egressguard: \(try guardian.verdictTotals()) (counted in the kernel)"
                     + (uncounted > 0 ? ", \(uncounted) not counted (the count map was full)" : "") + "; policy lifted")
    }
}

/// egressguard's fields, in text and JSON alike.
enum EgressFields {
    static func proto(_ e: EgressEvent) -> String {
        switch e.proto {
        case 6: "tcp"
        case 17: "udp"
        case 1: "icmp"
        case 58: "icmp6"
        default: "\(e.proto)"
        }
    }

    static func destination(_ e: EgressEvent) -> String {
        switch e.hookPoint {
        case .socket: return "IPPROTO_RAW socket"
        case .sockopt:
            let names: [UInt16: String] = e.family == 6 ? [57: "IPV6_RTHDR", 36: "IPV6_HDRINCL", 5: "IPV6_2292RTHDR"] : [3: "IP_HDRINCL", 4: "IP_OPTIONS"]
            return "setsockopt \(names[e.port] ?? "\(e.port)")"
        default: break
        }
        if e.hookPoint == .egress && (e.proto == 6 || e.proto == 17 || e.proto == 43) && e.port == 0 { return FlowText.address(e.destinationBytes) + " (source-routed)" }
        let address = FlowText.address(e.destinationBytes)
        guard e.proto == 6 || e.proto == 17 else { return address }
        return e.family == 6 ? "[\(address)]:\(e.port)" : "\(address):\(e.port)"
    }

    static let all: [Field<EgressEvent>] = [
        .string("verdict", "VERDICT", width: 10) { $0.decision.rawValue },
        .string("hook", "HOOK", width: 8) { $0.hookPoint.rawValue },
        .pid,
        .comm(),
        .string("protocol", "PROTO", width: 5) { proto($0) },
        Field(key: "daddr", heading: "DESTINATION", width: 46,
              text: { e, out, _ in out.append(destination(e)) },
              json: { e, o, _ in
                  o.field("family", e.family == 6 ? "ipv6" : "ipv4")
                  o.field("daddr", FlowText.address(e.destinationBytes))
                  o.field("dport", e.proto == 6 || e.proto == 17 ? e.port : nil)
              }),
        Field(key: "rule", heading: "RULE",
              text: { e, out, _ in out.append(e.ruleID.map { "\($0)" } ?? "-") },
              json: { e, o, _ in o.field("rule", e.ruleID) }),
    ]
}

/// The guard attached to the workload's cgroup, found through the kernel.
func attachedGuard(_ target: GuardTarget) throws -> (EgressGuard, GuardTarget.Resolved) {
    try target.requireGiven()
    try Kernel.requirePrivileges()
    let resolved = try target.resolve()
    guard let found = try EgressGuard.attached(toCgroup: resolved.directory) else {
        throw BPFError(.notFound, "no egressguard is attached to \(resolved.description) (start one with 'egressguard --\(resolved.description.split(separator: " ").first ?? "cgroup") ...')")
    }
    return (found, resolved)
}

struct Allow: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add an allow rule to a running guard.")
    @Argument(help: ArgumentHelp("PROTO[:PORTS][@CIDR]", valueName: "spec")) var spec: String
    @OptionGroup(title: "Workload") var target: GuardTarget

    func run() throws {
        let rule = try parseRules(allow: [spec], deny: [], loopback: false)[0]
        let (found, _) = try attachedGuard(target)
        _ = StandardStreams.out("rule \(try found.add(rule)): \(rule)")
    }
}

struct Deny: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a deny rule (it wins over any allow) to a running guard.")
    @Argument(help: ArgumentHelp("PROTO[:PORTS][@CIDR]", valueName: "spec")) var spec: String
    @OptionGroup(title: "Workload") var target: GuardTarget

    func run() throws {
        let rule = try parseRules(allow: [], deny: [spec], loopback: false)[0]
        let (found, _) = try attachedGuard(target)
        _ = StandardStreams.out("rule \(try found.add(rule)): \(rule)")
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a running guard's rules and its decisions so far.")
    @OptionGroup(title: "Workload") var target: GuardTarget

    func run() throws {
        let (found, resolved) = try attachedGuard(target)
        var lines = ["egressguard on \(resolved.description) (program \(found.programID))", "ID   RULE"]
        lines += try found.rules().map { String($0.id).padding(toLength: 5, withPad: " ", startingAt: 0) + $0.rule.description }
        lines.append("decisions: \(try found.verdictTotals())")
        _ = StandardStreams.out(lines.joined(separator: "\n"))
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a rule, by ID, from a running guard.")
    @Argument(help: "The rule's ID (egressguard list).") var id: Int
    @OptionGroup(title: "Workload") var target: GuardTarget

    func run() throws {
        guard (0..<EgressGuard.maxRules).contains(id) else { throw ValidationError("rule IDs are 0-\(EgressGuard.maxRules - 1)") }
        let (found, _) = try attachedGuard(target)
        try found.delete(id: id)
        _ = StandardStreams.out("rule \(id) removed")
    }
}
