// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// execsnoop, opensnoop, syscount, sysnoop and bashreadline, each run as a
/// user would while a child performs known syscalls.
extension Privileged {
    @Suite struct SyscallTools {
        init() throws { _ = try Privileged() }

        /// Starts `tool` with `args`, runs `work` once it is attached, then
        /// stops it with SIGINT and returns its JSON lines.
        func traceJSON(_ tool: String, _ args: [String], settle: Double = 0.3, work: () throws -> Void) throws -> (ToolRun, [[String: Any]]) {
            let run = try ToolRun(tool, ["--json"] + args)
            #expect(run.waitUntilAttached(), "\(tool) attached")
            try work()
            usleep(UInt32(settle * 1_000_000))
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(tool) exits 0 on SIGINT: \(run.stderr.text)")
            return (run, run.jsonLines)
        }

        // MARK: execsnoop

        @Test func execsnoopReportsArgvCommandAndResult() throws {
            let ok = try Helper(), failing = try Helper()
            let (_, lines) = try traceJSON("execsnoop", ["-p", "\(ok.pid)", "-p", "\(ok.pid)"]) {
                ok.send("exec /bin/true first second\\sword")
                _ = ok.waitForExit()
            }
            #expect(lines.count == 1)
            let e = try #require(lines.first)
            #expect(e["pid"] as? Int == Int(ok.pid))
            #expect(e["ppid"] as? Int == Int(getpid()))
            #expect(e["comm"] as? String == "true")
            #expect(e["args"] as? [String] == ["/bin/true", "first", "second word"])
            #expect(e["filename"] as? String == "/bin/true")
            #expect(e["ret"] as? Int == 0 && e["errno"] is NSNull)
            #expect(e["args_truncated"] as? Bool == false && e["arg_cut"] as? Bool == false)

            let (_, failed) = try traceJSON("execsnoop", ["-p", "\(failing.pid)"]) {
                #expect(failing.run("exec /nonexistent/program x") == "err \(ENOENT)")
            }
            #expect(failed.count == 1)
            #expect(failed.first?["errno"] as? String == "ENOENT")
            #expect(failed.first?["comm"] as? String == "swiftbpf-testhe", "a failed exec keeps the old name")
            #expect(failed.first?["args"] as? [String] == ["/nonexistent/program", "x"])
            KernelSupport.works("execsnoop")
        }

        @Test func execsnoopSaysWhenArgvIsTruncated() throws {
            let many = try Helper(), long = try Helper(), exact = try Helper()
            let (_, a) = try traceJSON("execsnoop", ["-p", "\(many.pid)", "--max-args", "3"]) {
                many.send("exec /bin/true 1 2 3 4 5"); _ = many.waitForExit()
            }
            #expect(a.first?["args"] as? [String] == ["/bin/true", "1", "2"])
            #expect(a.first?["args_truncated"] as? Bool == true)

            let (textRun, _) = try traceJSON("execsnoop", ["-p", "\(long.pid)", "--max-arg-len", "4"]) {
                long.send("exec /bin/true abcdefgh xy"); _ = long.waitForExit()
            }
            let b = textRun.jsonLines.first
            #expect(b?["args"] as? [String] == ["/bin", "abcd", "xy"])
            #expect(b?["arg_cut"] as? Bool == true)

            let (_, c) = try traceJSON("execsnoop", ["-p", "\(exact.pid)", "--max-arg-len", "9"]) {
                exact.send("exec /bin/true 123456789"); _ = exact.waitForExit()
            }
            #expect(c.first?["args"] as? [String] == ["/bin/true", "123456789"])
            #expect(c.first?["arg_cut"] as? Bool == false, "an argument exactly at the limit is whole")
        }

        @Test func execsnoopTextColumnsAndMarkers() throws {
            let h = try Helper()
            let run = try ToolRun("execsnoop", ["-p", "\(h.pid)", "-U", "--quote", "--max-arg-len", "4"])
            #expect(run.waitUntilAttached())
            h.send("exec /bin/true abcdefgh say\\s\"hi\""); _ = h.waitForExit()
            #expect(run.stdout.wait(for: "true"))
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            let lines = run.stdout.text.split(separator: "\n").map(String.init)
            #expect(lines.first?.contains("UID    PCOMM            PID     PPID    RET          ARGS") == true)
            // The path exec was given comes first (whole), then argv[1...].
            #expect(lines.last?.hasSuffix(#""/bin/true" "abcd…" "say …""#) == true, "\(lines.last ?? "")")
        }

        // MARK: opensnoop

