// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// exitsnoop, sigsnoop, killsnoop and oomkill on processes the test makes.
extension Privileged {
    @Suite struct ProcessLife {
        init() throws { _ = try Privileged() }

        /// A child of this process, by argv, not waited for; with no
        /// signal blocked or ignored (the test runner blocks some, and a
        /// child would inherit that).
        static func spawn(_ argv: [String]) throws -> pid_t {
            var pid: pid_t = 0
            let cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            var attr = posix_spawnattr_t()
            posix_spawnattr_init(&attr)
            defer { posix_spawnattr_destroy(&attr) }
            var none = sigset_t(), all = sigset_t()
            sigemptyset(&none)
            sigfillset(&all)
            posix_spawnattr_setsigmask(&attr, &none)
            posix_spawnattr_setsigdefault(&attr, &all)
            posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            let rc = posix_spawnp(&pid, argv[0], nil, &attr, cArgs, environ)
            try #require(rc == 0, "spawn \(argv): \(String(cString: strerror(rc)))")
            return pid
        }

        static func reap(_ pid: pid_t) -> Int32 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status
        }

        /// The JSON events of `run` about `pid` (by key).
        static func events(_ run: ToolRun, _ key: String, _ pid: pid_t) -> [[String: Any]] {
            run.jsonLines.filter { ($0[key] as? Int) == Int(pid) }
        }

