// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// The network tools on a node built the way the Kubernetes networking
/// model describes one: two pods (network namespaces) with veth pairs into
/// a Linux bridge on the node (a namespace too), bridged traffic through
/// iptables (br_netfilter), a ClusterIP DNAT to a pod, and a DROP for a
/// port, as kube-proxy and a network policy would write them.
extension Privileged {
    @Suite struct Network {
        init() throws { _ = try Privileged() }

        static let python = "/usr/bin/python3"

        /// The node and its pods; removed when released.
        final class PodNetwork {
            let node: String, podA: String, podB: String
            let addressA = "10.244.0.2", addressB = "10.244.0.3", gateway = "10.244.0.1"
            let clusterIP = "10.96.0.10"

            /// Runs `argv` and requires it to succeed.
            static func must(_ argv: [String]) throws {
                let r = try Command.run(argv)
                try #require(r.status == 0, "\(argv.joined(separator: " ")): \(r.output)")
            }

            func inNamespace(_ ns: String, _ argv: [String]) throws { try Self.must(["ip", "netns", "exec", ns] + argv) }

            init() throws {
                let tag = "\(getpid() % 100_000)"
                node = "swbpf-node-" + tag
                podA = "swbpf-pa-" + tag
                podB = "swbpf-pb-" + tag
                // Kubernetes needs bridged traffic to pass through iptables
                // (built in on some kernels, a module on others).
                _ = try? Command.run(["modprobe", "br_netfilter"])
                for ns in [node, podA, podB] {
                    _ = try? Command.run(["ip", "netns", "del", ns])
                    try Self.must(["ip", "netns", "add", ns])
                    try Self.must(["ip", "-n", ns, "link", "set", "lo", "up"])
                }
                try Self.must(["ip", "-n", node, "link", "add", "cni0", "type", "bridge"])
                try Self.must(["ip", "-n", node, "addr", "add", gateway + "/24", "dev", "cni0"])
                try Self.must(["ip", "-n", node, "link", "set", "cni0", "up"])
                for (pod, address, port) in [(podA, addressA, "veth-a"), (podB, addressB, "veth-b")] {
                    try Self.must(["ip", "link", "add", port, "netns", node, "type", "veth", "peer", "name", "eth0", "netns", pod])
                    try Self.must(["ip", "-n", node, "link", "set", port, "master", "cni0", "up"])
                    try Self.must(["ip", "-n", pod, "addr", "add", address + "/24", "dev", "eth0"])
                    try Self.must(["ip", "-n", pod, "link", "set", "eth0", "up"])
                    try Self.must(["ip", "-n", pod, "route", "add", "default", "via", gateway])
                }
                try inNamespace(node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
                try inNamespace(node, ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"])
                // kube-proxy's ClusterIP: port 80 of the service to port 8080 of pod B.
                try inNamespace(node, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", clusterIP, "-p", "tcp", "--dport", "80",
                                       "-j", "DNAT", "--to-destination", addressB + ":8080"])
                // And a policy that drops port 9090.
                try inNamespace(node, ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "9090", "-j", "DROP"])
                // Pod to pod through the bridge, before anything is traced
                // (neighbour discovery done).
                try inNamespace(podA, ["ping", "-c", "1", "-W", "2", addressB])
            }

            deinit {
                for ns in [podA, podB, node] { _ = try? Command.run(["ip", "netns", "del", ns]) }
            }

            /// A namespace's inode number, as the tools report it.
            func inode(_ ns: String) -> Int {
                var st = stat()
                return stat("/run/netns/" + ns, &st) == 0 ? Int(st.st_ino) : -1
            }

            /// An interface's index inside a namespace.
            func ifindex(_ ns: String, _ name: String) throws -> Int {
                let r = try Command.run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/\(name)/ifindex"])
                return try #require(Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(r.output)")
            }

            /// Pod B's backend on port 8080, listening once this returns: one
            /// connection, `reading` bytes in, then `reply` bytes out, then
            /// closed after the client closes.
            func backend(reading: Int, reply: Int) throws -> ToolRun {
                let server = try python(podB, """
                    import socket
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("0.0.0.0", 8080))
                    s.listen()
                    print("ready")
                    c, _ = s.accept()
                    n = 0
                    while n < \(reading):
                        n += len(c.recv(65536))
                    c.sendall(b"r" * \(reply))
                    while c.recv(4096):
                        pass
                    c.close()
                    """)
                try #require(server.stdout.wait(for: "ready"), "\(server.stderr.text)")
                return server
            }

