// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import TestSupport
import Testing
import Enforcers

/// egressguard on a real podman container (runc) that shares the host's
/// network, so loopback is all it needs: what the container may connect and
/// send to, every decision reported once and exactly, audit mode, and the
/// policy lifted by SIGINT and by SIGKILL.
extension Privileged {
    @Suite struct EgressGuard {
        init() throws { _ = try Privileged() }

        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures"

        /// A TCP listener (or a bound UDP socket) on 127.0.0.1, on a port
        /// the kernel picks; closed by `close`.
        struct Listener {
            let fd: Int32
            let port: Int
            init(udp: Bool = false) throws {
                let s = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET)
                a.sin_addr.s_addr = inet_addr("127.0.0.1")
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let bound = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
                let listening = udp || listen(s, 64) == 0
                try #require(bound == 0 && listening)
                _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
                fd = s
                port = Int(UInt16(bigEndian: a.sin_port))
            }
            func close() { Glibc.close(fd) }
        }

        /// netprobe (Tests/Fixtures/netprobe.c), static, in a directory the
        /// container mounts.
        static func netprobe() throws -> String {
            let dir = try TestEnvironment.temporaryDirectory()
            let built = try Command.run(["cc", "-static", "-O2", "-o", dir + "/netprobe", fixtures + "/netprobe.c"])
            try #require(built.status == 0, "cc: \(built.output)")
            return dir
        }

