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

            /// A UDP listener in `ns` on `port` that prints the sender of
            /// the one datagram it takes.
            func udpReceiver(_ ns: String, _ port: Int) throws -> ToolRun {
                let run = try ToolRun(absolute: "/usr/sbin/ip", ["netns", "exec", ns, Network.python, "-u", "-c", """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(("0.0.0.0", \(port)))
                    print("ready")
                    data, peer = s.recvfrom(100)
                    print("from %s:%d %s" % (peer[0], peer[1], data.decode()))
                    """])
                try #require(run.stdout.wait(for: "ready"), "\(run.stderr.text)")
                return run
            }

            /// One connection from pod A to the ClusterIP: a byte each way.
            func connectToClusterIP() throws {
                try pods.inNamespace(pods.podA, [Network.python, "-c",
                    "import socket; s = socket.create_connection(('\(pods.clusterIP)', 80)); s.sendall(b'x'); s.recv(1); s.close()"])
            }

            /// One connection to the ClusterIP, untraced, so the next one
            /// finds its neighbours known.
            func warmClusterIP() throws {
                let warm = try pods.backend(reading: 1, reply: 1)
                try connectToClusterIP()
                _ = warm.finish(timeout: 5)
            }

            /// One UDP datagram from pod A.
            func send(to address: String, _ port: Int) throws {
                try pods.inNamespace(pods.podA, [Network.python, "-c",
                    "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'journey', ('\(address)', \(port)))"])
            }
        }

        /// pktjourney with `arguments` in JSON while `work` runs; the
        /// journeys it printed once `count` were seen.
        static func journeys(_ arguments: [String], count: Int, wrapper: [String] = [], _ work: () throws -> Void) throws -> [[String: Any]] {
            let run = try ToolRun("pktjourney", ["--json"] + arguments, wrapper: wrapper)
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
        try node.warmClusterIP()
        let server = try pods.backend(reading: 1, reply: 1)
        let all = try Self.journeys(["--host", pods.addressA, "--proto", "tcp"], count: 2) {
            try node.connectToClusterIP()
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

    /// A tap (tcpdump; here a packet socket in the node's namespace, never
    /// read) holds a clone of every packet there, so NAT copies a packet's
    /// data before rewriting it: the ClusterIP's DNAT, its reply's reverse
    /// translation (a SYN-ACK, whose IPv4 identification is 0), and the
    /// MASQUERADE of a datagram sent unconnected (0 too). Each journey goes
    /// on with the copy, as without the tap.
    @Test func aPacketATapAlsoHoldsIsFollowedThroughNAT() throws {
        let node = try Node()
        let pods = node.pods
        try node.warmClusterIP()
        let tap = try ToolRun(absolute: "/usr/bin/nsenter", ["--net=/run/netns/\(pods.node)", Privileged.Network.python, "-u", "-c",
            "import socket, time\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))\nprint('ready')\ntime.sleep(120)"])
        defer { tap.signal(SIGKILL); _ = tap.finish() }
        try #require(tap.stdout.wait(for: "ready"), "\(tap.stderr.text)")
        let server = try pods.backend(reading: 1, reply: 1)
        let out = try node.udpListener(node.outside, 7002)
        let all = try Self.journeys(["--host", pods.addressA], count: 3) {
            try node.connectToClusterIP()
            try node.send(to: node.outsideAddress, 7002)
        }
        _ = server.finish(timeout: 5)
        #expect(out.finish(timeout: 5) == 0)
        let syn = try Self.journey(all) { $0["tcp_flags"] as? String == "S" }
        Self.check(syn, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0 dnat \(pods.addressB):8080", "route cni0",
                         "forward cni0", "postrouting cni0", "tx veth-b", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        let synAck = try Self.journey(all) { $0["tcp_flags"] as? String == "S." }
        Self.check(synAck, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-b", "prerouting cni0", "forward cni0",
                            "postrouting cni0 snat \(pods.clusterIP)", "tx veth-a", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        let outside = try Self.journey(all) { $0["dport"] as? Int == 7002 }
        Self.check(outside, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "rx cni0", "route ext0", "forward cni0",
                             "postrouting cni0 snat \(node.nodeOutside)", "tx ext0", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
    }

    /// IPv6, routed by the node from pod A to the outside network: the
    /// node's route (fib6) and the outside's, as IPv4's.
    @Test func anIPv6PacketsRoutes() throws {
        let node = try Node()
        let pods = node.pods
        let (podA, nodeA, outside, nodeOut) = ("fd00:244::2", "fd00:244::1", "fd00:77::2", "fd00:77::1")
        for (ns, address, dev) in [(pods.podA, podA, "eth0"), (pods.node, nodeA, "cni0"), (node.outside, outside, "eth0"), (pods.node, nodeOut, "ext0")] {
            try PodNetwork.must(["ip", "-n", ns, "-6", "addr", "add", address + "/64", "dev", dev, "nodad"])
        }
        try PodNetwork.must(["ip", "-n", pods.podA, "-6", "route", "add", "default", "via", nodeA])
        try PodNetwork.must(["ip", "-n", node.outside, "-6", "route", "add", "fd00:244::/64", "via", nodeOut])
        try pods.inNamespace(pods.node, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        // Neighbours known before anything is traced.
        // (Until the link-local addresses are out of DAD, neighbour discovery
        // may go unanswered: ping until one answer, for 5 s at most.)
        try pods.inNamespace(pods.podA, ["ping", "-6", "-c", "1", "-w", "5", outside])
        let listener = try ToolRun(absolute: "/usr/sbin/ip", ["netns", "exec", node.outside, Privileged.Network.python, "-u", "-c", """
            import socket
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind(("::", 7006))
            print("ready")
            s.recvfrom(100)
            """])
        try #require(listener.stdout.wait(for: "ready"), "\(listener.stderr.text)")
        let all = try Self.journeys(["--host", podA, "--port", "7006"], count: 1) {
            try pods.inNamespace(pods.podA, [Privileged.Network.python, "-c",
                "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'journey', ('\(outside)', 7006))"])
        }
        #expect(listener.finish(timeout: 5) == 0)
        let journey = try Self.journey(all) { _ in true }
        #expect(journey["saddr"] as? String == podA && journey["daddr"] as? String == outside, "\(journey)")
        Self.check(journey, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "rx cni0", "route ext0", "forward cni0",
                             "postrouting cni0", "tx ext0", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        let route = ((journey["hops"] as? [[String: Any]]) ?? []).first { $0["point"] as? String == "route" }
        #expect(route?["dev"] as? String == "ext0" && route?["table"] as? Int == 254 && route?["netns"] as? Int == pods.inode(pods.node), "\(route ?? [:])")
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
        // Before 5.17 the kernel gives no reason.
        #expect(drop?["reason"] as? String == (Kernel.supports(.dropReasons) ? "NETFILTER_DROP" : nil), "\(drop ?? [:])")
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

    /// `--pod`: the packets that start in the pod's network namespace (that
    /// of its processes), or enter it; none of the others.
    @Test func aPodsPacketsAreFollowedFromItsNamespace() throws {
        let node = try Node()
        let pods = node.pods
        // Pod A's sandbox process, in the pod's cgroup as the kubelet and
        // containerd make it, and in pod A's network namespace.
        let fake = try FakeNode()
        let cart = try fake.pod(.containerdSystemd, namespace: "shop", name: "cart", container: "app")
        _ = try fake.pod(.crioCgroupfs, namespace: "shop", name: "idle", container: "app")
        // (nsenter, not ip netns exec, which mounts another /sys.)
        let holder = try ToolRun(absolute: "/usr/bin/nsenter", ["--net=/run/netns/\(pods.podA)", "sh", "-c",
            "echo $$ > \(fake.hierarchy.mountPoint + cart.path)/cgroup.procs && echo ready && exec sleep 120"])
        defer { holder.signal(SIGKILL); _ = holder.finish() }
        try #require(holder.stdout.wait(for: "ready"), "\(holder.stderr.text)")
        let env = ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(fake.root)"]
        let b = try node.udpListener(pods.podB, 7001)
        let out = try node.udpListener(node.outside, 7002)
        let all = try Self.journeys(["--pod", "shop/cart", "--proto", "udp"], count: 1, wrapper: env) {
            // From pod B to outside the node: never in pod A's namespace.
            try pods.inNamespace(pods.podB, [Privileged.Network.python, "-c",
                "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'journey', ('\(node.outsideAddress)', 7002))"])
            // From pod A to pod B: followed from its first hop.
            try node.send(to: pods.addressB, 7001)
        }
        #expect(b.finish(timeout: 5) == 0 && out.finish(timeout: 5) == 0, "both datagrams arrived")
        #expect(all.count == 1, "\(all.map { Self.path($0) })")
        let toB = try Self.journey(all) { $0["dport"] as? Int == 7001 }
        #expect(toB["saddr"] as? String == pods.addressA, "\(toB)")
        Self.check(toB, ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "forward cni0", "postrouting cni0",
                         "tx veth-b", "rx eth0", "prerouting eth0", "route eth0", "input eth0"])
        let first = ((toB["hops"] as? [[String: Any]]) ?? []).first
        #expect(first?["netns"] as? Int == pods.inode(pods.podA), "\(toB)")
        // Bad input: one line, exit 2.
        for (args, mention) in [(["--pod", "shop/nope"], "no container or pod matches --pod shop/nope"),
                                (["--pod", "shop/idle"], "--pod shop/idle: no process of it is running"),
                                (["--pod", "shop/cart", "--netns", pods.podA], "both choose a network namespace")] {
            let run = try ToolRun.complete("pktjourney", args, wrapper: env)
            #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention), "\(args): \(run.status) \(run.stderr)")
        }
    }

    /// kube-proxy's IPVS mode: virtual services on the node (their
    /// addresses on a dummy device, as kube-ipvs0 holds them),
    /// masquerading to a real server. The journey shows the hop where IPVS
    /// chose it: for a pod's packet (taken at INPUT), a local client's
    /// (taken at OUTPUT), and a packet for a real server on the node
    /// (given back to INPUT). ip_vs is a module of the kernel lane's
    /// kernels; the host has none.
    @Test func anIPVSServiceChoosesARealServer() throws {
        let load = try Command.run(["modprobe", "ip_vs"])
        guard load.status == 0 else {
            #expect(!TestEnvironment.inKernelLane, "the lane's kernels have ip_vs: \(load.output)")
            return
        }
        let node = try Node()
        let pods = node.pods
        let (vip, local, onNode) = ("10.96.0.20", "10.96.0.22", "10.96.0.21")
        try pods.inNamespace(pods.node, ["ip", "link", "add", "kube-ipvs0", "type", "dummy"])
        for (service, server) in [(vip, pods.addressB + ":8080"), (local, pods.addressB + ":8082"), (onNode, pods.gateway + ":8081")] {
            try pods.inNamespace(pods.node, ["ip", "addr", "add", service + "/32", "dev", "kube-ipvs0"])
            try pods.inNamespace(pods.node, ["ipvsadm", "-A", "-u", service + ":80", "-s", "rr"])
            try pods.inNamespace(pods.node, ["ipvsadm", "-a", "-u", service + ":80", "-r", server, "-m"])
        }
        let receivers = [try node.udpReceiver(pods.podB, 8080), try node.udpReceiver(pods.podB, 8082), try node.udpReceiver(pods.node, 8081)]
        // The hop needs kprobes and the module's BTF (Linux 5.11); without
        // it the local client's packet is not followed (see check()).
        let shown = Kernel.supports(.kprobes) && FileManager.default.fileExists(atPath: "/sys/kernel/btf/ip_vs")
        let all = try Self.journeys(["--port", "80", "--proto", "udp"], count: shown ? 3 : 2) {
            try node.send(to: vip, 80)
            try pods.inNamespace(pods.node, [Privileged.Network.python, "-c",
                "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'journey', ('\(local)', 80))"])
            try node.send(to: onNode, 80)
        }
        // Each real server got its datagram: from pod A, or from the local
        // client's source, the service's address.
        for (r, from) in zip(receivers, [pods.addressA, local, pods.addressA]) {
            #expect(r.finish(timeout: 5) == 0 && r.stdout.text.contains("\nfrom \(from):"), "\(r.stdout.text)")
        }
        /// `path` on a kernel without netfilter programs; `hooks` where
        /// it has them.
        func check(_ service: String, _ path: [String], hooks: [String]) throws {
            // Without the hop, a local client's packet is seen first after
            // IPVS rewrote it, when it no longer matches --port 80.
            if !shown && path.first?.hasPrefix("ipvs ") == true {
                #expect(!all.contains { $0["daddr"] as? String == service }, "\(all)")
                return
            }
            let journey = try Self.journey(all) { $0["daddr"] as? String == service }
            var expected = Kernel.supports(.netfilterLinks) ? hooks : path
            if !shown { expected.removeAll { $0.hasPrefix("ipvs ") } }
            #expect(Self.path(journey).filter { $0 != "free" } == expected, "\(Self.path(journey))")
        }
        let dnatB = "ipvs cni0 dnat \(pods.addressB):8080", intoB = ["tx veth-b", "tx cni0", "rx eth0"]
        // Into the node by pod A's veth and the bridge; the route to the
        // service's address (local, on kube-ipvs0); IPVS takes it at INPUT,
        // gives it to pod B and sends it out by OUTPUT and the bridge
        // (which reports its own transmit after the port's); into pod B.
        try check(vip, ["tx eth0", "rx veth-a", "rx cni0", "route kube-ipvs0", dnatB] + intoB + ["route eth0"],
                  hooks: ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "rx cni0", "route kube-ipvs0", "input cni0",
                          dnatB, "output cni0", "postrouting cni0"] + intoB + ["prerouting eth0", "route eth0", "input eth0"])
        // A local client's: taken at OUTPUT (its route's device is lo).
        let dnatLocal = "ipvs lo dnat \(pods.addressB):8082"
        try check(local, [dnatLocal] + intoB + ["route eth0"],
                  hooks: ["output lo", dnatLocal, "output cni0", "postrouting cni0"] + intoB + ["prerouting eth0", "route eth0", "input eth0"])
        // For a real server on the node: given back to INPUT.
        let dnatNode = "ipvs cni0 dnat \(pods.gateway):8081"
        try check(onNode, ["tx eth0", "rx veth-a", "rx cni0", "route kube-ipvs0", dnatNode],
                  hooks: ["output eth0", "postrouting eth0", "tx eth0", "rx veth-a", "prerouting cni0", "rx cni0", "route kube-ipvs0", "input cni0",
                          dnatNode, "input cni0"])
        // The text form names the real server.
        let again = try node.udpReceiver(pods.podB, 8080)
        let text = try ToolRun("pktjourney", ["--host", pods.addressA, "--proto", "udp"])
        #expect(text.stderr.wait(for: "Hit Ctrl-C to end", timeout: 60), "\(text.stderr.text)")
        try node.send(to: vip, 80)
        #expect(again.finish(timeout: 5) == 0)
        #expect(text.stdout.wait(for: "rx", timeout: 10))
        text.signal(SIGINT)
        #expect(text.finish() == 0, "\(text.stderr.text)")
        print(text.stdout.text)
        #expect(text.stdout.text.contains(shown ? " → IPVS → \(pods.addressB):8080 → " : " → veth-b tx → "), "\(text.stdout.text)")
        #expect(shown != text.stderr.text.contains("pktjourney: IPVS hops are not shown: "), "\(text.stderr.text)")
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
