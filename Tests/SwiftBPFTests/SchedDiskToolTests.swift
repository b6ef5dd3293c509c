// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// runqlat, cpudist, biolatency and biosnoop on known work: CPU-bound
/// processes pinned to CPUs, timed sleeps, direct I/O to a loop device.
extension Privileged {
    @Suite struct SchedulerAndDisk {
        init() throws { _ = try Privileged() }

        /// The histogram JSON lines of `run`, by the key given (pid, disk...).
        static func histograms(_ run: ToolRun, by key: String) -> [String: [String: Any]] {
            var out: [String: [String: Any]] = [:]
            for line in run.jsonLines { out["\(line[key] ?? "all")"] = line }
            return out
        }

        /// Bucket counts by their lower bound.
        static func buckets(_ h: [String: Any]?) -> [Int: Int] {
            var out: [Int: Int] = [:]
            for b in h?["buckets"] as? [[String: Any]] ?? [] { out[b["low"] as? Int ?? -1] = b["count"] as? Int ?? 0 }
            return out
        }

        /// Two CPU-bound processes pinned to CPU 0 take turns, so each waits
        /// about half of the time; a third, alone on CPU 1, hardly waits.
        @Test func runqlatMeasuresTheWaitOfProcessesSharingACPU() throws {
            let work = try StackTools.stackwork()
            let run = try ToolRun("runqlat", ["--json", "-P", "-c", "stackwork"])
            let perCgroup = try ToolRun("runqlat", ["--json", "--per-container", "-c", "stackwork"])
            #expect(run.waitUntilAttached() && perCgroup.waitUntilAttached(), "\(run.stderr.text) \(perCgroup.stderr.text)")
            let seconds = 2.0
            let pair = try (0..<2).map { _ in try ProcessLife.spawn(["taskset", "-c", "0", work, "hot", "\(seconds)"]) }
            let solo = try ProcessLife.spawn(["taskset", "-c", "1", work, "hot", "\(seconds)"])
            for pid in pair + [solo] { #expect(ProcessLife.reap(pid) == 0) }
            for r in [run, perCgroup] { r.signal(SIGINT); #expect(r.finish() == 0, "\(r.stderr.text)") }

            // Per cgroup: the three run in this process's cgroup.
            let ours = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8).split(separator: "\n")
                .first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
            let cgroups = perCgroup.jsonLines
            #expect(cgroups.count == 1 && cgroups.first?["cgroup"] as? String == ours && (cgroups.first?["count"] as? Int ?? 0) > 0,
                    "one histogram, for \(ours ?? "?"): \(perCgroup.stdout.text)")

            let byPID = Self.histograms(run, by: "pid")
            func waited(_ pid: pid_t) -> Double { Double(byPID["\(pid)"]?["total_ns"] as? Int ?? 0) / 1e9 }
            let pairWait = pair.map(waited).reduce(0, +)
            let pairCount = pair.map { byPID["\($0)"]?["count"] as? Int ?? 0 }.reduce(0, +)
            print("runqlat: the pair waited \(pairWait) s in \(pairCount) waits; the one alone \(waited(solo)) s")
            #expect(pairWait >= seconds * 0.6 && pairWait <= seconds * 1.2,
                    "two processes on one CPU for \(seconds) s wait about \(seconds) s between them: \(pairWait) s; \(run.stdout.text)")
            #expect(pairCount > 0 && pairWait / Double(pairCount) >= 0.0005, "each wait is a time slice (ms), not a wakeup (us)")
            #expect(waited(solo) < pairWait / 4, "alone on CPU 1: \(waited(solo)) s")
            #expect(byPID["\(pair[0])"]?["comm"] as? String == "stackwork")
            KernelSupport.works("runqlat")
        }

        /// On-CPU: a process that computes for one second is on a CPU for
        /// about one second. Off-CPU: 10 sleeps of 40 ms each land in the
        /// 32–65 ms bucket.
        @Test func cpudistMeasuresTimeOnAndOffTheCPU() throws {
            let work = try StackTools.stackwork()
            let on = try ToolRun("cpudist", ["--json", "-P", "-c", "stackwork"])
            #expect(on.waitUntilAttached(), "\(on.stderr.text)")
            let hot = try ProcessLife.spawn([work, "hot", "1"])
            #expect(ProcessLife.reap(hot) == 0)
            on.signal(SIGINT)
            #expect(on.finish() == 0, "\(on.stderr.text)")
            let onCPU = Double(Self.histograms(on, by: "pid")["\(hot)"]?["total_ns"] as? Int ?? 0) / 1e9
            print("cpudist: 1 s of work was on a CPU for \(onCPU) s")
            // The loop runs for 1 s; starting the process (exec, loading) adds a little.
            #expect(onCPU >= 0.6 && onCPU <= 1.3, "\(on.stdout.text)")

            let sleeper = try ToolRun(absolute: work, ["sleep", "10", "40"])
            defer { sleeper.signal(SIGKILL); _ = sleeper.finish() }
            try #require(sleeper.stdout.wait(for: "ready"))
            let off = try ToolRun("cpudist", ["--json", "--offcpu", "-m", "-p", "\(sleeper.process.processIdentifier)"])
            #expect(off.waitUntilAttached(), "\(off.stderr.text)")
            sleeper.signal(SIGUSR1)
            #expect(sleeper.finish(timeout: 30) == 0)
            off.signal(SIGINT)
            #expect(off.finish() == 0, "\(off.stderr.text)")
            let h = Self.histograms(off, by: "pid")["all"]
            #expect(h?["unit"] as? String == "msecs")
            #expect(Self.buckets(h)[32] == 10, "ten 40 ms sleeps in the 32-63 ms bucket: \(off.stdout.text)")
            KernelSupport.works("cpudist")
        }

