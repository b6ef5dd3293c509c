// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// pktjourney on the node built from network namespaces (NetworkToolTests'
/// PodNetwork: a cni0 bridge, pods on veths, a ClusterIP DNAT rule and a
/// DROP rule), with a network outside the node reached through MASQUERADE.
extension Privileged {
    @Suite struct PacketJourney {
        init() throws { _ = try Privileged() }

        typealias PodNetwork = Privileged.Network.PodNetwork

        /// The node, and an outside network on ext0 whose traffic from the
        /// pods is masqueraded to the node's address there.
        final class Node {
            let pods: PodNetwork
            let outside: String
            let outsideAddress = "192.168.77.2", nodeOutside = "192.168.77.1"

            init() throws {
                pods = try PodNetwork()
                outside = "swbpf-out-\(getpid() % 100_000)"
                _ = try? Command.run(["ip", "netns", "del", outside])
                try PodNetwork.must(["ip", "netns", "add", outside])
                try PodNetwork.must(["ip", "-n", outside, "link", "set", "lo", "up"])
                try PodNetwork.must(["ip", "link", "add", "ext0", "netns", pods.node, "type", "veth", "peer", "name", "eth0", "netns", outside])
                try PodNetwork.must(["ip", "-n", pods.node, "addr", "add", nodeOutside + "/24", "dev", "ext0"])
                try PodNetwork.must(["ip", "-n", pods.node, "link", "set", "ext0", "up"])
                try PodNetwork.must(["ip", "-n", outside, "addr", "add", outsideAddress + "/24", "dev", "eth0"])
                try PodNetwork.must(["ip", "-n", outside, "link", "set", "eth0", "up"])
                try pods.inNamespace(pods.node, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.244.0.0/24", "-o", "ext0", "-j", "MASQUERADE"])
                // Neighbours known before anything is traced.
                try pods.inNamespace(pods.podA, ["ping", "-c", "1", "-W", "2", outsideAddress])
            }

            deinit { _ = try? Command.run(["ip", "netns", "del", outside]) }

            /// A UDP listener in `ns` on `port` that takes one datagram.
            func udpListener(_ ns: String, _ port: Int) throws -> ToolRun {
                let run = try ToolRun(absolute: "/usr/sbin/ip", ["netns", "exec", ns, Network.python, "-u", "-c", """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(("0.0.0.0", \(port)))
                    print("ready")
                    s.recvfrom(100)
                    """])
                try #require(run.stdout.wait(for: "ready"), "\(run.stderr.text)")
                return run
            }

            /// One UDP datagram from pod A.
            func send(to address: String, _ port: Int) throws {
                try pods.inNamespace(pods.podA, [Network.python, "-c",
                    "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'journey', ('\(address)', \(port)))"])
            }
        }

        /// pktjourney with `arguments` in JSON while `work` runs; the
        /// journeys it printed once `count` were seen.
        static func journeys(_ arguments: [String], count: Int, _ work: () throws -> Void) throws -> [[String: Any]] {
            let run = try ToolRun("pktjourney", ["--json"] + arguments)
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end", timeout: 60), "\(run.stderr.text)")
            try work()
            let end = Date().addingTimeInterval(10)
            while run.jsonLines.count < count && Date() < end { usleep(50_000) }
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            return run.jsonLines
        }

        /// A journey's hops as `point@namespace-name/device`, with the
        /// translation of netfilter hops.
        static func path(_ journey: [String: Any]) -> [String] {
            ((journey["hops"] as? [[String: Any]]) ?? []).map { hop in
                var s = "\(hop["point"] ?? "?")"
                if let dev = hop["dev"] as? String { s += " " + dev }
                if let d = hop["nat_daddr"] as? String { s += " dnat \(d):\(hop["nat_dport"] ?? "")" }
                if let src = hop["nat_saddr"] as? String { s += " snat \(src)" }
                return s
            }
        }
    }
}

extension Privileged.PacketJourney {
    /// The hops of the one journey of `journeys` that `matches`.
    static func journey(_ journeys: [[String: Any]], _ matches: ([String: Any]) -> Bool) throws -> [String: Any] {
        let found = journeys.filter(matches)
        try #require(found.count == 1, "\(journeys.map { "\($0["saddr"] ?? ""):\($0["sport"] ?? "") > \($0["daddr"] ?? ""):\($0["dport"] ?? "") \(path($0))" })")
        return found[0]
    }