        @Test func opensnoopReportsFDFlagsAndErrors() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            #expect(FileManager.default.createFile(atPath: dir + "/file", contents: Data("x".utf8)))
            let named = dir + "/swbpf-opener"
            try FileManager.default.createSymbolicLink(atPath: named, withDestinationPath: TestEnvironment.helper)
            let h = try Helper(), other = try Helper(executable: named)
            let flags = O_RDONLY | O_CLOEXEC
            let (_, lines) = try traceJSON("opensnoop", ["-p", "\(h.pid)"]) {
                #expect(h.run("open \(dir)/file \(flags)").hasPrefix("ok "))
                #expect(h.run("open \(dir)/missing \(O_RDONLY)") == "err \(ENOENT)")
                #expect(h.run("open \(dir)/new \(O_WRONLY | O_CREAT | O_TRUNC)").hasPrefix("ok "))
            }
            #expect(lines.count == 3)
            guard lines.count == 3 else { return }
            #expect(lines[0]["syscall"] as? String == "openat")
            #expect(lines[0]["path"] as? String == "\(dir)/file")
            #expect((lines[0]["fd"] as? Int ?? -1) >= 3)
            #expect(lines[0]["flags_decoded"] as? String == "O_RDONLY|O_CLOEXEC")
            #expect(lines[1]["fd"] as? Int == -1 && lines[1]["errno"] as? String == "ENOENT")
            #expect(lines[2]["flags_decoded"] as? String == "O_WRONLY|O_CREAT|O_TRUNC")
            #expect(lines.allSatisfy { $0["pid"] as? Int == Int(h.pid) && $0["comm"] as? String == "swiftbpf-testhe" })

            // -n matches a substring of the command name, in the kernel.
            let (_, byName) = try traceJSON("opensnoop", ["-n", "opener"]) {
                h.run("open \(dir)/file 0")
                other.run("open \(dir)/file 0")
            }
            let mine = byName.filter { ($0["path"] as? String) == "\(dir)/file" }
            #expect(mine.count == 1 && mine.first?["pid"] as? Int == Int(other.pid))
            #expect(byName.allSatisfy { ($0["comm"] as? String)?.contains("opener") == true })
            KernelSupport.works("opensnoop")
        }

        @Test func opensnoopExtendedTextShowsDecodedFlags() throws {
            let h = try Helper()
            let run = try ToolRun("opensnoop", ["-p", "\(h.pid)", "-e", "-x"])
            #expect(run.waitUntilAttached())
            h.run("open /etc/hostname \(O_RDONLY)")      // succeeds: filtered out by -x
            h.run("open /nonexistent-swiftbpf \(O_RDONLY | O_CLOEXEC)")
            #expect(run.stdout.wait(for: "nonexistent-swiftbpf"))
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            let lines = run.stdout.text.split(separator: "\n").map(String.init)
            #expect(lines.count == 2)
            let f = lines.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
            #expect(Array(f.dropFirst()) == ["\(h.pid)", "swiftbpf-testhe", "-1", "ENOENT", "O_RDONLY|O_CLOEXEC", "/nonexistent-swiftbpf"])
        }

        // MARK: syscount

        @Test func syscountCountsExactly() throws {
            let h = try Helper()
            let (_, lines) = try traceJSON("syscount", ["-p", "\(h.pid)", "--top", "0", "-L", "--hist", "getpriority"]) {
                #expect(h.run("getpriority 1234") == "ok 0")
            }
            let report = try #require(lines.last)
            let rows = report["syscalls"] as? [[String: Any]] ?? []
            let row = try #require(rows.first { $0["syscall"] as? String == "getpriority" })
            #expect(row["count"] as? Int == 1234)
            #expect(row["errors"] as? Int == 0)
            #expect((row["total_ns"] as? Int ?? 0) > 0)
            #expect((report["hist_log2_ns"] as? [Int])?.reduce(0, +) == 1234)

            let (_, perProcess) = try traceJSON("syscount", ["-P", "-p", "\(h.pid)"]) {
                h.run("getpriority 100")
            }
            let procs = perProcess.last?["processes"] as? [[String: Any]] ?? []
            #expect(procs.count == 1)
            #expect(procs.first?["pid"] as? Int == Int(h.pid))
            #expect((procs.first?["count"] as? Int ?? 0) >= 100)
            KernelSupport.works("syscount")
        }

        @Test func syscountTextAndFailedFilter() throws {
            let h = try Helper()
            let run = try ToolRun("syscount", ["-p", "\(h.pid)", "-x"])
            #expect(run.waitUntilAttached())
            for _ in 0..<5 { h.run("open /nonexistent-swiftbpf 0") }
            h.run("getpriority 50")  // succeed: not counted with -x
            usleep(200_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            let rows = run.stdout.text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.contains(["openat", "5", "5"]))
            #expect(!rows.contains { $0.first == "getpriority" })
        }

        // MARK: sysnoop

