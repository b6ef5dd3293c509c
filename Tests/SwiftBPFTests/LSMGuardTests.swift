// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// execguard and fileguard (BPF-LSM). Where the kernel refuses LSM
/// programs (this 6.18 host), each says so in one line and exits 1; in the
/// kernel lane (Debian's 6.1, "bpf" in its LSM list) they enforce: one
/// workload is refused while another workload and the host are not, and
/// the policy lifts when the tool stops.
extension Privileged {
    @Suite struct LSMGuards {
        init() throws { _ = try Privileged() }

        /// A cgroup of its own under the v2 hierarchy, removed at the end.
        final class Workload {
            let hierarchy: CgroupHierarchy
            let path: String
            init() throws {
                hierarchy = try CgroupHierarchy()
                path = "/swiftbpf-lsm-\(UInt32.random(in: 0...UInt32.max))"
                try #require(mkdir(hierarchy.mountPoint + path, 0o755) == 0)
            }
            /// `script` run by sh inside the cgroup: its output and status.
            func run(_ script: String) throws -> (status: Int32, output: String) {
                try Command.run(["sh", "-c", "echo $$ > \(hierarchy.mountPoint + path)/cgroup.procs && \(script)"])
            }
            deinit { rmdir(hierarchy.mountPoint + path) }
        }

        static func refusal(_ tool: String, _ args: [String]) throws {
            let run = try ToolRun.complete(tool, args)
            #expect(run.status == 1 && run.stderr.split(separator: "\n").count == 1
                    && run.stderr.contains("refuses BPF-LSM programs") && run.stderr.contains("CONFIG_BPF_LSM")
                    && run.stderr.contains(Kernel.release), "\(tool): \(run.status) \(run.stderr)")
            KernelSupport.refuses(tool, run.stderr)
        }

        @Test func execguardDeniesOneWorkload() throws {
            guard Kernel.supports(.lsm) else { return try Self.refusal("execguard", ["--deny", "/usr/bin/id"]) }
            let a = try Workload(), b = try Workload()
            let run = try ToolRun("execguard", ["--cgroup", a.path, "--deny", "/usr/bin/id", "--json"])
            try #require(run.waitUntilAttached(), "\(run.stderr.text)")
            let refused = try a.run("exec /usr/bin/id -u")
            #expect(refused.status != 0 && refused.output.contains("Operation not permitted"), "\(refused)")
            #expect(try a.run("exec /bin/true").status == 0, "other files run")
            #expect(try b.run("exec /usr/bin/id -u") == (0, "0\n"), "another workload runs it")
            #expect(try Command.run(["/usr/bin/id", "-u"]) == (0, "0\n"), "the host runs it")
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let decisions = run.jsonLines.filter { ($0["filename"] as? String) == "/usr/bin/id" }
            #expect(decisions.count == 1 && decisions.first?["verdict"] as? String == "denied" && decisions.first?["rule"] as? String == "deny",
                    "only workload A's exec of id, denied: \(run.stdout.text)")
            #expect(run.stderr.text.contains(" denied") && run.stderr.text.contains("policy lifted"), "\(run.stderr.text)")
            #expect(try a.run("exec /usr/bin/id -u") == (0, "0\n"), "lifted on stop")

            // A directory: whatever is copied below it is refused, however
            // it is named or linked.
            let dir = try TestEnvironment.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
            #expect(try Command.run(["cp", "/bin/true", dir + "/bin/dropped"]).status == 0)
            #expect(try Command.run(["ln", "-s", dir + "/bin/dropped", dir + "/alias"]).status == 0)
            let under = try ToolRun("execguard", ["--cgroup", a.path, "--deny-under", dir + "/bin", "--json"])
            try #require(under.waitUntilAttached(), "\(under.stderr.text)")
            #expect(try a.run("exec \(dir)/bin/dropped").status != 0)
            #expect(try a.run("exec \(dir)/alias").status != 0, "through a symlink outside the directory")
            #expect(try a.run("exec /bin/true").status == 0)
            #expect(try b.run("exec \(dir)/bin/dropped").status == 0, "another workload runs it")
            under.signal(SIGINT)
            #expect(under.finish() == 0)

            // Audit: it runs, and the decision says would-deny.
            let audit = try ToolRun("execguard", ["--cgroup", a.path, "--deny", "/usr/bin/id", "--json", "--audit"])
            try #require(audit.waitUntilAttached(), "\(audit.stderr.text)")
            #expect(try a.run("exec /usr/bin/id -u") == (0, "0\n"))
            audit.signal(SIGINT)
            #expect(audit.finish() == 0)
            #expect(audit.jsonLines.filter { ($0["filename"] as? String) == "/usr/bin/id" }.map { $0["verdict"] as? String } == ["would-deny"],
                    "\(audit.stdout.text)")
            KernelSupport.works("execguard")
        }

        @Test func fileguardDeniesWritesUnderADirectory() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            guard Kernel.supports(.lsm) else { return try Self.refusal("fileguard", ["--deny-write", dir]) }
            try "kept\n".write(toFile: dir + "/existing", atomically: false, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
            let a = try Workload(), b = try Workload()
            let run = try ToolRun("fileguard", ["--cgroup", a.path, "--deny-write", dir, "--json"])
            try #require(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(try a.run("cat \(dir)/existing") == (0, "kept\n"), "reads succeed")
            for write in ["echo x > \(dir)/new", "echo x >> \(dir)/existing", "echo x > \(dir)/sub/deeper", "rm \(dir)/existing", "mv \(dir)/existing \(dir)/moved"] {
                let r = try a.run(write)
                #expect(r.status != 0 && r.output.contains("not permitted"), "\(write): \(r)")
            }
            #expect(try b.run("echo b > \(dir)/from-b").status == 0, "another workload writes")
            #expect(try Command.run(["sh", "-c", "echo host > \(dir)/from-host"]).status == 0, "the host writes")
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let denied = run.jsonLines.filter { $0["verdict"] as? String == "denied" }.map { "\($0["operation"] as? String ?? "?") \($0["name"] as? String ?? "?")" }
            #expect(denied == ["create new", "write existing", "create deeper", "unlink existing", "rename existing"], "\(run.stdout.text)")
            #expect(try a.run("echo x > \(dir)/after").status == 0, "lifted on stop")

            // The exporter serves a running guard's counts per workload.
            let node = try FakeNode()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-1", container: "cart")
            let (exporter, port) = try Privileged.Exporter.exporter(node: node, ["--collectors", "guards"])
            defer { exporter.signal(SIGTERM); exporter.finish() }
            let counted = try ToolRun("fileguard", ["--cgroup", cart.path, "--deny-write", dir])
            try #require(counted.waitUntilAttached(), "\(counted.stderr.text)")
            defer { counted.signal(SIGINT); counted.finish() }
            for i in 0..<3 {
                _ = try Command.run(["sh", "-c", "echo $$ > \(node.hierarchy.mountPoint + cart.path)/cgroup.procs && echo x > \(dir)/c\(i)"])
            }
            let text = try Privileged.Exporter.get("http://127.0.0.1:\(port)/metrics")
            #expect(text.contains("guard_decisions_total{guard=\"file\",verdict=\"denied\",operation=\"create\",container=\"cart\",pod=\"cart-1\",namespace=\"shop\"} 3"),
                    "\(text.split(separator: "\n").filter { $0.hasPrefix("guard_") })")
            #expect(try String(contentsOfFile: dir + "/existing", encoding: .utf8) == "kept\n")
            KernelSupport.works("fileguard")
        }
    }
}
