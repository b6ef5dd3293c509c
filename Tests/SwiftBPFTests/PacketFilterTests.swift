// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Enforcers
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// Two hosts made by the test: network namespaces joined by a veth pair,
/// addresses only inside them. The filter runs on the target's interface.
final class TestNetwork {
    let client: String, target: String, clientIf: String, targetIf: String
    let clientAddress = "10.77.0.1", targetAddress = "10.77.0.2"
    let clientAddress6 = "fd77::1", targetAddress6 = "fd77::2"

    init() throws {
        let tag = String(getpid() % 100_000)
        client = "swbpf-c\(tag)"; target = "swbpf-t\(tag)"
        clientIf = "swc\(tag)"; targetIf = "swt\(tag)"
        try Self.ip("netns", "add", client)
        try Self.ip("netns", "add", target)
        try Self.ip("link", "add", clientIf, "type", "veth", "peer", "name", targetIf)
        try Self.ip("link", "set", clientIf, "netns", client)
        try Self.ip("link", "set", targetIf, "netns", target)
        try Self.ip("-n", client, "addr", "add", "\(clientAddress)/24", "dev", clientIf)
        try Self.ip("-n", target, "addr", "add", "\(targetAddress)/24", "dev", targetIf)
        try Self.ip("-n", client, "addr", "add", "\(clientAddress6)/64", "dev", clientIf, "nodad")
        try Self.ip("-n", target, "addr", "add", "\(targetAddress6)/64", "dev", targetIf, "nodad")
        for (ns, dev) in [(client, clientIf), (target, targetIf), (client, "lo"), (target, "lo")] {
            try Self.ip("-n", ns, "link", "set", dev, "up")
        }
    }

    deinit {
        _ = try? Self.ip("netns", "del", client)
        _ = try? Self.ip("netns", "del", target)
    }

    @discardableResult
    static func ip(_ args: String...) throws -> String { try ip(args) }

    @discardableResult
    static func ip(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else { throw TestFailure("ip \(args.joined(separator: " ")): \(text)") }
        return text
    }

    /// Only the network namespace changes.
    func inside(_ ns: String) -> [String] { ["/usr/bin/nsenter", "--net=/run/netns/\(ns)"] }

    /// How most people run a command in a network namespace: `ip netns
    /// exec` also gives it a private mount namespace with a fresh /sys, so
    /// no two invocations share a BPF filesystem or tracefs mount.
    func netnsExec(_ ns: String) -> [String] { ["/usr/sbin/ip", "netns", "exec", ns] }