        /// A loop device backed by a file; removed at the end.
        final class LoopDevice {
            let path: String
            var name: String { String(path.dropFirst("/dev/".count)) }

            init() throws {
                _ = try? Command.run(["modprobe", "loop"])
                let file = try TestEnvironment.temporaryDirectory() + "/disk.img"
                try #require(FileManager.default.createFile(atPath: file, contents: nil) && truncate(file, 16 << 20) == 0)
                let r = try Command.run(["losetup", "--find", "--show", file])
                try #require(r.status == 0, "losetup: \(r.output)")
                path = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
                // Whatever probes a new disk (udev, blkid) does so now, not while traced.
                _ = try? Command.run(["udevadm", "settle", "--timeout=5"])
            }

            deinit { _ = try? Command.run(["losetup", "-d", path]) }
        }

        /// `dd` with direct I/O: 12 writes of 4 KiB, then 5 reads of 8 KiB,
        /// each its own request, counted exactly on the loop device.
        @Test func biolatencyAndBiosnoopCountEachRequestOnADisk() throws {
            let loop = try LoopDevice()
            // -c dd: the guest's udev reads a new disk too; direct I/O is
            // issued in the caller's context, so the filter sees dd.
            let hist = try ToolRun("biolatency", ["--json", "-D", "-F", "--disk", loop.name, "-c", "dd"])
            let snoop = try ToolRun("biosnoop", ["--json", "--disk", loop.name, "-c", "dd"])
            #expect(hist.waitUntilAttached() && snoop.waitUntilAttached(), "\(hist.stderr.text) \(snoop.stderr.text)")
            let write = try ProcessLife.spawn(["dd", "if=/dev/zero", "of=\(loop.path)", "bs=4k", "count=12", "oflag=direct", "status=none"])
            #expect(ProcessLife.reap(write) == 0)
            let read = try ProcessLife.spawn(["dd", "if=\(loop.path)", "of=/dev/null", "bs=8k", "count=5", "iflag=direct", "status=none"])
            #expect(ProcessLife.reap(read) == 0)
            usleep(300_000)
            for run in [hist, snoop] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }

            let io = snoop.jsonLines
            let writes = io.filter { $0["pid"] as? Int == Int(write) }, reads = io.filter { $0["pid"] as? Int == Int(read) }
            #expect(writes.count == 12 && reads.count == 5 && io.count == 17, "\(snoop.stdout.text)")
            #expect(writes.map { $0["sector"] as? Int ?? -1 } == Array(stride(from: 0, to: 96, by: 8)), "4 KiB apart: \(writes)")
            #expect(writes.allSatisfy { $0["bytes"] as? Int == 4096 && $0["op"] as? String == "WRITE" && $0["disk"] as? String == loop.name
                                        && $0["comm"] as? String == "dd" && $0["error"] as? Int == 0 && ($0["latency_ns"] as? Int ?? 0) > 0 },
                    "\(writes)")
            #expect(reads.allSatisfy { $0["bytes"] as? Int == 8192 && $0["op"] as? String == "READ" }, "\(reads)")

            // biolatency: per disk and operation, every request of the disk.
            let lines = hist.jsonLines
            #expect(lines.allSatisfy { $0["disk"] as? String == loop.name }, "--disk keeps one disk: \(hist.stdout.text)")
            let count = { (op: String) in lines.filter { $0["op"] as? String == op }.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } }
            #expect(count("WRITE") == 12 && count("READ") == 5, "\(hist.stdout.text)")
            #expect(lines.allSatisfy { Self.buckets($0).values.reduce(0, +) == $0["count"] as? Int }, "the buckets add up to the count")
            KernelSupport.works("biolatency")
            KernelSupport.works("biosnoop")
        }
    }
}