        @Test(.enabled(if: !TestEnvironment.inKernelLane, "podman runs on the host; the lane's guest boots the host's root read-only"))
        func aContainerReachesOnlyWhatItIsAllowed() throws {
            let probeDir = try Self.netprobe()
            let image = try Privileged.Containers.podmanImage()
            let name = "swbpf-egress-\(UInt32.random(in: 0...UInt32.max))"
            let started = try Command.run(Privileged.Containers.podman + [
                "run", "-d", "--name", name, "--network", "host", "--cap-add", "NET_RAW", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
                "-v", "\(probeDir):/probe:ro", image, "sleep", "600",
            ])
            try #require(started.status == 0, "podman run: \(started.output)")
            defer { _ = try? Command.run(Privileged.Containers.podman + ["rm", "-f", "-t", "0", name]) }
            let a = try Listener(), b = try Listener(), c = try Listener(udp: true)
            defer { a.close(); b.close(); c.close() }
            func inside(_ args: String) throws -> String {
                try Command.run(["podman", "exec", name, "sh", "-c", "/probe/netprobe \(args)"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func onHost(_ args: [String]) throws -> String {
                try Command.run([probeDir + "/netprobe"] + args).output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let tries = ["tcp 127.0.0.1 \(a.port)", "tcp 127.0.0.1 \(b.port)", "udp 127.0.0.1 \(c.port)", "raw 127.0.0.1"]

            // Enforcing: A only.
            let guardRun = try ToolRun("egressguard", ["--container", name, "--allow", "tcp:\(a.port)@127.0.0.1", "--json"])
            try #require(guardRun.waitUntilAttached(), "\(guardRun.stderr.text)")
            #expect(try tries.map(inside) == ["ok", "err 1", "err 1", "err 1"])
            #expect(try onHost(["tcp", "127.0.0.1", "\(b.port)"]) == "ok", "the host reaches B the whole time")
            guardRun.signal(SIGINT)
            #expect(guardRun.finish() == 0, "\(guardRun.stderr.text)")
            let events = guardRun.jsonLines
            let summary = events.map { "\($0["verdict"] as? String ?? "?") \($0["hook"] as? String ?? "?") \($0["protocol"] as? String ?? "?") \($0["daddr"] as? String ?? "?"):\($0["dport"] as? Int ?? 0)" }
            #expect(summary == ["allowed connect4 tcp 127.0.0.1:\(a.port)", "denied connect4 tcp 127.0.0.1:\(b.port)",
                                "denied sendmsg4 udp 127.0.0.1:\(c.port)", "denied egress icmp 127.0.0.1:0"], "\(guardRun.stdout.text)")
            #expect(events.prefix(3).allSatisfy { $0["container.name"] as? String == name && $0["comm"] as? String == "netprobe" }, "\(events)")
            #expect(events.first?["rule"] as? Int == 0 && events.dropFirst().allSatisfy { $0["rule"] is NSNull || $0["rule"] == nil })
            #expect(guardRun.stderr.text.contains("egressguard: 1 allowed, 3 denied, 0 would-deny"), "\(guardRun.stderr.text)")
            #expect(try tries.map(inside) == ["ok", "ok", "ok", "ok"], "after SIGINT the container reaches everything again")

            // Audit: everything through, exactly the would-deny events.
            let audit = try ToolRun("egressguard", ["--container", name, "--allow", "tcp:\(a.port)@127.0.0.1", "--audit", "--json"])
            try #require(audit.waitUntilAttached(), "\(audit.stderr.text)")
            #expect(try tries.map(inside) == ["ok", "ok", "ok", "ok"])
            audit.signal(SIGINT)
            #expect(audit.finish() == 0)
            #expect(audit.jsonLines.map { $0["verdict"] as? String ?? "?" } == ["allowed", "would-deny", "would-deny", "would-deny"], "\(audit.stdout.text)")

            // SIGKILL: nothing pinned, so the kernel lifts the policy.
            let killed = try ToolRun("egressguard", ["--container", name, "--allow", "tcp:\(a.port)@127.0.0.1"])
            try #require(killed.waitUntilAttached(), "\(killed.stderr.text)")
            #expect(try inside("tcp 127.0.0.1 \(b.port)") == "err 1")
            killed.signal(SIGKILL)
            _ = killed.finish()
            #expect(try inside("tcp 127.0.0.1 \(b.port)") == "ok", "after SIGKILL the container reaches B again")
        }

        /// Rules change while it runs, from another process, found through
        /// the kernel; a deny wins over an allow.
        @Test func rulesChangeWhileItRuns() throws {
            let probeDir = try Self.netprobe()
            let hierarchy = try CgroupHierarchy()
            let cgroup = "/swiftbpf-egress-\(UInt32.random(in: 0...UInt32.max))"
            try #require(mkdir(hierarchy.mountPoint + cgroup, 0o755) == 0)
            defer { rmdir(hierarchy.mountPoint + cgroup) }
            let a = try Listener(), b = try Listener()
            defer { a.close(); b.close() }
            func inCgroup(_ args: String) throws -> String {
                try Command.run(["sh", "-c", "echo $$ > \(hierarchy.mountPoint + cgroup)/cgroup.procs && exec \(probeDir)/netprobe \(args)"])
                    .output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let run = try ToolRun("egressguard", ["--cgroup", cgroup, "--allow", "tcp:\(a.port)@127.0.0.1"])
            try #require(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(try inCgroup("tcp 127.0.0.1 \(b.port)") == "err 1")
            let added = try ToolRun.complete("egressguard", ["allow", "tcp@127.0.0.0/8", "--cgroup", cgroup])
            #expect(added.status == 0 && added.stdout == "rule 1: allow tcp@127.0.0.0/8\n", "\(added)")
            #expect(try inCgroup("tcp 127.0.0.1 \(b.port)") == "ok")
            let denied = try ToolRun.complete("egressguard", ["deny", "tcp:\(b.port)@127.0.0.1", "--cgroup", cgroup])
            #expect(denied.status == 0 && denied.stdout == "rule 2: deny tcp:\(b.port)@127.0.0.1\n", "\(denied)")
            #expect(try inCgroup("tcp 127.0.0.1 \(b.port)") == "err 1", "a deny wins over the /8 allow")
            #expect(try inCgroup("tcp 127.0.0.1 \(a.port)") == "ok")
            let listed = try ToolRun.complete("egressguard", ["list", "--cgroup", cgroup])
            #expect(listed.stdout.contains("0    allow tcp:\(a.port)@127.0.0.1\n1    allow tcp@127.0.0.0/8\n2    deny tcp:\(b.port)@127.0.0.1\n")
                    && listed.stdout.contains("decisions: 2 allowed, 2 denied, 0 would-deny"), "\(listed.stdout)")
            #expect(try ToolRun.complete("egressguard", ["delete", "2", "--cgroup", cgroup]).status == 0)
            #expect(try inCgroup("tcp 127.0.0.1 \(b.port)") == "ok")
            let missing = try ToolRun.complete("egressguard", ["delete", "9", "--cgroup", cgroup])
            #expect(missing.status == 1 && missing.stderr.contains("no rule 9"), "\(missing)")
            // Source routing and header-writing sockets: where they go is not
            // what connect() or sendmsg() were told. Refused at setsockopt,
            // socket, or (an IP_RETOPTS message) at the packet.
            #expect(try inCgroup("lsrr 127.0.0.1 \(a.port) 10.255.0.1") == "err 1", "IP_OPTIONS")
            #expect(try inCgroup("retopts 127.0.0.1 \(a.port) 10.255.0.1") == "err 1", "an IP_RETOPTS message")
            #expect(try inCgroup("rawip 127.0.0.1") == "err 1", "IPPROTO_RAW")
            let mapped = try ToolRun.complete("egressguard", ["deny", "udp@::ffff:10.0.0.1", "--cgroup", cgroup])
            #expect(mapped.status == 2 && mapped.stderr.contains("IPv4-mapped"), "\(mapped)")
            let second = try ToolRun.complete("egressguard", ["--cgroup", cgroup, "--allow", "any"])
            #expect(second.status == 1 && second.stderr.contains("already has an egressguard"), "\(second)")
            run.signal(SIGTERM)
            #expect(run.finish() == 0)
            let gone = try ToolRun.complete("egressguard", ["list", "--cgroup", cgroup])
            #expect(gone.status == 1 && gone.stderr.contains("no egressguard is attached"), "\(gone)")
            KernelSupport.works("egressguard")
        }

        /// A node laid out as Kubernetes lays one out, made with network
        /// namespaces: three pods, each routed through the node (its own
        /// namespace here), a Service address the node translates to pod B
        /// (nftables DNAT), and the kubelet's and containerd's cgroups and
        /// records for each pod. Pod A may reach the Service and the cluster
        /// resolver only: not pod B directly, not pod C, not another
        /// resolver. connect() sees the Service address, before the node
        /// translates it.
        @Test func podsReachOnlyTheirServices() throws {
            let probeDir = try Self.netprobe()
            let tag = String(getpid() % 100_000)
            let nodeNS = "swbpf-node\(tag)"
            let pods = ["a", "b", "c"].map { "swbpf-pod\($0)\(tag)" }
            func ip(_ args: String...) throws { try TestNetwork.ip(args) }
            try ip("netns", "add", nodeNS)
            defer { for ns in [nodeNS] + pods { _ = try? TestNetwork.ip(["netns", "del", ns]) } }
            try ip("-n", nodeNS, "link", "set", "lo", "up")
            for (i, ns) in pods.enumerated() {
                let n = i + 1
                try ip("netns", "add", ns)
                try ip("-n", ns, "link", "set", "lo", "up")
                try ip("-n", nodeNS, "link", "add", "veth\(n)", "type", "veth", "peer", "name", "eth0", "netns", ns)
                try ip("-n", nodeNS, "addr", "add", "10.78.\(n).1/24", "dev", "veth\(n)")
                try ip("-n", nodeNS, "link", "set", "veth\(n)", "up")
                try ip("-n", ns, "addr", "add", "10.78.\(n).2/24", "dev", "eth0")
                try ip("-n", ns, "link", "set", "eth0", "up")
                try ip("-n", ns, "route", "add", "default", "via", "10.78.\(n).1")
            }
            let node = ["/usr/bin/nsenter", "--net=/run/netns/\(nodeNS)"]
            try #require(try Command.run(node + ["sysctl", "-qw", "net.ipv4.ip_forward=1"]).status == 0)
            let nft = try Command.run(node + ["nft", "add table ip svc; add chain ip svc pre { type nat hook prerouting priority dstnat; }; "
                + "add rule ip svc pre ip daddr 10.96.0.50 tcp dport 80 dnat to 10.78.2.2:8080"])
            try #require(nft.status == 0, "nft: \(nft.output)")
            // Listeners in B and C.
            var listeners: [ToolRun] = []
            defer { listeners.forEach { $0.signal(SIGKILL); $0.finish() } }
            for ns in pods.dropFirst() {
                let l = try ToolRun(absolute: "/usr/bin/nsenter", ["--net=/run/netns/\(ns)", "python3", "-c",
                    "import socket,sys,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen(16)\nprint('ready', file=sys.stderr, flush=True)\ntime.sleep(120)"])
                try #require(l.stderr.wait(for: "ready", timeout: 20), "\(l.stderr.text)")
                listeners.append(l)
            }
            // The pods' cgroups and records, as the kubelet and containerd make them.
            let fake = try FakeNode()
            let podA = try fake.pod(.containerdSystemd, namespace: "shop", name: "pod-a", container: "app")
            func fromA(_ args: String) throws -> String {
                try Command.run(["/usr/bin/nsenter", "--net=/run/netns/\(pods[0])", "sh", "-c",
                                 "echo $$ > \(fake.hierarchy.mountPoint + podA.path)/cgroup.procs && exec \(probeDir)/netprobe \(args)"])
                    .output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func fromC(_ args: String) throws -> String {
                try Command.run(["/usr/bin/nsenter", "--net=/run/netns/\(pods[2])", probeDir + "/netprobe"] + args.split(separator: " ").map(String.init))
                    .output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try fromA("tcp 10.78.3.2 8080") == "ok", "before the guard, A reaches C")
            let guardRun = try ToolRun("egressguard", ["--pod", "pod-a", "--namespace", "shop", "--json",
                                                       "--allow", "tcp:80@10.96.0.50", "--allow", "udp:53@10.96.0.10"],
                                       wrapper: ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(fake.root)"])
            try #require(guardRun.waitUntilAttached(), "\(guardRun.stderr.text)")
            #expect(guardRun.stderr.text.contains("Tracing egress of pod shop/pod-a"), "\(guardRun.stderr.text)")
            #expect(try fromA("tcp 10.96.0.50 80") == "ok", "A reaches B's Service")
            #expect(try fromA("tcp 10.78.2.2 8080") == "err 1", "not B directly")
            #expect(try fromA("tcp 10.78.3.2 8080") == "err 1", "not C")
            #expect(try fromA("udp 10.96.0.10 53") == "ok", "the cluster resolver")
            #expect(try fromA("udp 10.78.3.2 53") == "err 1", "DNS to another resolver is denied")
            #expect(try fromC("tcp 10.78.2.2 8080") == "ok", "C is not guarded")
            guardRun.signal(SIGINT)
            #expect(guardRun.finish() == 0)
            let seen = guardRun.jsonLines.map { "\($0["verdict"] as? String ?? "?") \($0["daddr"] as? String ?? "?"):\($0["dport"] as? Int ?? 0) \($0["k8s.pod.name"] as? String ?? "-")" }
            #expect(seen == ["allowed 10.96.0.50:80 pod-a", "denied 10.78.2.2:8080 pod-a", "denied 10.78.3.2:8080 pod-a",
                             "allowed 10.96.0.10:53 pod-a", "denied 10.78.3.2:53 pod-a"], "\(guardRun.stdout.text)")
            #expect(try fromA("tcp 10.78.3.2 8080") == "ok", "lifted")
        }

        /// Bad input: one line, exit 2, nothing loaded.
        @Test func badInputIsAUsageError() throws {
            let cases: [([String], String)] = [
                (["--container", "no-such-container", "--allow", "tcp:80"], "no running container or pod matches --container no-such-container"),
                (["--cgroup", "/no/such/cgroup", "--allow", "tcp:80"], "no such cgroup v2 directory"),
                (["--cgroup", "/", "--allow", "tcp:0"], "bad port '0'"),
                (["--cgroup", "/", "--allow", "icmp:8"], "only tcp and udp take ports"),
                (["--cgroup", "/", "--allow", "tcp:80@10.0.0.0/33"], "bad address '10.0.0.0/33'"),
                (["--cgroup", "/", "--allow", "sctp"], "unknown protocol 'sctp'"),
                (["--allow", "tcp:80"], "one of --container, --pod or --cgroup"),
                (["--cgroup", "/", "--container", "x"], "one of --container, --pod or --cgroup"),
                (["--cgroup", "/", "--namespace", "shop"], "--namespace goes with --pod"),
            ]
            for (args, mention) in cases {
                let run = try ToolRun.complete("egressguard", args)
                #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention), "\(args): \(run.status) \(run.stderr)")
            }
            // No cgroup v2 hierarchy mounted (a mount namespace without it).
            let unmounted = try ToolRun(absolute: "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c",
                "for m in $(awk '$3 == \"cgroup2\" { print $2 }' /proc/mounts); do umount -l $m; done; exec \"$0\" --cgroup /x --allow any",
                TestEnvironment.product("egressguard")])
            #expect(unmounted.finish() == 2 && unmounted.stderr.text.contains("no cgroup v2 hierarchy is mounted"), "\(unmounted.stderr.text)")
        }
    }
}
