// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// vfsstat and filelife probe kernel functions: fentry, else kprobes.
extension Privileged {
    @Suite struct KernelFunctionTools {
        init() throws { _ = try Privileged() }

        /// On a kernel with neither (this machine) each says so in one line
        /// and exits 1; elsewhere each attaches and says which it used.
        @Test(arguments: ["vfsstat", "filelife"])
        func sayWhichProbesOrThatThereAreNone(tool: String) throws {
            if let kind = try? FunctionProbes.best() {
                let run = try ToolRun(tool, ["--verbose", "--duration", "0.5"])
                #expect(run.finish() == 0, "\(run.stderr.text)")
                #expect(run.stderr.text.contains("probing kernel functions with \(kind)"), "\(run.stderr.text)")
            } else {
                let r = try ToolRun.complete(tool, ["--duration", "1"])
                #expect(r.status == 1)
                #expect(r.stderr == "\(tool): error: this kernel can probe no kernel function: it has no kprobes (CONFIG_KPROBES is not set) and refuses fentry (BPF trampolines, Linux 5.5+)\n")
                KernelSupport.refuses(tool, r.stderr)
                let forced = try ToolRun.complete(tool, ["--functions", "kprobe"])
                #expect(forced.status == 1 && forced.stderr.contains("CONFIG_KPROBES"), "\(forced.stderr)")
            }
        }
    }
}

/// In the kernel lane, exact counts and ages, with each kind of probe.
extension Privileged.KernelLane {
    @Test(arguments: [FunctionProbes.fentry, .kprobe])
    func vfsstatCountsExactly(kind: FunctionProbes) throws {
        let dir = try TestEnvironment.temporaryDirectory(under: "/dev/shm")
        let helper = try Helper()
        let worker = helper.run("worker")
        let tid = try #require(worker.hasPrefix("ok ") ? String(worker.dropFirst(3)) : nil, "\(worker)")
        // Only the worker thread: it does the job and nothing else.
        let tool = try ToolRun("vfsstat", ["-t", tid, "--json", "-i", "0.3", "--functions", kind.rawValue, "--verbose"])
        #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
        #expect(tool.stderr.text.contains("with \(kind.rawValue)"))
        #expect(helper.run("vfsload \(dir) 7") == "ok 0")
        usleep(400_000)  // one more interval: every line is in
        tool.signal(SIGINT)
        #expect(tool.finish() == 0, "\(tool.stderr.text)")
        var totals: [String: Int] = [:]
        for line in tool.jsonLines {
            for op in ["read", "write", "fsync", "open", "create", "mkdir"] { totals[op, default: 0] += line[op] as? Int ?? 0 }
        }
        #expect(totals == ["read": 7, "write": 7, "fsync": 7, "open": 7, "create": 7, "mkdir": 7], "\(tool.stdout.text)")
        KernelSupport.works("vfsstat", kind.rawValue)
    }

    @Test(arguments: [FunctionProbes.fentry, .kprobe])
    func filelifeReportsDeletedFilesWithTheirAge(kind: FunctionProbes) throws {
        let dir = try TestEnvironment.temporaryDirectory(under: "/dev/shm")
        let helper = try Helper()
        #expect(helper.run("create \(dir)/before") == "ok 3")
        let tool = try ToolRun("filelife", ["-p", "\(helper.pid)", "--json", "--functions", kind.rawValue])
        #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
        #expect(helper.run("create \(dir)/opened").hasPrefix("ok "))
        #expect(helper.run("mknod \(dir)/made") == "ok 0")
        #expect(helper.run("create \(dir)/kept").hasPrefix("ok "))
        usleep(1_000_000)
        #expect(helper.run("unlink \(dir)/opened") == "ok 0")
        usleep(500_000)
        #expect(helper.run("unlink \(dir)/made") == "ok 0")
        #expect(helper.run("unlink \(dir)/before") == "ok 0", "born before tracing: no event")
        // Deleted by someone else: reported, with the deleter's PID.
        let other = try Helper()
        #expect(helper.run("create \(dir)/shared").hasPrefix("ok "))
        #expect(other.run("unlink \(dir)/shared") == "ok 0")
        usleep(200_000)
        tool.signal(SIGINT)
        #expect(tool.finish() == 0, "\(tool.stderr.text)")

        let events = tool.jsonLines
        #expect(events.map { $0["file"] as? String } == ["opened", "made", "shared"], "\(tool.stdout.text)")
        guard events.count == 3 else { return }
        let age = { (i: Int) in Double(events[i]["age_ns"] as? Int ?? 0) / 1e9 }
        // At least the sleeps between create and unlink; round trips to
        // the helper under emulation add some, never a second.
        #expect(age(0) >= 1.0 && age(0) < 1.8, "\(age(0))")
        #expect(age(1) >= 1.5 && age(1) < 2.3, "\(age(1))")
        #expect(age(2) < 0.8, "\(age(2))")
        for e in events.prefix(2) {
            #expect(e["pid"] as? Int == Int(helper.pid))
            #expect(e["comm"] as? String == "swiftbpf-testhe")
        }
        #expect(events[2]["pid"] as? Int == Int(other.pid))
        #expect(events.allSatisfy { $0["creator_pid"] as? Int == Int(helper.pid) })
        KernelSupport.works("filelife", kind.rawValue)
    }
}