        @Test func sysnoopDecodesArgumentsOfThreeShapes() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let h = try Helper()
            let (_, lines) = try traceJSON("sysnoop", ["mkdir", "openat", "kill", "-p", "\(h.pid)"]) {
                h.run("mkdir \(dir)/made 751")
                h.run("open \(dir)/made \(O_RDONLY | O_DIRECTORY)")
                h.run("kill \(h.pid) 0")
                h.run("kill 2147483000 0")
            }
            #expect(lines.count == 4)
            guard lines.count == 4 else { return }
            let mkdir = lines[0], openat = lines[1], kill = lines[2], badKill = lines[3]
            #expect(mkdir["syscall"] as? String == "mkdir")
            #expect((mkdir["args"] as? [String: Any])?["pathname"] as? String == "\(dir)/made")
            #expect((mkdir["args"] as? [String: Any])?["mode"] as? Int == 0o751)
            #expect(mkdir["ret"] as? Int == 0)
            #expect(openat["syscall"] as? String == "openat")
            let oa = openat["args"] as? [String: Any]
            #expect(oa?["dfd"] as? Int == -100)
            #expect(oa?["filename"] as? String == "\(dir)/made")
            #expect(oa?["flags"] as? Int == Int(O_RDONLY | O_DIRECTORY))
            #expect((openat["ret"] as? Int ?? -1) >= 3)
            #expect((kill["args"] as? [String: Any])?["pid"] as? Int == Int(h.pid))
            #expect((kill["args"] as? [String: Any])?["sig"] as? Int == 0)
            #expect(kill["ret"] as? Int == 0)
            #expect(badKill["errno"] as? String == "ESRCH")
            #expect(lines.allSatisfy { ($0["latency_ns"] as? Int ?? 0) > 0 && $0["pid"] as? Int == Int(h.pid) })
            KernelSupport.works("sysnoop")
        }

        /// A syscall without arguments has a 12-byte record, which a
        /// program reading past it may not attach to.
        @Test func sysnoopTracesASyscallWithoutArguments() throws {
            let h = try Helper()
            let (_, lines) = try traceJSON("sysnoop", ["getppid", "-p", "\(h.pid)"]) {
                h.run("getppid 3")
            }
            #expect(lines.count == 3)
            #expect(lines.allSatisfy { $0["syscall"] as? String == "getppid" && $0["ret"] as? Int == Int(getpid()) })
        }

        @Test func sysnoopTextLooksLikeACall() throws {
            let h = try Helper()
            let run = try ToolRun("sysnoop", ["kill", "-p", "\(h.pid)"])
            #expect(run.waitUntilAttached())
            h.run("kill \(h.pid) 0")
            #expect(run.stdout.wait(for: "= 0"))
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            #expect(run.stdout.text.contains("kill(pid=\(h.pid), sig=0) = 0"))
        }

        // MARK: bashreadline

        @Test func bashreadlineSeesWhatIsTypedIntoAnInteractiveBash() throws {
            let token = "swiftbpf-\(UInt32.random(in: 0...UInt32.max))"
            let (_, lines) = try traceJSON("bashreadline", [], settle: 0.5) {
                // script(1) gives bash a real pty, so it reads with readline.
                let bash = Process()
                bash.executableURL = URL(fileURLWithPath: "/usr/bin/script")
                bash.arguments = ["-qfc", "bash --norc --noprofile -i", "/dev/null"]
                let input = Pipe()
                bash.standardInput = input
                bash.standardOutput = FileHandle.nullDevice
                bash.standardError = FileHandle.nullDevice
                try bash.run()
                usleep(500_000)
                input.fileHandleForWriting.write(Data("echo \(token) \"quoted words\"\n".utf8))
                usleep(300_000)
                input.fileHandleForWriting.write(Data("exit\n".utf8))
                bash.waitUntilExit()
            }
            let mine = lines.filter { ($0["command"] as? String)?.contains(token) == true }
            #expect(mine.count == 1)
            #expect(mine.first?["command"] as? String == "echo \(token) \"quoted words\"")
            #expect(mine.first?["comm"] as? String == "bash")
            #expect(mine.first?["uid"] as? Int == 0)
            KernelSupport.works("bashreadline")
        }
    }
}

extension Privileged {
    @Suite struct SyscallSuggestions {
        init() throws { _ = try Privileged() }

        /// sysnoop and syscount read tracefs (root) to know the syscalls.
        @Test
        func unknownSyscallsGetSuggestions() throws {
            let run = try ToolRun.complete("sysnoop", ["mkdri"])
            #expect(run.status == 2)
            #expect(run.stderr.contains("no syscall tracepoint 'mkdri'"))
            #expect(run.stderr.contains("did you mean mkdir"))
            let hist = try ToolRun.complete("syscount", ["--hist", "opnat"])
            #expect(hist.status == 2)
            #expect(hist.stderr.contains("did you mean openat"))
        }
    }
}
