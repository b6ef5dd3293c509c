// SPDX-License-Identifier: BSD-2-Clause
@testable import BPFProbes
@testable import pktfilter
import Foundation
import TestSupport
import Testing
@testable import Enforcers

/// What a hostile neighbour, a careless command or a closed pipe can do to
/// the packet filter, and floods against its rate limits.
extension Privileged {
    @Suite struct PacketFilterHardening {
        init() throws { _ = try Privileged() }

        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures"

        /// The interface's XDP program ID, as `ip link` shows it.
        static func programID(_ net: TestNetwork) throws -> String {
            let link = try TestNetwork.ip("-n", net.target, "link", "show", "dev", net.targetIf)
            return try #require(link.firstMatch(of: /prog\/xdp id (\d+)/).map { String($0.1) }, "\(link)")
        }

        @Test func strictRuleSyntaxIsAUsageError() throws {
            let net = try TestNetwork()
            for args in [["run", net.targetIf, "--drop", "tcp:"], ["run", net.targetIf, "--drop", "udp:22-"],
                         ["drop", "tcp", "--dport", "22-", "-i", net.targetIf], ["drop", "tcp", "--src", "10.0.0.1/", "-i", net.targetIf],
                         ["drop", "tcp", "--dst", "10.0.0.0/33", "-i", net.targetIf], ["allow", "udp", "--sport", "-5", "-i", net.targetIf],
                         ["limit", "udp", "--pps", "0", "-i", net.targetIf], ["drop", "udp", "--syn", "-i", net.targetIf]] {
                let r = try net.pktfilter(args)
                #expect(r.status == 2, "\(args): \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("pktfilter: error: "), "\(args): \(r.stderr)")
            }
            #expect(try !net.xdpAttached())
        }

