// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import TestSupport
import Testing

/// Runs the mkdirtrace binary as a user would: real child processes make
/// directories while it traces.
extension Privileged {
    @Suite struct MkdirtraceTool {
        init() throws { _ = try Privileged() }

        /// On x86-64 one tp_btf/sys_exit program reads both calls from the
        /// saved registers (syscalls.bpf.h).
        static let programNames: Set<String> = ["mkdir_exit"]

        @Test func jsonLinesCarryExactFields() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let tool = try ToolRun("mkdirtrace", ["--json", "-p", "\(helper.pid)"])
            #expect(tool.waitUntilAttached())
            helper.run("mkdir \(dir)/a\"b 750")
            helper.run("mkdir \(dir)/a\"b 700")
            helper.run("mkdir \(dir)/missing/x 755")
            helper.run("mkdirat \(dir) rel 711")
            #expect(tool.stdout.wait(for: "\"rel\""))
            tool.signal(SIGINT)
            #expect(tool.finish() == 0)

            let lines = tool.jsonLines
            #expect(lines.count == 4)
            #expect(tool.stdout.text.split(separator: "\n").count == 4, "stdout holds only JSON lines")
            guard lines.count == 4 else { return }
            for line in lines {
                #expect(line["pid"] as? Int == Int(helper.pid))
                #expect(line["ppid"] as? Int == Int(getpid()))
                #expect(line["uid"] as? Int == 0)
                #expect(line["comm"] as? String == "swiftbpf-testhe")
                #expect((line["time"] as? String)?.hasSuffix("Z") == true)
            }
            #expect(lines[0]["path"] as? String == "\(dir)/a\"b")
            #expect(lines[0]["mode"] as? String == "0750")
            #expect(lines[0]["ret"] as? Int == 0)
            #expect(lines[0]["errno"] is NSNull)
            #expect(lines[0]["syscall"] as? String == "mkdir")
            #expect(lines[1]["errno"] as? String == "EEXIST")
            #expect(lines[1]["ret"] as? Int == -Int(EEXIST))
            #expect(lines[2]["errno"] as? String == "ENOENT")
            #expect(lines[2]["path"] as? String == "\(dir)/missing/x")
            #expect(lines[3]["syscall"] as? String == "mkdirat")
            #expect(lines[3]["path"] as? String == "rel")
            #expect(lines[3]["mode"] as? String == "0711")
            #expect(tool.stderr.text.contains("mkdirtrace: 4 events, 0 lost"))
            KernelSupport.works("mkdirtrace")
        }