    /// Sends `count` pings from the client; how many were answered.
    func ping(count: Int = 3, to address: String? = nil) throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        p.arguments = ["--net=/run/netns/\(client)", "ping", "-c", "\(count)", "-i", "0.2", "-W", "1", address ?? targetAddress]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let m = text.firstMatch(of: /(\d+) received/)
        return m.flatMap { Int($0.1) } ?? 0
    }

    /// Whether the target's interface has an XDP program attached.
    func xdpAttached() throws -> Bool {
        try Self.ip("-n", target, "link", "show", "dev", targetIf).contains("xdp")
    }

    /// pktfilter in the target's namespace, through `ip netns exec`.
    func pktfilter(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ToolRun.complete("pktfilter", args, wrapper: netnsExec(target))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension Privileged {
    @Suite struct PacketFiltering {
        init() throws { _ = try Privileged() }

        @Test func dropsPingAndSSHUntilStoppedWithRulesEditedLive() throws {
            let net = try TestNetwork()
            let server = try Helper(wrapper: net.inside(net.target))
            let client = try Helper(wrapper: net.inside(net.client))
            #expect(server.run("listen 22") == "ok 0")
            #expect(server.run("listen 8080") == "ok 0")
            #expect(server.run("udpbind 5353") == "ok 0")
            let ssh = "connect \(net.targetAddress) 22 500"
            #expect(try net.ping() == 3, "ping works before the filter")
            #expect(client.run(ssh) == "ok 0", "port 22 works before the filter")

            // Started in one `ip netns exec`, edited and listed from others:
            // each has its own mount namespace, so nothing may hang on a path.
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp:8", "--drop", "tcp:22", "--mode", "native"],
                                  wrapper: net.netnsExec(net.target))
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end"), "\(run.stderr.text)")
            #expect(run.stderr.text.contains("XDP native"))
            #expect(try net.ping() == 0, "ping is dropped")
            #expect(client.run(ssh) == "err \(ETIMEDOUT)", "port 22 is dropped")
            #expect(client.run("connect \(net.targetAddress) 8080 500") == "ok 0", "another port still works")
            #expect(client.run("udpsend \(net.targetAddress) 5353") == "ok 1")
            #expect(server.run("udprecv 1000") == "ok 1", "UDP still works")

            // Exact counters: three echo requests, one SYN within 500 ms.
            let list = try net.pktfilter(["list", "-i", net.targetIf])
            // "ID RULE... PACKETS BYTES LAST-HIT", the rule having spaces.
            func packets(rule id: String) -> String? {
                for row in list.stdout.split(separator: "\n") {
                    let f = row.split(separator: " ").map(String.init)
                    guard f.first == id, f.count >= 5 else { continue }
                    return f[f.count - (f.last == "never" ? 3 : 4)]
                }
                return nil
            }
            #expect(packets(rule: "0") == "3", "\(list.stdout)")
            #expect(packets(rule: "1") == "1", "\(list.stdout)")

            // Rules change while traffic flows, from another process.
            let deleted = try net.pktfilter(["delete", "0", "-i", net.targetIf])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(try net.ping() == 3, "ping passes once its rule is deleted")
            // Without -i: the only filter running.
            let added = try net.pktfilter(["drop", "udp", "--dport", "5353", "--src", "10.77.0.0/24"])
            #expect(added.status == 0 && added.stdout.contains("drop udp from 10.77.0.0/24 dport 5353"), "\(added.stdout)\(added.stderr)")
            client.run("udpsend \(net.targetAddress) 5353")
            #expect(server.run("udprecv 500") == "err \(ETIMEDOUT)", "the new UDP rule drops")

            run.signal(SIGINT)
            #expect(run.finish() == 0)
            #expect(run.stderr.text.contains("detached from \(net.targetIf)"))
            #expect(try !net.xdpAttached())
            #expect(try net.ping() == 3, "ping works after Ctrl-C")
            #expect(client.run(ssh) == "ok 0", "port 22 works after Ctrl-C")
        }

        /// Deny by default must not cut the link: ARP and IPv6 neighbour
        /// discovery pass, so allowed traffic still finds its way, v4 and v6.
        @Test func denyByDefaultKeepsARPAndNeighbourDiscovery() throws {
            let net = try TestNetwork()
            let server = try Helper(wrapper: net.inside(net.target))
            let client = try Helper(wrapper: net.inside(net.client))
            #expect(server.run("listen 8080") == "ok 0")
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--default", "deny", "--allow", "icmp"], wrapper: net.netnsExec(net.target))
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end"), "\(run.stderr.text)")
            // Before 5.18 the bounded-loop build runs, and says so.
            #expect(run.stderr.text.contains("with bounded loops") == (PacketFilter.Build.preferred != .helpers), "\(run.stderr.text)")
            // Forget the neighbours: resolution must cross the filter again.
            try TestNetwork.ip("-n", net.client, "neigh", "flush", "dev", net.clientIf)
            try TestNetwork.ip("-n", net.target, "neigh", "flush", "dev", net.targetIf)
            #expect(try net.ping(count: 2) == 2, "IPv4: ARP passes, ICMP is allowed")
            #expect(try net.ping(count: 2, to: net.targetAddress6) == 2, "IPv6: neighbour discovery passes, ICMPv6 is allowed")
            #expect(client.run("connect \(net.targetAddress) 8080 500") == "err \(ETIMEDOUT)", "everything else is denied")
            let stats = try net.pktfilter(["stats"])
            let exempt = stats.stdout.firstMatch(of: /ARP\/ND (\d+)/).flatMap { Int($0.1) } ?? 0
            #expect(exempt >= 2, "\(stats.stdout)")
            #expect(stats.stdout.contains("default deny"))
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            KernelSupport.works("pktfilter", PacketFilter.Build.preferred == .helpers ? "" : "bounded loops")
        }

        @Test func sigkillLeavesTrafficFlowing() throws {
            let net = try TestNetwork()
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp", "--mode", "generic"], wrapper: net.inside(net.target))
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end"), "\(run.stderr.text)")
            #expect(run.stderr.text.contains("XDP generic"))
            #expect(try net.ping(count: 2) == 0)
            run.signal(SIGKILL)
            #expect(run.finish() == 128 + SIGKILL)
            // The link was not pinned: the kernel detached it with the process.
            var attached = true
            for _ in 0..<50 where attached { attached = try net.xdpAttached(); if attached { usleep(100_000) } }
            #expect(!attached)
            #expect(try net.ping(count: 2) == 2)
            // Another tool's XDP program on the interface is recognised as
            // not ours (by name and BTF) and never edited.
            let object = try TestEnvironment.temporaryDirectory() + "/other.o"
            try #require(Data(base64Encoded: XdppassSkeleton.embedded.base64)).write(to: URL(fileURLWithPath: object))
            try TestNetwork.ip("-n", net.target, "link", "set", "dev", net.targetIf, "xdpgeneric", "obj", object, "sec", "xdp")
            #expect(try net.xdpAttached())
            let edit = try net.pktfilter(["drop", "tcp:22", "-i", net.targetIf])
            #expect(edit.status == 1 && edit.stderr.contains("is not a pktfilter"), "\(edit.stderr)")
            let detach = try net.pktfilter(["detach", net.targetIf])
            #expect(detach.status == 1 && detach.stderr.contains("is not a pktfilter"), "\(detach.stderr)")
            #expect(try net.xdpAttached(), "left alone")
            try TestNetwork.ip("-n", net.target, "link", "set", "dev", net.targetIf, "xdpgeneric", "off")
            // A new run starts cleanly.
            let again = try ToolRun("pktfilter", ["run", net.targetIf, "--duration", "0.5", "--mode", "generic"], wrapper: net.netnsExec(net.target))
            #expect(again.finish() == 0, "\(again.stderr.text)")
        }

        /// Attached from one `ip netns exec`, whose mount namespace ends
        /// with the command; edited from others, and detached from a plain
        /// `nsenter --net`: none of it rests on a pinned path.
        @Test func persistOutlivesTheProcessUntilDetach() throws {
            let net = try TestNetwork()
            let attach = try net.pktfilter(["attach", net.targetIf, "--persist", "--mode", "native"])
            #expect(attach.status == 0, "\(attach.stderr)")
            #expect(attach.stdout.contains("attached to \(net.targetIf) (XDP native, program ") && attach.stdout.contains("until 'pktfilter detach"),
                    "\(attach.stdout)")
            #expect(try net.xdpAttached(), "still attached after the command exits")
            usleep(300_000)
            #expect(try net.xdpAttached(), "and after its mount namespace is gone")
            #expect(try net.pktfilter(["drop", "icmp:8", "-i", net.targetIf]).status == 0)
            #expect(try net.ping(count: 2) == 0)
            let stats = try net.pktfilter(["stats", "-i", net.targetIf])
            #expect(stats.stdout.contains("dropped 2"), "\(stats.stdout)")
            // No second filter over it.
            let second = try net.pktfilter(["run", net.targetIf, "--duration", "0.5"])
            #expect(second.status == 1 && second.stderr.contains("detach"), "\(second.stderr)")
            let detach = try ToolRun.complete("pktfilter", ["detach", net.targetIf], wrapper: net.inside(net.target))
            #expect(detach.status == 0, "\(detach.stderr)")
            var attached = true
            for _ in 0..<50 where attached { attached = try net.xdpAttached(); if attached { usleep(100_000) } }
            #expect(!attached)
            #expect(try net.ping(count: 2) == 2)
        }

        @Test func anotherXDPProgramIsNotClobbered() throws {
            let net = try TestNetwork()
            let first = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp"], wrapper: net.inside(net.target))
            #expect(first.stderr.wait(for: "Hit Ctrl-C to end"))
            let second = try net.pktfilter(["run", net.targetIf, "--duration", "0.5"])
            #expect(second.status == 1)
            #expect(second.stderr.contains("already has an XDP program"), "\(second.stderr)")
            // `detach` is for persistent filters; this one belongs to `first`.
            let detach = try net.pktfilter(["detach", net.targetIf])
            #expect(detach.status == 1 && detach.stderr.contains("belongs to a running 'pktfilter run'"), "\(detach.stderr)")
            #expect(try net.ping(count: 1) == 0, "the first filter still works")
            first.signal(SIGTERM)
            #expect(first.finish() == 0)
        }

        /// Reading or editing a running filter reaches its maps through the
        /// kernel: no BPF program is loaded (so no verifier run) to do it.
        @Test func listAndEditsLoadNoProgram() throws {
            let net = try TestNetwork()
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp"], wrapper: net.netnsExec(net.target))
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end"), "\(run.stderr.text)")
            let dir = try TestEnvironment.temporaryDirectory()
            for (i, args) in [["list", "-i", net.targetIf], ["drop", "tcp:22", "-i", net.targetIf], ["stats"],
                              ["policy", "deny", "-i", net.targetIf], ["delete", "1", "-i", net.targetIf]].enumerated() {
                let trace = "\(dir)/strace.\(i)"
                let r = try ToolRun.complete("pktfilter", args,
                                             wrapper: net.netnsExec(net.target) + ["/usr/bin/strace", "-f", "-e", "trace=bpf", "-o", trace])
                #expect(r.status == 0, "\(args): \(r.stderr)")
                let calls = try String(contentsOfFile: trace, encoding: .utf8)
                #expect(calls.contains("BPF_MAP_LOOKUP_ELEM"), "\(args): it did read the maps")
                #expect(!calls.contains("BPF_PROG_LOAD"), "\(args) loaded a program:\n\(calls)")
            }
            run.signal(SIGTERM)
            #expect(run.finish() == 0)
        }

        @Test func badInputIsAUsageError() throws {
            let net = try TestNetwork()
            for args in [["run", "no-such-if0", "--drop", "icmp"], ["run", net.targetIf, "--drop", "tcp:99999"],
                         ["run", net.targetIf, "--drop", "gre"], ["drop", "tcp", "--src", "10.0.0.300/8", "-i", net.targetIf],
                         ["drop", "udp", "--dport", "5-3", "-i", net.targetIf], ["run", net.targetIf, "--mode", "turbo"]] {
                let r = try net.pktfilter(args)
                #expect(r.status == 2, "\(args): \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("pktfilter: error: "), "\(r.stderr)")
            }
            #expect(try !net.xdpAttached(), "nothing half-attached")
            let none = try net.pktfilter(["list", "-i", net.targetIf])
            #expect(none.status == 1 && none.stderr.contains("no filter on"))
        }
    }
}