        /// Any process in the network namespace could once bind the edit
        /// lock's abstract socket name first, and every edit then waited
        /// 10 s and failed. The lock now needs what editing needs.
        @Test func anUnprivilegedSquatterCannotBlockEdits() throws {
            let net = try TestNetwork()
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp"], wrapper: net.netnsExec(net.target))
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let id = try Self.programID(net)
            // `nobody` takes every name it can: the old lock's abstract name,
            // and tries to open the filter's maps.
            let squat = """
            import socket, subprocess, sys, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind("\\0swiftbpf/pktfilter/\(id)")
            s.listen(1)
            prog = subprocess.run(["bpftool", "prog", "show", "id", "\(id)"], capture_output=True).returncode
            lock = subprocess.run(["bpftool", "map", "show", "name", "edit_lock"], capture_output=True).returncode
            print("squatting", prog, lock, "ready", flush=True)
            time.sleep(60)
            """
            let squatter = try ToolRun(absolute: "/usr/bin/python3", ["-c", squat],
                                       wrapper: net.inside(net.target) + ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            defer { squatter.signal(SIGKILL); _ = squatter.finish() }
            #expect(squatter.stdout.wait(for: "ready"), "\(squatter.stderr.text)")
            // Neither the program nor the lock's map opens for nobody.
            #expect(squatter.stdout.text.firstMatch(of: /squatting [1-9]\d* [1-9]\d* ready/) != nil, "\(squatter.stdout.text)")
            // (Blocked, the edit would fail after waiting 10 s for the lock.)
            let edit = try net.pktfilter(["drop", "tcp:22", "-i", net.targetIf])
            #expect(edit.status == 0, "\(edit.stderr)")
            #expect(try net.pktfilter(["delete", "1", "-i", net.targetIf]).status == 0)
            // Edits from many processes at once each get a slot of their own.
            let editors = try (0..<6).map { i in
                try ToolRun("pktfilter", ["allow", "udp:\(1000 + i)", "-i", net.targetIf], wrapper: net.netnsExec(net.target))
            }
            for e in editors { #expect(e.finish() == 0, "\(e.stderr.text)") }
            let list = try net.pktfilter(["list", "-i", net.targetIf]).stdout
            let ids = Set(list.split(separator: "\n").compactMap { line -> Int? in
                line.contains("allow udp dport 10") ? Int(line.split(separator: " ")[0]) : nil
            })
            #expect(ids.count == 6, "\(list)")
            run.signal(SIGINT)
            #expect(run.finish() == 0)
        }

        /// ufw's question, answered before the damage: a deny that would cut
        /// the SSH connection arriving on the interface is refused without
        /// --force.
        @Test func denyThatCutsAnSSHConnectionIsRefused() throws {
            let net = try TestNetwork()
            let server = try Helper(wrapper: net.inside(net.target))
            let client = try Helper(wrapper: net.inside(net.client))
            #expect(server.run("listen 22") == "ok 0")
            #expect(client.run("connect \(net.targetAddress) 22 2000 hold") == "ok 0", "an established session to port 22")
            let refused = try net.pktfilter(["attach", net.targetIf, "--persist", "--default", "deny"])
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1
                        && refused.stderr.contains("would cut the SSH connection from \(net.clientAddress):")
                        && refused.stderr.contains("to \(net.targetAddress):22 on \(net.targetIf)") && refused.stderr.contains("--force"),
                    "\(refused.stderr)")
            #expect(try !net.xdpAttached(), "nothing attached")
            let run = try net.pktfilter(["run", net.targetIf, "--default", "deny", "--allow", "icmp", "--duration", "0.5"])
            #expect(run.status == 1 && run.stderr.contains("would cut the SSH connection"), "\(run.stderr)")
            // Allowing SSH first makes it safe.
            let allowed = try net.pktfilter(["run", net.targetIf, "--default", "deny", "--allow", "tcp:22", "--duration", "0.5"])
            #expect(allowed.status == 0, "\(allowed.stderr)")
            // --force is obeyed.
            let forced = try net.pktfilter(["attach", net.targetIf, "--persist", "--default", "deny", "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            let drop = try net.pktfilter(["policy", "allow", "-i", net.targetIf])
            #expect(drop.status == 0, "\(drop.stderr)")
            let cut = try net.pktfilter(["drop", "tcp:22", "-i", net.targetIf])
            #expect(cut.status == 1 && cut.stderr.contains("would cut the SSH connection"), "\(cut.stderr)")
            #expect(try net.pktfilter(["detach", net.targetIf]).status == 0)
        }

        /// sshd on a dual-stack socket (as socket activation sets it up)
        /// sees IPv4 sessions as ::ffff:a.b.c.d, and IPv6 sessions are
        /// checked as IPv6: an IPv4-only allow does not keep an IPv6 session.
        @Test func dualStackAndIPv6SessionsAreSeen() throws {
            let net = try TestNetwork()
            let listen = """
            import socket, time
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 22)); s.listen(8)
            print("listening", flush=True); time.sleep(120)
            """
            let server = try ToolRun(absolute: "/usr/bin/python3", ["-c", listen], wrapper: net.inside(net.target))
            defer { server.signal(SIGKILL); _ = server.finish() }
            #expect(server.stdout.wait(for: "listening"))
            let hold = """
            import socket, sys, time
            s = socket.create_connection((sys.argv[1], 22), timeout=30)
            print("connected", flush=True); time.sleep(120)
            """
            let v4 = try ToolRun(absolute: "/usr/bin/python3", ["-c", hold, net.targetAddress], wrapper: net.inside(net.client))
            defer { v4.signal(SIGKILL); _ = v4.finish() }
            #expect(v4.stdout.wait(for: "connected"), "\(v4.stderr.text)")
            let refused = try net.pktfilter(["attach", net.targetIf, "--persist", "--default", "deny"])
            #expect(refused.status == 1 && refused.stderr.contains("from \(net.clientAddress):"), "\(refused.stderr)")
            let v6 = try ToolRun(absolute: "/usr/bin/python3", ["-c", hold, net.targetAddress6], wrapper: net.inside(net.client))
            defer { v6.signal(SIGKILL); _ = v6.finish() }
            #expect(v6.stdout.wait(for: "connected"), "\(v6.stderr.text)")
            let allowV4 = try net.pktfilter(["run", net.targetIf, "--default", "deny", "--allow", "any", "--duration", "0.5"])
            #expect(allowV4.status == 0, "allowing everything cuts nothing: \(allowV4.stderr)")
            let run = try ToolRun("pktfilter", ["run", net.targetIf], wrapper: net.netnsExec(net.target))
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(try net.pktfilter(["allow", "tcp:22", "--src", "10.77.0.0/24", "-i", net.targetIf]).status == 0)
            let deny = try net.pktfilter(["policy", "deny", "-i", net.targetIf])
            #expect(deny.status == 1 && deny.stderr.contains("from [\(net.clientAddress6)]:"), "\(deny.stderr)")
            #expect(try net.pktfilter(["allow", "tcp:22", "--src", "fd77::/64", "-i", net.targetIf]).status == 0)
            #expect(try net.pktfilter(["policy", "deny", "-i", net.targetIf]).status == 0, "both sessions allowed")
            run.signal(SIGINT)
            #expect(run.finish() == 0)
        }

        /// `| head` closes the pipe: the filter detaches and exits 0, with
        /// no trap and nothing left attached.
        @Test(arguments: [" --watch", " --watch 2>&1", " 2>&1"])
        func aClosedOutputEndsTheRunCleanly(flags: String) throws {
            let net = try TestNetwork()
            let script = "\"$0\" run \"$1\" --drop icmp --duration 30\(flags) | head -n 1; echo \"status ${PIPESTATUS[0]}\" >&2"
            let started = DispatchTime.now()
            let r = try ToolRun(absolute: "/bin/bash", ["-c", script, TestEnvironment.product("pktfilter"), net.targetIf],
                                wrapper: net.inside(net.target))
            #expect(r.finish(timeout: 40) == 0)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            #expect(r.stderr.text.contains("status 0"), "\(r.stderr.text)")
            #expect(!r.stderr.text.contains("Fatal error") && !r.stderr.text.contains("Trace/breakpoint"), "\(r.stderr.text)")
            #expect(r.stdout.text.split(separator: "\n").count == 1, "\(r.stdout.text)")
            #expect(seconds < 25, "it ran on for \(seconds) s")
            #expect(try !net.xdpAttached())
        }

        /// --syn and per-source budgets, decided by the kernel program on
        /// frames it is handed (BPF_PROG_TEST_RUN). A budget of 2 at 1 a
        /// second: each sequence runs well within a second, even emulated.
        @Test func limitsCountSYNsPerSource() throws {
            let filter = try PacketFilter()
            var rule = try PacketRule("tcp:80", action: .limit)
            rule.synOnly = true
            rule.rate = PacketRule.Rate(packetsPerSecond: 1, burst: 2, perSource: true)
            try filter.add(rule)
            let program = try filter.program
            func tcp(from source: UInt8, flags: UInt8) -> [UInt8] {
                var ip: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, source, 10, 0, 0, 2]
                ip[3] = 40
                var t = [UInt8](repeating: 0, count: 20)
                t[0] = 0x9C; t[1] = 0x40; t[3] = 80; t[12] = 0x50; t[13] = flags
                return [UInt8](repeating: 2, count: 6) + [UInt8](repeating: 4, count: 6) + [0x08, 0x00] + ip + t
            }
            // A burst of 2 SYNs from .1 passes, the third is limited; ACKs
            // are not SYNs; .5 has a budget of its own.
            #expect(try (0..<3).map { _ in try program.testRun(packet: tcp(from: 1, flags: 0x02)) } == [2, 2, 1])
            #expect(try program.testRun(packet: tcp(from: 1, flags: 0x10)) == 2)
            #expect(try program.testRun(packet: tcp(from: 1, flags: 0x12)) == 2, "SYN-ACK is not an opening SYN")
            #expect(try program.testRun(packet: tcp(from: 5, flags: 0x02)) == 2)
            let t = try filter.totals()
            #expect(t.limited.packets == 1 && t.passed.packets == 5, "\(t)")
            #expect(try filter.counter(rule: 0).packets == 1)
            // Removed and added again, the rule starts with a fresh budget.
            try filter.remove(0)
            try filter.add(rule)
            #expect(try program.testRun(packet: tcp(from: 1, flags: 0x02)) == 2)

            // An IPv6 source is its /64: a host that owns one cannot take a
            // new budget with every address in it.
            func tcp6(host: UInt8, net: UInt8) -> [UInt8] {
                var ip = [UInt8](repeating: 0, count: 40)
                ip[0] = 0x60; ip[5] = 20; ip[6] = 6; ip[7] = 64
                ip.replaceSubrange(8..<24, with: [0x20, 0x01, 0x0d, 0xb8, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, 0, host])
                ip[39] = 2
                var t = [UInt8](repeating: 0, count: 20)
                t[0] = 0x9C; t[1] = 0x40; t[3] = 80; t[12] = 0x50; t[13] = 0x02
                return [UInt8](repeating: 2, count: 6) + [UInt8](repeating: 4, count: 6) + [0x86, 0xDD] + ip + t
            }
            #expect(try (1...4).map { try program.testRun(packet: tcp6(host: $0, net: 1)) } == [2, 2, 1, 1])
            #expect(try program.testRun(packet: tcp6(host: 9, net: 2)) == 2, "another /64")
        }

        /// ICMP types are per protocol: icmp:8 is IPv4's echo request,
        /// icmp6:128 IPv6's; neither rule drops the other family's ping.
        @Test func icmpTypesArePerFamily() throws {
            let net = try TestNetwork()
            #expect(try net.ping(count: 2) == 2 && net.ping(count: 2, to: net.targetAddress6) == 2, "both pings work before")
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp:8"], wrapper: net.netnsExec(net.target))
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(try net.ping(count: 2) == 0)
            #expect(try net.ping(count: 2, to: net.targetAddress6) == 2, "icmp:8 is not ICMPv6's echo request")
            #expect(try net.pktfilter(["drop", "icmp6:128", "-i", net.targetIf]).stdout.contains("drop icmp6 type 128"))
            #expect(try net.ping(count: 2, to: net.targetAddress6) == 0)
            let mixed = try net.pktfilter(["drop", "icmp:8", "--src", "fd77::/64", "-i", net.targetIf])
            #expect(mixed.status == 2 && mixed.stderr.contains("icmp6:TYPE"), "\(mixed.stderr)")
            run.signal(SIGINT)
            #expect(run.finish() == 0)
        }

        /// A flood at 20 times a per-source limit gets through at the limit;
        /// a second source in the same run is untouched; stopping the
        /// filter lifts the limit. Counted by the receiver.
        @Test func aFloodGetsThroughAtTheLimit() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let flood = dir + "/udpflood"
            let cc = try Command.run(["cc", "-O2", "-o", flood, Self.fixtures + "/udpflood.c"])
            try #require(cc.status == 0, "\(cc.output)")
            let net = try TestNetwork()
            let second = "10.77.0.3"
            try TestNetwork.ip("-n", net.client, "addr", "add", "\(second)/24", "dev", net.clientIf)
            // Emulated kernels send slower: the same ratios, smaller numbers.
            let limit = TestEnvironment.inKernelLane ? 100 : 500, seconds = 10.0
            let run = try ToolRun("pktfilter", ["run", net.targetIf], wrapper: net.netnsExec(net.target))
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let add = try net.pktfilter(["limit", "udp:9999", "--pps", "\(limit)", "--per-source", "-i", net.targetIf])
            #expect(add.status == 0 && add.stdout.contains("limit udp dport 9999 \(limit)/s burst \(limit / 10) per source"), "\(add.stdout)\(add.stderr)")

            // Neighbours resolved first: nothing queued or lost before XDP.
            for source in [net.clientAddress, second] {
                let ping = try Command.run(net.inside(net.client) + ["ping", "-c", "1", "-W", "2", "-I", source, net.targetAddress])
                #expect(ping.status == 0, "\(ping.output)")
            }
            // The receiver ends 2 s after the last packet (or after a minute).
            let receiver = try ToolRun(absolute: flood, ["recv", "9999", "\(seconds + 60)", "2"], wrapper: net.inside(net.target))
            #expect(receiver.stdout.wait(for: "ready"))
            let heavy = try ToolRun(absolute: flood, ["send", net.clientAddress, net.targetAddress, "9999", "\(limit * 20)", "\(seconds)"],
                                    wrapper: net.inside(net.client))
            let light = try ToolRun(absolute: flood, ["send", second, net.targetAddress, "9999", "\(limit * 2 / 5)", "\(seconds)"],
                                    wrapper: net.inside(net.client))
            #expect(heavy.finish(timeout: 60) == 0 && light.finish(timeout: 60) == 0)
            #expect(receiver.finish(timeout: 30) == 0)
            func count(_ text: String, _ key: String) -> Int? {
                text.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Int($0.split(separator: " ")[1]) }
            }
            let sentHeavy = try #require(count(heavy.stdout.text, "sent")), sentLight = try #require(count(light.stdout.text, "sent"))
            let gotHeavy = count(receiver.stdout.text, net.clientAddress) ?? 0, gotLight = count(receiver.stdout.text, second) ?? 0
            let expected = Double(limit) * seconds
            #expect(Double(sentHeavy) > expected * 15, "the flood was sent: \(sentHeavy)")
            #expect(abs(Double(gotHeavy) - expected) <= expected * 0.1, "flood received \(gotHeavy) of \(sentHeavy), limit \(expected)")
            // Nothing is lost on a veth at these rates; a little slack for
            // an emulated machine that stalls a sender.
            #expect(Double(gotLight) >= Double(sentLight) * 0.99, "the second source received \(gotLight) of \(sentLight)")
            print("flood at \(limit * 20)/s against \(limit)/s per source: \(gotHeavy) of \(sentHeavy) received in \(seconds) s; second source \(gotLight) of \(sentLight)")
            let stats = try net.pktfilter(["stats", "-i", net.targetIf]).stdout
            let limited = stats.firstMatch(of: /limited (\d+)/).flatMap { Int($0.1) } ?? -1
            #expect(abs(limited - (sentHeavy - gotHeavy)) <= sentHeavy / 100, "limited \(limited), sent \(sentHeavy), received \(gotHeavy)")

            run.signal(SIGINT)
            #expect(run.finish() == 0)
            // Lifted: the same flood, for a second, all through.
            let after = try ToolRun(absolute: flood, ["recv", "9999", "60", "2"], wrapper: net.inside(net.target))
            #expect(after.stdout.wait(for: "ready"))
            let again = try ToolRun(absolute: flood, ["send", net.clientAddress, net.targetAddress, "9999", "\(limit * 20)", "1"],
                                    wrapper: net.inside(net.client))
            #expect(again.finish(timeout: 30) == 0 && after.finish(timeout: 30) == 0)
            let sentAgain = try #require(count(again.stdout.text, "sent"))
            let gotAgain = count(after.stdout.text, net.clientAddress) ?? 0
            #expect(Double(gotAgain) >= Double(sentAgain) * 0.95 && gotAgain > limit * 5, "\(after.stdout.text) of \(sentAgain)")
        }
    }
}
