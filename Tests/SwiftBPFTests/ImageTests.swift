// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import TestSupport
import Testing

/// The DaemonSet image (`make image`), run with podman the way
/// deploy/daemonset.yaml runs it: the listed capabilities only, a PID
/// namespace of its own, the node's cgroup hierarchy, tracefs, BTF and the
/// runtime's container records (podman's here) mounted read-only, a
/// read-only root. Another container's work must show up under that
/// container's name.
extension Privileged {
    @Suite struct Image {
        init() throws { _ = try Privileged() }

        static let image = "localhost/swiftbpf:latest"

        @Test(.enabled(if: !TestEnvironment.inKernelLane, "podman runs on the host; the lane's guest boots the host's root read-only"))
        func imageRunsAsTheDaemonSetSays() throws {
            let exists = try Command.run(["podman", "image", "exists", Self.image])
            try #require(exists.status == 0, "no \(Self.image): `make image` builds it (make test does first)")
            let busybox = try Privileged.Containers.podmanImage()

            // The node's tracefs, as a kubelet host has it mounted.
            let tracefs = try TestEnvironment.temporaryDirectory()
            try #require(mount("tracefs", tracefs, "tracefs", 0, nil) == 0, "mount tracefs at \(tracefs): errno \(errno)")
            defer { umount2(tracefs, Int32(MNT_DETACH)) }
            let cgroup = try CgroupHierarchy().mountPoint
            let port = Privileged.Exporter.freePort()
            let name = "swbpf-exporter-\(UInt32.random(in: 0...UInt32.max))"
            let run = try Command.run(Privileged.Containers.podman + [
                "run", "-d", "--name", name, "--network=host", "--read-only",
                "--cap-drop=ALL", "--cap-add=BPF,PERFMON,DAC_READ_SEARCH", "--security-opt", "seccomp=unconfined",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
                "-v", "/sys/kernel/btf:/sys/kernel/btf:ro", "-v", "\(tracefs):/sys/kernel/tracing:ro",
                "-v", "\(cgroup):/host/sys/fs/cgroup:ro", "-e", "SWIFTBPF_CGROUP_MOUNT=/host/sys/fs/cgroup",
                "-v", "/var/lib/containers/storage/overlay-containers:/host/var/lib/containers/storage/overlay-containers:ro",
                Self.image, "--listen", "127.0.0.1:\(port)",
            ])
            try #require(run.status == 0, "podman run: \(run.output)")
            defer { _ = try? Command.run(Privileged.Containers.podman + ["rm", "-f", name]) }
            var healthy = false
            for _ in 0..<120 where !healthy {
                healthy = (try? Command.run(["curl", "-sf", "http://127.0.0.1:\(port)/healthz"]))?.output == "ok\n"
                if !healthy { usleep(500_000) }
            }
            let logs = { (try? Command.run(["podman", "logs", name]))?.output ?? "" }
            try #require(healthy, "the exporter serves in its container: \(logs())")

            // Another container: three mkdir commands exec'd into it (busybox's
            // shell would run them without an exec), one failed open.
            let web = "swbpf-web-\(UInt32.random(in: 0...UInt32.max))"
            let started = try Command.run(Privileged.Containers.podman + ["run", "-d", "-i", "--name", web] + Privileged.Containers.limits
                                          + [busybox, "cat"])
            try #require(started.status == 0, "\(started.output)")
            defer { _ = try? Command.run(Privileged.Containers.podman + ["rm", "-f", web]) }
            for dir in ["/tmp/a", "/tmp/b", "/tmp/c"] {
                let made = try Command.run(["podman", "exec", web, "mkdir", dir])
                #expect(made.status == 0, "\(made.output)")
            }
            #expect(try Command.run(["podman", "exec", web, "cat", "/nope"]).status != 0)

            var text = ""
            for _ in 0..<40 {
                text = try Privileged.Exporter.get("http://127.0.0.1:\(port)/metrics")
                if Privileged.Exporter.sum(text, "process_execs_total", where: { $0.contains("comm=\"mkdir\"") && $0.contains("container=\"\(web)\"") }) == 3 { break }
                usleep(250_000)
            }
            #expect(Privileged.Exporter.sum(text, "process_execs_total") { $0.contains("comm=\"mkdir\"") && $0.contains("container=\"\(web)\"") } == 3,
                    "\(text.split(separator: "\n").filter { $0.contains(web) })")
            #expect(Privileged.Exporter.sum(text, "syscall_errors_total") {
                $0.contains("errno=\"ENOENT\"") && $0.contains("syscall=\"openat\"") && $0.contains("container=\"\(web)\"")
            } >= 1)

            try Self.toolsRunInTheAgentsContainer(name, workload: web)

            let programs = loadedProgramIDs(named: ["stats_exit", "stats_enter", "stats_exec", "stats_cgroup_rm", "stats_cgroup_mk"])
            #expect(!programs.isEmpty)
            let stop = try Command.run(["podman", "stop", "-t", "20", name])
            #expect(stop.status == 0, "\(stop.output)")
            let status = try Command.run(["podman", "inspect", "-f", "{{.State.ExitCode}}", name])
            #expect(status.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "SIGTERM ends it cleanly: \(logs())")
            #expect(waitUntilUnloaded(programs).isEmpty, "nothing stays loaded")
        }

        /// The image holds every tool: run in the agent's container as
        /// `kubectl exec` runs them (its capabilities, its read-only root),
        /// they see another container's work. An HTTP request over that
        /// container's loopback: tcplife shows the connection, pktjourney
        /// its packets' device hops (no CAP_NET_ADMIN: no netfilter hops, as
        /// it says), profile samples stacks.
        static func toolsRunInTheAgentsContainer(_ agent: String, workload: String) throws {
            let list = try Command.run(["podman", "exec", agent, "swiftbpf", "--list"])
            #expect(list.status == 0 && list.output.split(separator: "\n").map { String($0.prefix { $0 != " " }) } == AllTools.all, "\(list.output)")
            let server = try Command.run(["podman", "exec", "-d", workload, "/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:7000", "-h", "/tmp"])
            try #require(server.status == 0, "\(server.output)")
            let request = { _ = try? Command.run(["podman", "exec", workload, "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:7000/"]) }

            let tcplife = try ToolRun(absolute: "/usr/bin/podman", ["exec", agent, "tcplife", "--json", "--port", "7000", "--duration", "8"])
            #expect(tcplife.waitUntilAttached(), "\(tcplife.stderr.text)")
            request()
            #expect(tcplife.finish(timeout: 20) == 0, "\(tcplife.stderr.text)")
            // The server's end (busybox httpd), named by its container.
            let served = tcplife.jsonLines.filter { $0["sport"] as? Int == 7000 && $0["passive"] as? Bool == true }
            #expect(served.count == 1 && served.first?["comm"] as? String == "busybox" && served.first?["saddr"] as? String == "127.0.0.1"
                    && served.first?["container.name"] as? String == workload && (served.first?["rx_bytes"] as? Int ?? 0) > 0, "\(tcplife.stdout.text)")

            let journey = try ToolRun(absolute: "/usr/bin/podman", ["exec", agent, "pktjourney", "--json", "--port", "7000", "--proto", "tcp", "--duration", "8"])
            #expect(journey.waitUntilAttached(), "\(journey.stderr.text)")
            #expect(journey.stderr.text.contains("netfilter hops are not shown: BPF netfilter programs need CAP_NET_ADMIN"), "\(journey.stderr.text)")
            request()
            #expect(journey.finish(timeout: 20) == 0, "\(journey.stderr.text)")
            let syn = journey.jsonLines.first { $0["tcp_flags"] as? String == "S" && $0["dport"] as? Int == 7000 }
            let hops = ((syn?["hops"] as? [[String: Any]]) ?? []).map { "\($0["point"] ?? "") \($0["dev"] ?? "")" }
            #expect(hops.starts(with: ["tx lo", "rx lo"]), "\(journey.stdout.text)")

            // A busy shell in the workload while profile samples.
            let busy = try Command.run(["podman", "exec", "-d", workload, "/bin/busybox", "timeout", "5", "/bin/busybox", "sh", "-c", "while :; do :; done"])
            try #require(busy.status == 0, "\(busy.output)")
            let profile = try Command.run(["podman", "exec", agent, "profile", "-F", "99", "--duration", "2", "-f"])
            let stacks = profile.output.split(separator: "\n").filter { $0.hasPrefix("busybox;") && Int($0.split(separator: " ").last ?? "") ?? 0 > 0 }
            #expect(profile.status == 0 && !stacks.isEmpty, "\(profile.output.prefix(400))")
        }
    }
}
