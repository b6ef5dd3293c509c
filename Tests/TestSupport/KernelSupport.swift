// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Glibc
import SwiftBPF

/// The rows of the kernel support table (docs/kernel-support.md): each
/// tool's smoke test says here whether the tool worked on the running
/// kernel or refused, and with which line. They go to
/// $SWIFTBPF_SUPPORT_DIR/RELEASE.tsv when that is set (the kernel lane and
/// `make test-host` set it); scripts/support-table.py turns the files of
/// green runs into the table.
public enum KernelSupport {
    public static func works(_ tool: String, _ how: String = "") {
        record(tool, "works", how)
    }

    /// `line`: what the tool printed, its name and "error: " left off.
    public static func refuses(_ tool: String, _ line: String) {
        var text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("\(tool): error: ") { text.removeFirst("\(tool): error: ".count) }
        record(tool, "refuses", text)
    }

    private static func record(_ tool: String, _ verdict: String, _ detail: String) {
        guard let dir = ProcessInfo.processInfo.environment["SWIFTBPF_SUPPORT_DIR"], !dir.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let row = [tool, verdict, detail.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")]
            .joined(separator: "\t") + "\n"
        let fd = open(dir + "/" + Kernel.release + ".tsv", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = row.withCString { write(fd, $0, strlen($0)) }
    }
}