        @Test func exitsnoopReportsCodesSignalsAndAge() throws {
            let run = try ToolRun("exitsnoop", ["--json"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let three = try Self.spawn(["/bin/sh", "-c", "exit 3"])
            _ = Self.reap(three)
            let sleeper = try Self.spawn(["/bin/sleep", "30"])
            usleep(500_000)
            kill(sleeper, SIGKILL)
            _ = Self.reap(sleeper)
            usleep(300_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")

            let exited = Self.events(run, "pid", three)
            #expect(exited.count == 1 && exited.first?["exit_code"] as? Int == 3 && exited.first?["signal"] is NSNull
                    && exited.first?["comm"] as? String == "sh" && exited.first?["ppid"] as? Int == Int(getpid()), "\(exited)")
            let killed = Self.events(run, "pid", sleeper)
            let age = Double(killed.first?["age_ns"] as? Int ?? 0) / 1e9
            #expect(killed.count == 1 && killed.first?["exit_code"] is NSNull && killed.first?["signal"] as? String == "KILL"
                    && killed.first?["core_dumped"] as? Bool == false, "\(killed)")
            #expect(age >= 0.4 && age < 5, "lived about half a second: \(age) s")
            KernelSupport.works("exitsnoop")
        }

        @Test func exitsnoopFailedOnlyLeavesCleanExitsOut() throws {
            let run = try ToolRun("exitsnoop", ["--json", "-x", "-c", "true"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            _ = Self.reap(try Self.spawn(["/bin/true"]))
            _ = Self.reap(try Self.spawn(["/bin/false"]))
            usleep(300_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            // /bin/false's command name is "false": -c true keeps neither.
            #expect(run.jsonLines.isEmpty, "\(run.stdout.text)")
        }

        @Test func sigsnoopAndKillsnoopSeeTheSignalsSent() throws {
            let signals = try ToolRun("sigsnoop", ["--json", "-p", "\(getpid())", "-s", "USR1"])
            let kills = try ToolRun("killsnoop", ["--json", "-p", "\(getpid())"])
            #expect(signals.waitUntilAttached() && kills.waitUntilAttached(), "\(signals.stderr.text) \(kills.stderr.text)")
            let target = try Self.spawn(["/bin/sleep", "30"])
            usleep(200_000)
            #expect(kill(target, SIGUSR2) == 0)    // not USR1: sigsnoop -s USR1 leaves it out
            _ = Self.reap(target)
            let second = try Self.spawn(["/bin/sleep", "30"])
            usleep(200_000)
            #expect(kill(second, SIGUSR1) == 0)
            _ = Self.reap(second)
            let nobody: pid_t = 4_194_000
            #expect(kill(nobody, SIGTERM) == -1)  // ESRCH
            usleep(300_000)
            for run in [signals, kills] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }

            let seen = signals.jsonLines
            #expect(seen.count == 1, "only the USR1: \(signals.stdout.text)")
            let s = seen.first ?? [:]
            #expect(s["pid"] as? Int == Int(getpid()) && s["target_pid"] as? Int == Int(second) && s["signal"] as? String == "USR1"
                    && s["signal_number"] as? Int == 10 && s["target_comm"] as? String == "sleep" && s["result"] as? String == "delivered"
                    && s["si_code"] as? Int == 0, "\(s)")

            // The test's own SIGINTs that stop the tools are kill calls too.
            let calls = kills.jsonLines.filter { $0["signal"] as? String != "INT" }
            #expect(calls.count == 3, "\(kills.stdout.text)")
            #expect(calls.map { $0["target_pid"] as? Int ?? 0 } == [Int(target), Int(second), Int(nobody)], "\(calls)")
            #expect(calls.map { $0["signal"] as? String ?? "" } == ["USR2", "USR1", "TERM"])
            #expect(calls.map { $0["errno"] as? String ?? "ok" } == ["ok", "ok", "ESRCH"] && calls.allSatisfy { $0["syscall"] as? String == "kill" },
                    "\(calls)")
            KernelSupport.works("sigsnoop")
            KernelSupport.works("killsnoop")
        }

        /// A process in a memory-limited cgroup allocates until the OOM
        /// killer picks it (cgroup v1's memory controller on this host,
        /// v2's memory.max in the lane's pure v2 guest).
        @Test func oomkillNamesTheVictim() throws {
            let name = "swbpf-oom-\(getpid())"
            let v1 = "/sys/fs/cgroup/memory"
            let isV1 = FileManager.default.fileExists(atPath: v1 + "/memory.limit_in_bytes")
            // On v2 the memory controller must be on for the root's children.
            if !isV1 { try "+memory".write(toFile: "/sys/fs/cgroup/cgroup.subtree_control", atomically: false, encoding: .utf8) }
            let dir = (isV1 ? v1 : "/sys/fs/cgroup") + "/" + name
            try #require(mkdir(dir, 0o755) == 0 || errno == EEXIST, "mkdir \(dir): \(String(cString: strerror(errno)))")
            defer { rmdir(dir) }
            let limit = "\(32 << 20)"
            try limit.write(toFile: dir + (isV1 ? "/memory.limit_in_bytes" : "/memory.max"), atomically: false, encoding: .utf8)
            if !isV1 { try? "0".write(toFile: dir + "/memory.swap.max", atomically: false, encoding: .utf8) }

            let run = try ToolRun("oomkill", ["--json"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let hog = try Self.spawn(["/bin/sh", "-c", "echo $$ > \(dir)/cgroup.procs && exec python3 -c 'a = []\nwhile True: a.append(bytearray(1 << 20))'"])
            let status = Self.reap(hog)
            usleep(300_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            #expect(status & 0x7f == SIGKILL, "the OOM killer ended it: status \(status)")
            let victims = Self.events(run, "victim_pid", hog)
            #expect(victims.count == 1, "\(run.stdout.text)")
            if let v = victims.first, v["total_vm_kb"] as? Int != nil {
                // Linux 6.8+ names the victim and its memory.
                #expect(v["victim_comm"] as? String == "python3" && (v["anon_rss_kb"] as? Int ?? 0) > 16 << 10, "\(v)")
            }
            KernelSupport.works("oomkill")
        }

        @Test func badSignalsAreUsageErrors() throws {
            for tool in ["sigsnoop", "killsnoop"] {
                let r = try ToolRun.complete(tool, ["-s", "NOSUCH"])
                #expect(r.status == 2 && r.stderr.contains("no signal 'NOSUCH'"), "\(tool): \(r.stderr)")
            }
        }
    }
}
