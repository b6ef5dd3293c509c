// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// scripts/demo-filter.sh, the packet filter demo a person runs (`make
/// demo-filter`), run straight through with the pktfilter built beside the
/// tests: a real sshd and an HTTP server behind the filter, stopped by
/// Ctrl-C and by SIGKILL. Every step it checks must pass, and it must leave
/// nothing behind.
extension Privileged {
    @Suite struct PacketFilterDemo {
        init() throws { _ = try Privileged() }

        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/demo-filter.sh").path

        /// Every check the script makes, in order.
        static let steps = [
            "setup", "baseline-ping", "baseline-ssh", "baseline-http",
            "filter-start", "filtered-ping", "filtered-ssh", "filtered-http", "filtered-counters",
            "ctrl-c-exit", "ctrl-c-ping", "ctrl-c-ssh",
            "restart-filtered-ping", "sigkill-detached", "sigkill-ping", "sigkill-ssh",
        ]

        /// PIDs of processes whose command line contains `needle`.
        static func processes(containing needle: String) -> [String] {
            let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int($0) != nil }
            return pids.filter { pid in
                let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
                return String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(needle)
            }
        }

        @Test func demoScriptPassesEveryStep() throws {
            try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd"), "openssh-server is installed by 'make test-deps'")
            try #require(FileManager.default.isExecutableFile(atPath: Self.script), "\(Self.script)")
            // env execs the script: its PID is the script's $$, which names
            // its namespaces and interfaces. Standard input is /dev/null.
            let run = try ToolRun(absolute: Self.script, [],
                                  wrapper: ["/usr/bin/env", "DEMO_AUTO=1", "PKTFILTER=\(TestEnvironment.product("pktfilter"))"])
            let pid = run.process.processIdentifier
            // A run takes about 15 s and every wait in it is bounded; past
            // 900 s (emulated kernels are 10-50 times slower), SIGTERM lets
            // its trap clean up before finish's SIGKILL.
            let end = Date().addingTimeInterval(900)
            while run.process.isRunning && Date() < end { usleep(100_000) }
            let hung = run.process.isRunning
            if hung { run.signal(SIGTERM) }
            let status = run.finish(timeout: 60)
            let output = run.stdout.text + run.stderr.text
            #expect(!hung, "still running after 900 s:\n\(output)")

            #expect(status == 0, "exit status \(status):\n\(output)")
            // (ssh ends some lines with CR LF, one Character to Swift.)
            let lines = Set(run.stdout.text.split(whereSeparator: \.isNewline).map(String.init))
            let missing = Self.steps.filter { !lines.contains("STEP \($0): ok") }
            #expect(missing.isEmpty, "not ok: \(missing.joined(separator: ", "))\n\(output)")

            // Nothing left behind: namespaces, processes (sshd and the HTTP
            // server name its temporary directory, pktfilter its interface),
            // the temporary directory.
            // `ip netns list`: "NAME" or "NAME (id: N)" a line.
            let listed = try Command.run(["/usr/sbin/ip", "netns", "list"]).output
            let namespaces = Set(listed.split(separator: "\n").compactMap { $0.split(separator: " ").first.map { String($0) } })
            let left = ["swbpf-demo-src-\(pid)", "swbpf-demo-tgt-\(pid)"].filter { namespaces.contains($0) }
            #expect(left.isEmpty, "namespaces left behind: \(left)")
            // (A signal mask the runner passed down can keep the script's
            // trap from running when it is signalled: what it left is
            // removed here, after being reported above.)
            for ns in left {
                let pids = try Command.run(["/usr/sbin/ip", "netns", "pids", ns]).output.split(separator: "\n").compactMap { Int32($0) }
                for p in pids { kill(p, SIGKILL) }
                _ = try Command.run(["/usr/sbin/ip", "netns", "del", ns])
            }
            if let start = output.range(of: "/tmp/swbpf-demo.") {
                let directory = "/tmp/swbpf-demo." + String(output[start.upperBound...].prefix { $0.isLetter || $0.isNumber })
                #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) left behind")
                #expect(Self.processes(containing: directory).isEmpty, "processes of \(directory) left running")
            } else {
                Issue.record("the script never named its temporary directory:\n\(output)")
            }
            #expect(Self.processes(containing: "swbdt\(pid)").isEmpty, "a pktfilter on swbdt\(pid) left running")
        }
    }
}
