// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// A process names itself "a\nb 999" (its comm, which any process may set):
/// every text output shows the newline escaped, so no line of the output
/// starts with "b 999", and no folded-stack line carries a forged count.
extension Privileged {
    @Suite(.enabled(if: !TestEnvironment.inKernelLane, "escaping is the same on every kernel"))
    struct HostileNames {
        init() throws { _ = try Privileged() }

        static let forged = "b 999"
        static let escaped = "a\\nb 999"

        /// The lines of `text` that the name forged.
        static func forgedLines(_ text: String) -> [Substring] {
            text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix(forged) || $0.hasPrefix(" " + forged) }
        }

        static func namedHelper() throws -> Helper {
            let helper = try Helper()
            #expect(helper.run("name a\\nb\\s999") == "ok 7")
            return helper
        }

        @Test func streamingToolsEscapeTheName() throws {
            let helper = try Self.namedHelper()
            let dir = try TestEnvironment.temporaryDirectory()
            let run = try ToolRun("mkdirtrace", ["-p", "\(helper.pid)"])
            #expect(run.waitUntilAttached())
            #expect(helper.run("mkdir \(dir)/x 755") == "ok 0")
            #expect(run.stdout.wait(for: Self.escaped), "\(run.stdout.text)")
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            #expect(Self.forgedLines(run.stdout.text).isEmpty, "\(run.stdout.text)")
        }

        @Test func reportsEscapeTheName() throws {
            let helper = try Self.namedHelper()
            let pid = "\(helper.pid)"
            for (tool, args) in [("syscount", ["-P", "-p", pid]), ("runqlat", ["-P", "-p", pid]), ("cpudist", ["-P", "-p", pid]),
                                 ("profile", ["-p", pid, "-f"]), ("profile", ["-p", pid])] {
                let run = try ToolRun(tool, args + ["--duration", "3"])
                #expect(run.waitUntilAttached(), "\(tool): \(run.stderr.text)")
                // Calls, and time on and off the CPU, under that name.
                #expect(helper.run("getpriority 2000") == "ok 0")
                #expect(helper.run("spin 600").hasPrefix("ok"))
                for _ in 0..<5 { _ = helper.run("udprecv 20") }
                #expect(run.finish(timeout: 60) == 0, "\(tool): \(run.stderr.text)")
                #expect(run.stdout.text.contains(Self.escaped), "\(tool) \(args): \(run.stdout.text)")
                #expect(Self.forgedLines(run.stdout.text).isEmpty, "\(tool) \(args): \(run.stdout.text)")
            }
        }
    }
}