    /// What a journey shows on every kernel: the devices it crossed. Where
    /// the kernel has netfilter programs (6.4+), all of `expected`.
    static func check(_ journey: [String: Any], _ expected: [String], netfilter: Bool = Kernel.supports(.netfilterLinks)) {
        let seen = path(journey).filter { $0 != "free" }
        if netfilter {
            #expect(seen == expected, "\(seen)")
        } else {
            let devices = { (p: [String]) in p.filter { $0.hasPrefix("rx ") || $0.hasPrefix("tx ") } }
            #expect(devices(seen) == devices(expected), "\(seen)")
        }
    }

    /// The namespaces (their inodes) of a journey's device hops, in order.
    static func namespaces(_ journey: [String: Any]) -> [Int] {
        ((journey["hops"] as? [[String: Any]]) ?? []).filter { ["rx", "tx"].contains($0["point"] as? String ?? "") }.compactMap { $0["netns"] as? Int }
    }

    /// Pod to pod on the bridge, and pod to outside the node through
    /// MASQUERADE: UDP, so each is one packet.
    @Test func podToPodAndPodToOutside() throws {
        guard Kernel.supports(.dropReasons) else { return try KernelSupport.expectRefusal("pktjourney", ["--duration", "1"], "drop reasons need Linux 5.17") }
        let node = try Node()
        let pods = node.pods
        let b = try node.udpListener(pods.podB, 7001)
        let out = try node.udpListener(node.outside, 7002)
        let all = try Self.journeys(["--host", pods.addressA, "--proto", "udp"], count: 2) {
            try node.send(to: pods.addressB, 7001)
            try node.send(to: node.outsideAddress, 7002)
        }
        _ = b.finish(timeout: 5)
        _ = out.finish(timeout: 5)
        let toB = try Self.journey(all) { $0["dport"] as? Int == 7001 }
        #expect(toB["saddr"] as? String == pods.addressA && toB["daddr"] as? String == pods.addressB, "\(toB)")
        Self.check(toB, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "forward cni0", "postrouting cni0",
                         "tx veth-b", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        #expect(Self.namespaces(toB) == [pods.inode(pods.podA), pods.inode(pods.node), pods.inode(pods.node), pods.inode(pods.podB)], "\(toB)")

        let outside = try Self.journey(all) { $0["dport"] as? Int == 7002 }
        Self.check(outside, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "rx cni0", "route ext0", "forward cni0",
                             "postrouting cni0 snat \(node.nodeOutside)", "tx ext0", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        #expect(Self.namespaces(outside).last == pods.inode(node.outside), "\(outside)")
        KernelSupport.works("pktjourney")
    }

    /// A connection to a ClusterIP: the DNAT to the backend at PREROUTING,
    /// and on the reply the reverse translation at POSTROUTING.
    @Test func podToClusterIPAndBack() throws {
        let node = try Node()
        let pods = node.pods
        // Once untraced, so the first connection's neighbour work is done.
        let warm = try pods.backend(reading: 1, reply: 1)
        try pods.inNamespace(pods.podA, [Privileged.Network.python, "-c", "import socket; s = socket.create_connection(('\(pods.clusterIP)', 80)); s.sendall(b'x'); s.recv(1); s.close()"])
        _ = warm.finish(timeout: 5)
        let server = try pods.backend(reading: 1, reply: 1)
        let all = try Self.journeys(["--host", pods.addressA, "--proto", "tcp"], count: 2) {
            try pods.inNamespace(pods.podA, [Privileged.Network.python, "-c", "import socket; s = socket.create_connection(('\(pods.clusterIP)', 80)); s.sendall(b'x'); s.recv(1); s.close()"])
        }
        _ = server.finish(timeout: 5)
        let syn = try Self.journey(all) { $0["tcp_flags"] as? String == "S" }
        #expect(syn["daddr"] as? String == pods.clusterIP && syn["dport"] as? Int == 80, "\(syn)")
        Self.check(syn, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0 dnat \(pods.addressB):8080", "route cni0",
                         "forward cni0", "postrouting cni0", "tx veth-b", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        let synAck = try Self.journey(all) { $0["tcp_flags"] as? String == "S." }
        #expect(synAck["saddr"] as? String == pods.addressB && synAck["sport"] as? Int == 8080, "\(synAck)")
        Self.check(synAck, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-b", "prerouting cni0", "forward cni0",
                            "postrouting cni0 snat \(pods.clusterIP)", "tx veth-a", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        if Kernel.supports(.netfilterLinks) {
            let hops = (syn["hops"] as? [[String: Any]]) ?? []
            #expect(hops.first { $0["point"] as? String == "prerouting" && $0["dev"] as? String == "cni0" }?["ct_state"] as? String == "NEW", "\(hops)")
            let back = (synAck["hops"] as? [[String: Any]]) ?? []
            let post = back.first { $0["point"] as? String == "postrouting" && $0["dev"] as? String == "cni0" }
            #expect(post?["ct_state"] as? String == "ESTABLISHED reply" && post?["nat_sport"] as? Int == 80, "\(back)")
        }
    }

    /// A packet the FORWARD chain drops: the drop, its reason and place.
    @Test func aDroppedPacketSaysWhereAndWhy() throws {
        let node = try Node()
        let pods = node.pods
        let all = try Self.journeys(["--host", pods.addressB, "--port", "9090"], count: 1) {
            try pods.inNamespace(pods.podA, [Privileged.Network.python, "-c", Privileged.Network.attempts(pods.addressB, 9090, 1)])
        }
        let dropped = try Self.journey(all) { $0["tcp_flags"] as? String == "S" }
        #expect(dropped["verdict"] as? String == "dropped", "\(dropped)")
        Self.check(dropped, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "forward cni0", "drop veth-b"])
        let drop = ((dropped["hops"] as? [[String: Any]]) ?? []).last
        #expect(drop?["reason"] as? String == "NETFILTER_DROP", "\(drop ?? [:])")
        // Netfilter's own code: nf_hook_slow, or nftables' chain walk.
        #expect((drop?["location"] as? String ?? "").hasPrefix("nf"), "location: \(drop?["location"] ?? "none")")
    }

    /// Without the netfilter hooks (as on a kernel before 6.4): the same
    /// packet's devices, in order, and nothing else of the hooks.
    @Test func withoutNetfilterTheDevicesRemain() throws {
        let node = try Node()
        let pods = node.pods
        let b = try node.udpListener(pods.podB, 7001)
        let all = try Self.journeys(["--no-netfilter", "--host", pods.addressB, "--port", "7001"], count: 1) {
            try node.send(to: pods.addressB, 7001)
        }
        _ = b.finish(timeout: 5)
        let toB = try Self.journey(all) { _ in true }
        Self.check(toB, ["tx eth0", "rx veth-a", "tx veth-b", "rx eth0"], netfilter: false)
        #expect(!Self.path(toB).contains { ["prerouting", "input", "forward", "output", "postrouting"].contains(String($0.prefix { $0 != " " })) }, "\(Self.path(toB))")
    }

    /// A datagram read by a socket is freed with no tracepoint, and the slab
    /// hands its skb and buffer to the next packet made on that CPU. Here
    /// one process on one CPU sends from pod A, reads in pod B and at once
    /// sends, from the node (another namespace) or from pod B to itself
    /// (the same namespace, the same IP identification): each journey holds
    /// its own packet's hops only.
    @Test func aFreedSkbsNextPacketIsNotJoined() throws {
        let node = try Node()
        let pods = node.pods
        let rounds = 20
        try PodNetwork.must(["ip", "-n", pods.podB, "link", "set", "lo", "up"])
        let all = try Self.journeys(["--no-netfilter", "--host", pods.addressB, "--port", "7001"], count: rounds) {
            let run = try Command.run(["taskset", "-c", "0", Privileged.Network.python, "-c", """
                import ctypes, os, socket, time
                libc = ctypes.CDLL(None, use_errno=True)
                def socket_in(ns):
                    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
                    assert libc.setns(fd, 0x40000000) == 0
                    os.close(fd)
                    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                listener = socket_in("\(pods.podB)")
                listener.bind(("0.0.0.0", 7001))
                pod = socket_in("\(pods.podA)")
                node = socket_in("\(pods.node)")
                for i in range(\(rounds)):
                    pod.sendto(b"journey", ("\(pods.addressB)", 7001))
                    listener.recvfrom(100)
                    if i % 2:
                        listener.sendto(b"next", ("127.0.0.1", 7003))
                    else:
                        node.sendto(b"next", ("\(node.outsideAddress)", 7002))
                    time.sleep(0.02)
                """])
            #expect(run.status == 0, "\(run.output)")
        }
        #expect(all.count == rounds, "\(all.map { Self.path($0) })")
        for journey in all {
            let devices = Self.path(journey).filter { $0.hasPrefix("rx ") || $0.hasPrefix("tx ") }
            #expect(devices == ["tx eth0", "rx veth-a", "tx veth-b", "rx eth0"], "\(Self.path(journey))")
            #expect(Self.namespaces(journey) == [pods.inode(pods.podA), pods.inode(pods.node), pods.inode(pods.node), pods.inode(pods.podB)], "\(journey)")
        }
    }

    /// The text form, a summary per path, and bad input.
    @Test func textSummaryAndUsage() throws {
        let node = try Node()
        let pods = node.pods
        let b = try node.udpListener(pods.podB, 7001)
        let run = try ToolRun("pktjourney", ["--summary", "--host", pods.addressB, "--port", "7001"])
        #expect(run.stderr.wait(for: "Hit Ctrl-C to end", timeout: 60), "\(run.stderr.text)")
        try node.send(to: pods.addressB, 7001)
        _ = b.finish(timeout: 5)
        usleep(600_000)
        run.signal(SIGINT)
        #expect(run.finish() == 0, "\(run.stderr.text)")
        let lines = run.stdout.text.split(separator: "\n")
        #expect(lines.first == "COUNT    PATH" && lines.count == 2 && lines[1].hasPrefix("1        ") && lines[1].contains("veth-b tx"), "\(run.stdout.text)")
        for (args, mention) in [(["--proto", "gre2"], "--proto 'gre2'"), (["--port", "0"], "--port must be"), (["-p", "1"], "-p selects tasks"),
                                (["--max-journeys", "0"], "--max-journeys")] {
            let bad = try ToolRun.complete("pktjourney", args)
            #expect(bad.status == 2 && bad.stderr.contains(mention) && bad.stderr.split(separator: "\n").count == 1, "\(args): \(bad.stderr)")
        }
        let strict = try ToolRun.complete("pktjourney", ["--require-netfilter", "--duration", "0.1"])
        if Kernel.supports(.netfilterLinks) {
            #expect(strict.status == 0, "\(strict.stderr)")
        } else {
            #expect(strict.status == 2 && strict.stderr.contains("need Linux 6.4+"), "\(strict.stderr)")
        }
    }
}