            /// Python in a pod: started, not waited for.
            func python(_ pod: String, _ script: String) throws -> ToolRun {
                try ToolRun(absolute: "/usr/sbin/ip", ["netns", "exec", pod, Network.python, "-u", "-c", script])
            }
        }

        /// Connection attempts that go nowhere: `connect` gives up after
        /// half a second, before TCP's first retransmit (1 s), so each
        /// attempt sends exactly one SYN.
        static func attempts(_ address: String, _ port: Int, _ count: Int) -> String {
            """
            import socket
            for _ in range(\(count)):
                s = socket.socket()
                s.settimeout(0.5)
                try:
                    s.connect(("\(address)", \(port)))
                except OSError:
                    pass
                s.close()
            """
        }

        @Test func skbdropNamesWhyAndWherePacketsAreDropped() throws {
            guard Kernel.supports(.dropReasons) else { return try KernelSupport.expectRefusal("skbdrop", ["--duration", "1"], "drop reasons need Linux 5.17") }
            let net = try PodNetwork()
            let node = net.inode(net.node), podB = net.inode(net.podB)
            // Pod B's sandbox: a process in its namespace, in a pod's cgroup
            // as the kubelet and containerd lay them out.
            let fake = try FakeNode()
            let sandboxCgroup = try fake.pod(.containerdSystemd, namespace: "shop", name: "web-1", container: "pause")
            let sandbox = try ToolRun(absolute: "/usr/sbin/ip", ["netns", "exec", net.podB, "sleep", "120"])
            defer {
                sandbox.signal(SIGKILL)
                _ = sandbox.finish()
                withExtendedLifetime(fake) {}
            }
            try fake.move(sandbox.process.processIdentifier, to: sandboxCgroup.path)
            let all = try ToolRun("skbdrop", ["--json"], wrapper: ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(fake.root)"])
            let counted = try ToolRun("skbdrop", ["--summary", "--json", "--reason", "netfilter_drop", "--netns", net.node])
            #expect(all.waitUntilAttached() && counted.waitUntilAttached(), "\(all.stderr.text) \(counted.stderr.text)")
            // 3 SYNs to the dropped port, 2 to a closed one, 2 pings to nowhere.
            #expect(try net.python(net.podA, Self.attempts(net.addressB, 9090, 3)).finish(timeout: 60) == 0)
            #expect(try net.python(net.podA, Self.attempts(net.addressB, 7777, 2)).finish(timeout: 60) == 0)
            _ = try Command.run(["ip", "netns", "exec", net.podA, "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.255.0.1"])
            usleep(300_000)
            // Naming drop locations reads kallsyms, slow under emulation.
            for run in [all, counted] { run.signal(SIGINT); #expect(run.finish(timeout: 120) == 0, "\(run.stderr.text)") }

            let drops = all.jsonLines
            let filtered = drops.filter { $0["netns"] as? Int == node && $0["dport"] as? Int == 9090 }
            #expect(filtered.count == 3, "\(drops.filter { ($0["netns"] as? Int) == node })")
            let vethA = try net.ifindex(net.node, "veth-a")
            for d in filtered {
                #expect(d["reason"] as? String == "NETFILTER_DROP" && d["saddr"] as? String == net.addressA && d["daddr"] as? String == net.addressB
                        && d["protocol"] as? String == "tcp" && d["netns_name"] as? String == net.node && d["in_ifindex"] as? Int == vethA,
                        "dropped by iptables in the node, arrived from pod A's veth: \(d)")
                #expect(!(d["location"] as? String ?? "0x").hasPrefix("0x"), "a named kernel function: \(d)")
            }
            let closed = drops.filter { $0["netns"] as? Int == podB && $0["dport"] as? Int == 7777 }
            #expect(closed.count == 2 && closed.allSatisfy { $0["reason"] as? String == "NO_SOCKET" && $0["ifname"] as? String == "eth0"
                                                              && $0["saddr"] as? String == net.addressA }, "\(closed)")
            #expect(closed.allSatisfy { $0["k8s.pod.name"] as? String == "web-1" && $0["k8s.namespace.name"] as? String == "shop"
                                        && $0["k8s.pod.uid"] as? String == sandboxCgroup.uid }, "dropped in pod shop/web-1's namespace: \(closed)")
            #expect(filtered.allSatisfy { $0["k8s.pod.name"] == nil }, "the node's own namespace belongs to no pod")
            let nowhere = drops.filter { $0["daddr"] as? String == "10.255.0.1" }
            #expect(nowhere.count == 2 && nowhere.allSatisfy { $0["netns"] as? Int == node && $0["protocol"] as? String == "icmp"
                                                               && !["NETFILTER_DROP", "NO_SOCKET", "NOT_SPECIFIED"].contains($0["reason"] as? String ?? "NOT_SPECIFIED") },
                    "no route in the node: a reason of its own: \(nowhere)")

            // The summary, filtered in the kernel by reason and namespace.
            let rows = counted.jsonLines
            #expect(rows.count >= 1 && rows.allSatisfy { $0["reason"] as? String == "NETFILTER_DROP" && $0["netns"] as? Int == node },
                    "\(counted.stdout.text)")
            #expect(rows.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == 3, "\(counted.stdout.text)")
            KernelSupport.works("skbdrop")
        }

        /// Pod A connects to the ClusterIP; iptables in the node sends it to
        /// pod B's port 8080. A request of 1000 bytes, a reply of 2000, and
        /// pod A closes first.
        @Test func tcplifeAndTcpstatesFollowAConnectionThroughAClusterIP() throws {
            let net = try PodNetwork()
            let life = try ToolRun("tcplife", ["--json"])
            let states = try ToolRun("tcpstates", ["--json", "--netns", net.podA])
            // Filtered in the kernel: the ClusterIP's address and port match
            // the connecting side only.
            let service = try ToolRun("tcplife", ["--json", "--host", net.clusterIP, "--port", "80"])
            #expect(life.waitUntilAttached() && states.waitUntilAttached() && service.waitUntilAttached(),
                    "\(life.stderr.text) \(states.stderr.text) \(service.stderr.text)")
            let server = try net.backend(reading: 1000, reply: 2000)
            let client = try net.python(net.podA, """
                import socket
                s = socket.create_connection(("\(net.clusterIP)", 80))
                print("port", s.getsockname()[1])
                s.sendall(b"q" * 1000)
                n = 0
                while n < 2000:
                    n += len(s.recv(4096))
                s.close()
                """)
            #expect(client.finish(timeout: 60) == 0 && server.finish(timeout: 60) == 0, "\(client.stderr.text) \(server.stderr.text)")
            let port = Int(client.stdout.text.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            usleep(500_000)
            for run in [life, states, service] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }
            let serviceLines = service.jsonLines.filter { $0["netns"] as? Int == net.inode(net.podA) || $0["netns"] as? Int == net.inode(net.podB) }
            #expect(serviceLines.count == 1 && serviceLines.first?["sport"] as? Int == port && serviceLines.first?["dport"] as? Int == 80,
                    "--host and --port keep the client's side: \(service.stdout.text)")

            // The connecting side sees the ClusterIP it dialled.
            let lives = life.jsonLines
            let out = lives.filter { $0["netns"] as? Int == net.inode(net.podA) && $0["sport"] as? Int == port }
            #expect(out.count == 1, "\(life.stdout.text)")
            if let c = out.first {
                #expect(c["pid"] as? Int == Int(client.process.processIdentifier) && c["comm"] as? String == "python3"
                        && c["saddr"] as? String == net.addressA && c["daddr"] as? String == net.clusterIP && c["dport"] as? Int == 80
                        && c["tx_bytes"] as? Int == 1000 && c["rx_bytes"] as? Int == 2000 && c["passive"] as? Bool == false, "\(c)")
            }
            // The accepting side, in pod B, sees the translated backend address.
            let accepted = lives.filter { $0["netns"] as? Int == net.inode(net.podB) && $0["dport"] as? Int == port }
            #expect(accepted.count == 1, "\(life.stdout.text)")
            if let a = accepted.first {
                #expect(a["pid"] as? Int == Int(server.process.processIdentifier) && a["saddr"] as? String == net.addressB
                        && a["sport"] as? Int == 8080 && a["daddr"] as? String == net.addressA
                        && a["tx_bytes"] as? Int == 2000 && a["rx_bytes"] as? Int == 1000 && a["passive"] as? Bool == true, "\(a)")
            }

            // Every change of the client's socket, in order, in pod A only.
            let changes = states.jsonLines
            #expect(changes.allSatisfy { $0["netns"] as? Int == net.inode(net.podA) }, "--netns keeps pod A")
            let socket = changes.first { $0["newstate"] as? String == "ESTABLISHED" && $0["sport"] as? Int == port }?["skaddr"] as? String
            let mine = changes.filter { $0["skaddr"] as? String == socket }
            #expect(mine.map { $0["newstate"] as? String ?? "" } == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "CLOSE"], "\(states.stdout.text)")
            #expect(mine.allSatisfy { $0["pid"] as? Int == Int(client.process.processIdentifier) && $0["daddr"] as? String == net.clusterIP },
                    "the owner, known from connect() on: \(mine)")
            #expect((mine.first { $0["oldstate"] as? String == "ESTABLISHED" }?["in_state_ns"] as? Int ?? 0) > 0)
            KernelSupport.works("tcplife")
            KernelSupport.works("tcpstates")
        }

        /// netem drops a tenth of pod A's packets; every retransmitted
        /// segment of the connection is reported, as many as the socket's
        /// own count (TCP_INFO's total_retrans). One segment per packet
        /// (gso_max_segs 1), so a retransmit is one segment.
        @Test func tcpretransSeesEachRetransmitUnderPacketLoss() throws {
            let net = try PodNetwork()
            try net.inNamespace(net.podA, ["ip", "link", "set", "dev", "eth0", "gso_max_segs", "1"])
            // netem where the kernel has it (the kernel lane's); this
            // host's kernel is built without it, so there the node drops
            // the same share of pod A's packets with iptables instead.
            let netem = try Command.run(["ip", "netns", "exec", net.podA, "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "10%"])
            if netem.status != 0 {
                #expect(!TestEnvironment.inKernelLane, "the lane's kernel has netem: \(netem.output)")
                try net.inNamespace(net.node, ["iptables", "-I", "FORWARD", "-s", net.addressA, "-m", "statistic", "--mode", "random",
                                               "--probability", "0.1", "-j", "DROP"])
            }
            print("tcpretrans: 10% loss by \(netem.status == 0 ? "netem" : "iptables (no netem in this kernel)")")
            let run = try ToolRun("tcpretrans", ["--json", "--resets", "--netns", net.podA])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let server = try net.backend(reading: 20000, reply: 2)
            let client = try net.python(net.podA, """
                import socket, struct, time
                s = socket.create_connection(("\(net.clusterIP)", 80))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for _ in range(200):
                    s.sendall(b"d" * 100)
                    time.sleep(0.002)
                got = b""
                while len(got) < 2:
                    got += s.recv(2)
                info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
                print(s.getsockname()[1], struct.unpack_from("I", info, 100)[0])
                s.close()
                """)
            #expect(client.finish(timeout: 120) == 0 && server.finish(timeout: 120) == 0, "\(client.stderr.text) \(server.stderr.text)")
            usleep(300_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let words = client.stdout.text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
            try #require(words.count == 2, "\(client.stdout.text)")
            let (port, retransmitted) = (words[0], words[1])
            // Before TCP_INFO was read: a lost SYN's retransmit (SYN_SENT)
            // counts too; the FIN's, after it, do not.
            let events = run.jsonLines.filter {
                $0["sport"] as? Int == port && ["SYN_SENT", "ESTABLISHED"].contains($0["state"] as? String ?? "")
            }
            print("tcpretrans: \(events.count) retransmits seen, the socket counted \(retransmitted)")
            #expect(retransmitted > 0, "10% loss over 200 segments retransmits some")
            #expect(events.count == retransmitted && events.allSatisfy { $0["kind"] as? String == "RETRANS" && $0["daddr"] as? String == net.clusterIP },
                    "\(run.stdout.text)")
            KernelSupport.works("tcpretrans")
        }
    }
}