        @Test func textOutputHasHeaderAndColumns() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let tool = try ToolRun("mkdirtrace", ["-p", "\(helper.pid)"])
            #expect(tool.waitUntilAttached())
            #expect(helper.run("mkdir \(dir)/with\\nnew\\sline 755") == "ok 0")
            #expect(tool.stdout.wait(for: "line\n"))
            tool.signal(SIGTERM)
            #expect(tool.finish() == 0)
            let lines = tool.stdout.text.split(separator: "\n").map(String.init)
            #expect(lines.count == 2)
            guard lines.count == 2 else { return }
            #expect(lines[0].hasPrefix("TIME     PID     PPID    UID    COMM             MODE RESULT       PATH"))
            let fields = lines[1].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(fields.count == 9)  // the path has a space
            #expect(fields[0].range(of: #"^\d\d:\d\d:\d\d$"#, options: .regularExpression) != nil)
            #expect(fields.dropFirst().elementsEqual(["\(helper.pid)", "\(getpid())", "0", "swiftbpf-testhe", "0755", "0", "\(dir)/with\\nnew", "line"]))
        }

        /// Two helpers run the same calls; each filter must pick exactly the
        /// events it names, and the filter is applied in the kernel.
        @Test func filtersSelectExactlyTheirEvents() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let other = dir + "/swbpf-other"
            try FileManager.default.createSymbolicLink(atPath: other, withDestinationPath: TestEnvironment.helper)
            let a = try Helper()
            let b = try Helper(executable: other)
            let nobody = try Helper(wrapper: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])

            func trace(_ args: [String]) throws -> [[String: Any]] {
                let tool = try ToolRun("mkdirtrace", ["--json"] + args)
                #expect(tool.waitUntilAttached())
                let tag = UUID().uuidString.prefix(8)
                for (h, name) in [(a, "a"), (b, "b"), (nobody, "n")] {
                    h.run("mkdir \(dir)/\(tag)-\(name) 755")
                    h.run("mkdir \(dir)/\(tag)-\(name) 755")  // EEXIST
                }
                // A marker from a filter-independent source would be filtered
                // too, so wait out delivery instead.
                usleep(300_000)
                tool.signal(SIGINT)
                #expect(tool.finish() == 0)
                return tool.jsonLines.filter { ($0["path"] as? String)?.contains(tag) == true }
            }

            let byPID = try trace(["-p", "\(a.pid)"])
            #expect(byPID.count == 2 && byPID.allSatisfy { $0["pid"] as? Int == Int(a.pid) })

            let byComm = try trace(["-c", "swbpf-other"])
            #expect(byComm.count == 2 && byComm.allSatisfy { $0["pid"] as? Int == Int(b.pid) && $0["comm"] as? String == "swbpf-other" })

            let byUID = try trace(["-u", "65534"])
            #expect(byUID.count == 2 && byUID.allSatisfy { $0["pid"] as? Int == Int(nobody.pid) && $0["uid"] as? Int == 65534 })

            let failed = try trace(["-x", "-p", "\(a.pid)"])
            #expect(failed.count == 1 && failed.first?["errno"] as? String == "EEXIST")
        }

        /// --cgroup: a helper moved into a fresh cgroup v2 directory is traced,
        /// one outside it is not (bpf_current_task_under_cgroup).
        @Test func cgroupFilterSelectsTasksInTheCgroup() throws {
            let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
            var found: String?
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ").map(String.init)
                if fields.count > 2 && fields[2] == "cgroup2" { found = fields[1]; break }
            }
            let root = try #require(found, "a cgroup v2 hierarchy is mounted")
            let cgroup = "\(root)/swiftbpf-test-\(getpid())"
            try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
            defer { rmdir(cgroup) }
            let dir = try TestEnvironment.temporaryDirectory()
            let inside = try Helper(), outside = try Helper()
            try "\(inside.pid)\n".write(toFile: cgroup + "/cgroup.procs", atomically: false, encoding: .utf8)
            let tool = try ToolRun("mkdirtrace", ["--json", "--cgroup", cgroup])
            #expect(tool.waitUntilAttached())
            inside.run("mkdir \(dir)/in 755")
            outside.run("mkdir \(dir)/out 755")
            usleep(300_000)
            tool.signal(SIGINT)
            #expect(tool.finish() == 0)
            let mine = tool.jsonLines.filter { ($0["path"] as? String)?.hasPrefix(dir) == true }
            #expect(mine.count == 1)
            #expect(mine.first?["pid"] as? Int == Int(inside.pid))
            #expect(mine.first?["path"] as? String == "\(dir)/in")
            // Leave the cgroup empty so it can be removed.
            let parentProcs = root + "/cgroup.procs"
            try? "\(inside.pid)\n".write(toFile: parentProcs, atomically: false, encoding: .utf8)
        }

        @Test func sigtermDetachesAndLeavesNothingLoaded() throws {
            let before = loadedProgramIDs(named: Self.programNames)
            let tool = try ToolRun("mkdirtrace", ["--json", "-p", "1"])
            #expect(tool.waitUntilAttached())
            let ours = loadedProgramIDs(named: Self.programNames).subtracting(before)
            #expect(ours.count == 1)
            tool.signal(SIGTERM)
            #expect(tool.finish() == 0)
            #expect(tool.stderr.text.contains("0 events, 0 lost"))
            #expect(waitUntilUnloaded(ours).isEmpty)
        }

        @Test func sigkillLeavesNothingAttached() throws {
            let before = loadedProgramIDs(named: Self.programNames)
            let tool = try ToolRun("mkdirtrace", ["-p", "1"])
            #expect(tool.waitUntilAttached())
            let ours = loadedProgramIDs(named: Self.programNames).subtracting(before)
            #expect(ours.count == 1)
            tool.signal(SIGKILL)
            #expect(tool.finish() == 128 + SIGKILL)
            #expect(waitUntilUnloaded(ours).isEmpty, "the kernel frees bpf_link-attached programs when the process dies")
        }

        @Test func durationStopsTheTrace() throws {
            let tool = try ToolRun("mkdirtrace", ["--duration", "0.5", "-p", "1"])
            #expect(tool.finish(timeout: 10) == 0)
            #expect(tool.stderr.text.contains("mkdirtrace: 0 events, 0 lost"))
        }

        @Test func unprivilegedRunSaysWhatToDo() throws {
            let run = try ToolRun.complete("mkdirtrace", [], wrapper: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            #expect(run.status == 1)
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(run.stderr.hasPrefix("mkdirtrace: error: BPF tracing needs privileges: run as root"))
            #expect(run.stdout.isEmpty)
        }
    }
}
