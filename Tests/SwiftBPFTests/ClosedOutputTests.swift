// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import TestSupport
import Testing

/// `tool | head -1` and `tool 2>&1 | head -1`: when the reader goes away the
/// tool ends with exit 0 and detaches; no trap on EPIPE, no waiting for the
/// next event or for --duration. The same on every kernel, so host only.
extension Privileged {
    @Suite(.enabled(if: !TestEnvironment.inKernelLane, "output handling is the same on every kernel"))
    struct ClosedOutput {
        init() throws { _ = try Privileged() }

        /// Tools that stream events: the header (or, with 2>&1, the
        /// "Tracing" line) is the one line head takes, and the tool must
        /// stop then, with no event to write.
        static let streaming: [(String, [String])] = [
            ("mkdirtrace", []), ("execsnoop", []), ("opensnoop", ["-n", "no-such-comm"]), ("sysnoop", ["mkdir"]),
            ("killsnoop", []), ("sigsnoop", []), ("exitsnoop", []), ("oomkill", []), ("tcpstates", []), ("tcplife", []),
            ("tcpretrans", []), ("skbdrop", []), ("biosnoop", []), ("bashreadline", []),
        ]

        /// Tools that print a report at the end (after --duration).
        static let reporting: [(String, [String])] = [
            ("syscount", []), ("runqlat", []), ("cpudist", []), ("biolatency", []), ("profile", []), ("offcputime", []),
        ]

        static func run(_ tool: String, _ args: [String], redirect: String, duration: Int) throws -> (status: String, seconds: Double, output: String) {
            let before = Set(Kernel.loadedPrograms().map(\.id))
            let quoted = args.map { "'\($0)'" }.joined(separator: " ")
            let script = "\"$0\" \(quoted) --duration \(duration)\(redirect) | head -n 1; echo \"status ${PIPESTATUS[0]}\" >&2"
            let started = DispatchTime.now()
            let r = try ToolRun(absolute: "/bin/bash", ["-c", script, TestEnvironment.product(tool)])
            _ = r.finish(timeout: Double(duration) + 60)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            let left = waitUntilUnloaded(Set(Kernel.loadedPrograms().map(\.id)).subtracting(before), timeout: 10)
            #expect(left.isEmpty, "\(tool)\(redirect): programs left loaded: \(left)")
            let status = r.stderr.text.firstMatch(of: /status (\d+)/).map { String($0.1) } ?? "none"
            return (status, seconds, r.stdout.text + r.stderr.text)
        }

        @Test(arguments: ["", " 2>&1"])
        func streamingToolsStopWhenTheReaderGoes(redirect: String) throws {
            for (tool, args) in Self.streaming {
                let r = try Self.run(tool, args, redirect: redirect, duration: 60)
                #expect(r.status == "0", "\(tool)\(redirect): \(r.output)")
                #expect(r.seconds < 30, "\(tool)\(redirect) ran \(r.seconds) s after its reader went away")
                #expect(!r.output.contains("Fatal error"), "\(tool)\(redirect): \(r.output)")
            }
        }

        @Test(arguments: ["", " 2>&1"])
        func reportsToAClosedPipeEndCleanly(redirect: String) throws {
            for (tool, args) in Self.reporting {
                let r = try Self.run(tool, args, redirect: redirect, duration: 2)
                #expect(r.status == "0", "\(tool)\(redirect): \(r.output)")
                #expect(!r.output.contains("Fatal error"), "\(tool)\(redirect): \(r.output)")
            }
        }
    }
}
