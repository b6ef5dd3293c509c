// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// For the same workload, our execsnoop and opensnoop must carry what
/// Debian's libbpf-tools show: every one of their lines about the workload
/// has a line of ours with the same PID, command, result and arguments/path.
extension Privileged {
    @Suite struct LibbpfToolsParity {
        init() throws { _ = try Privileged() }

        static let theirs = "/usr/sbin"

        @Test func sameInformationAsLibbpfTools() throws {
            try #require(FileManager.default.isExecutableFile(atPath: "\(Self.theirs)/execsnoop"),
                         "libbpf-tools is installed by 'make deps'")
            let work = try TestEnvironment.temporaryDirectory()
            let script = work + "/workload.sh"
            try """
            #!/bin/sh
            cat \(script) > /dev/null
            ls \(work)/missing 2>/dev/null
            /bin/echo "two words" \(work) > /dev/null
            """.write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o755)

            var runs: [(theirs: ToolRun, ours: ToolRun)] = []
            for tool in ["execsnoop", "opensnoop"] {
                // stdio buffers into a pipe: line-buffer it so the header shows on attach.
                let theirs = try ToolRun(absolute: "\(Self.theirs)/\(tool)", [], wrapper: ["/usr/bin/stdbuf", "-oL"])
                let ours = try ToolRun(tool, ["--json"])
                #expect(ours.waitUntilAttached())
                runs.append((theirs, ours))
            }
            // libbpf-tools print their header once attached.
            for r in runs { #expect(r.theirs.stdout.wait(for: "PID")) }
            let workload = Process()
            workload.executableURL = URL(fileURLWithPath: script)
            try workload.run()
            workload.waitUntilExit()
            usleep(500_000)
            // The yardsticks inherit this runner's blocked signal mask and
            // would never see SIGINT; their output is line-buffered, so
            // SIGKILL loses nothing.
            for r in runs { r.theirs.signal(SIGKILL); r.ours.signal(SIGINT) }
            for r in runs { r.theirs.finish(); #expect(r.ours.finish() == 0) }

            // execsnoop: "PCOMM PID PPID RET ARGS..."
            let theirExecs = runs[0].theirs.stdout.text.split(separator: "\n").filter { $0.contains(work) }
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(theirExecs.count == 4)
            let ourExecs = runs[0].ours.jsonLines
            for t in theirExecs {
                let match = ourExecs.first { o in
                    let args = [o["filename"] as? String ?? ""] + ((o["args"] as? [String]) ?? []).dropFirst()
                    return o["comm"] as? String == t[0] && o["pid"] as? Int == Int(t[1]) && o["ppid"] as? Int == Int(t[2])
                        && o["ret"] as? Int == Int(t[3]) && args.joined(separator: " ") == t[4...].joined(separator: " ")
                }
                #expect(match != nil, "no line of ours carries: \(t.joined(separator: " "))")
            }

            // opensnoop: "PID COMM FD ERR PATH"
            let theirOpens = runs[1].theirs.stdout.text.split(separator: "\n").filter { $0.contains(work) }
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(theirOpens.count >= 2)
            let ourOpens = runs[1].ours.jsonLines
            for t in theirOpens {
                let err = Int(t[3]) ?? -1
                let match = ourOpens.first { o in
                    o["pid"] as? Int == Int(t[0]) && o["comm"] as? String == t[1] && o["fd"] as? Int == Int(t[2])
                        && (err == 0 ? o["errno"] is NSNull : o["ret"] as? Int == -err) && o["path"] as? String == t[4]
                }
                #expect(match != nil, "no line of ours carries: \(t.joined(separator: " "))")
            }
        }
    }
}
