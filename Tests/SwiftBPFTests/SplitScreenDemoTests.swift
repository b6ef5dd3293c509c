// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// `make demo`'s split screen (scripts/demo.sh): mkdirtrace in tmux's left
/// pane, a shell in the right one. Driven as a person would: keys typed
/// into the right pane, the left pane read back.
extension Privileged {
    @Suite(.enabled(if: !TestEnvironment.inKernelLane, "tmux runs on the host"))
    struct SplitScreenDemo {
        init() throws { _ = try Privileged() }

        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/scripts/demo.sh"

        static func pane(_ target: String) -> String {
            (try? Command.run(["tmux", "capture-pane", "-p", "-J", "-t", target]))?.output ?? ""
        }

        @Test func aMkdirTypedOnTheRightAppearsOnTheLeft() throws {
            let session = "swbpf-demo-\(getpid())"
            let start = try Command.run(["env", "-u", "TMUX", "MKDIRTRACE=\(TestEnvironment.product("mkdirtrace"))", "DEMO_DETACHED=1",
                                         "DEMO_SESSION=\(session)", "SHELL=/bin/sh", Self.script])
            try #require(start.status == 0, "\(start.output)")
            defer { _ = try? Command.run(["tmux", "kill-session", "-t", session]) }
            let left = "\(session):0.0", right = "\(session):0.1"
            // The tracer says it is ready; the shell shows its banner.
            var ready = false
            for _ in 0..<600 where !ready {
                ready = Self.pane(left).contains("Hit Ctrl-C to end") && Self.pane(right).contains("mkdir test")
                if !ready { usleep(100_000) }
            }
            try #require(ready, "left: \(Self.pane(left))\nright: \(Self.pane(right))")

            let name = "test-\(UInt32.random(in: 0...UInt32.max))"
            #expect(try Command.run(["tmux", "send-keys", "-t", right, "mkdir \(name)", "Enter"]).status == 0)
            let typed = Date()
            var seen = ""
            while Date().timeIntervalSince(typed) < 1.0 {
                let text = Self.pane(left)
                if let line = text.split(separator: "\n").first(where: { $0.hasSuffix(" \(name)") }) { seen = String(line); break }
                usleep(20_000)
            }
            #expect(!seen.isEmpty, "within a second of the Enter: \(Self.pane(left))")
            // The line is the mkdir's: its command, mode and result.
            let fields = seen.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.contains("mkdir") && fields.contains("0777") && fields.contains("0"), "\(seen)")

            // exit in the shell ends the demo: the session goes, the tracer with it.
            #expect(try Command.run(["tmux", "send-keys", "-t", right, "exit", "Enter"]).status == 0)
            var gone = false
            for _ in 0..<100 where !gone {
                gone = try Command.run(["tmux", "has-session", "-t", session]).status != 0
                if !gone { usleep(100_000) }
            }
            #expect(gone)
        }
    }
}
