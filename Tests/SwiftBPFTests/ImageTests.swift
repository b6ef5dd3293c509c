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

            let programs = loadedProgramIDs(named: ["stats_exit", "stats_enter", "stats_exec", "stats_cgroup_rm", "stats_cgroup_mk"])
            #expect(!programs.isEmpty)
            let stop = try Command.run(["podman", "stop", "-t", "20", name])
            #expect(stop.status == 0, "\(stop.output)")
            let status = try Command.run(["podman", "inspect", "-f", "{{.State.ExitCode}}", name])
            #expect(status.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "SIGTERM ends it cleanly: \(logs())")
            #expect(waitUntilUnloaded(programs).isEmpty, "nothing stays loaded")
        }
    }
}
