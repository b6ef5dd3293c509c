// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// mountsnoop on a workload that mounts with both mount APIs in a mount
/// namespace of its own.
extension Privileged {
    @Suite struct MountTool {
        init() throws { _ = try Privileged() }

        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures"

        /// Runs mountsnoop with `arguments` while newmount.c mounts on
        /// DIR/mnt in a mount namespace of its own, until `last` is printed;
        /// the tool's run, DIR, and what the workload printed (the fs
        /// context's fd, the mount's fd, its mount namespace).
        static func trace(_ arguments: [String], until last: String) throws -> (run: ToolRun, dir: String, printed: [Int]) {
            let dir = try TestEnvironment.temporaryDirectory()
            let work = dir + "/mountwork"
            let cc = try Command.run(["cc", "-O2", "-Wall", "-o", work, fixtures + "/newmount.c"])
            try #require(cc.status == 0, "\(cc.output)")
            try FileManager.default.createDirectory(atPath: dir + "/mnt", withIntermediateDirectories: false)
            let run = try ToolRun("mountsnoop", arguments + ["-c", "mountwork"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let ran = try Command.run(["unshare", "--mount", "--propagation", "private", work, dir + "/mnt"])
            try #require(ran.status == 0, "\(ran.output)")
            #expect(run.stdout.wait(for: last), "\(run.stdout.text)")
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            return (run, dir, ran.output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        }

        @Test func mountsnoopReportsEachCallWithItsArgumentsAndResult() throws {
            let (run, dir, printed) = try Self.trace(["--json"], until: "MNT_DETACH")
            try #require(printed.count == 3, "\(printed)")
            let (fs, mnt, namespace) = (printed[0], printed[1], printed[2])

            let events = run.jsonLines
            try #require(events.count == 6, "\(run.stdout.text)")
            let target = dir + "/mnt"
            func check(_ e: [String: Any], _ call: String, _ ret: Int, _ flags: String, _ fields: [String: Any]) {
                #expect(e["call"] as? String == call && e["ret"] as? Int == ret && e["flags"] as? String == flags, "\(e)")
                #expect(e["comm"] as? String == "mountwork" && e["mnt_ns"] as? Int == namespace, "\(e)")
                for (key, value) in fields { #expect("\(e[key] ?? "nil")" == "\(value)", "\(key) in \(e)") }
            }
            check(events[0], "mount", 0, "MS_NOSUID|MS_NODEV", ["source": "swiftbpf-test", "target": target, "fstype": "tmpfs", "flags_value": 6])
            check(events[1], "umount", 0, "0", ["target": target, "source": "", "flags_value": 0])
            check(events[2], "mount", -2, "0", ["target": target + "/missing", "errno": "ENOENT"])
            check(events[3], "fsmount", mnt, "FSMOUNT_CLOEXEC|MOUNT_ATTR_NODEV", ["dfd": fs, "attr_flags": 4, "flags_value": 1])
            check(events[4], "move_mount", 0, "MOVE_MOUNT_F_EMPTY_PATH", ["dfd": mnt, "to_dfd": -100, "source": "", "target": target])
            check(events[5], "umount", 0, "MNT_DETACH", ["target": target, "flags_value": 2])
            KernelSupport.works("mountsnoop")
        }

        @Test func mountsnoopTextShowsTheCallsArguments() throws {
            let (run, dir, _) = try Self.trace(["-x"], until: "type tmpfs")
            // -x: the failed mount only, under the header.
            let lines = run.stdout.text.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].contains("CALL") && lines[0].contains("ARGS"), "\(run.stdout.text)")
            #expect(lines.last?.hasSuffix("mount      ENOENT       0                        swiftbpf-test on \(dir)/mnt/missing type tmpfs") == true,
                    "\(run.stdout.text)")
        }
    }
}
