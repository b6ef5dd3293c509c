// SPDX-License-Identifier: BSD-2-Clause
import Foundation

/// Every tool the package builds, found where they live: each folder under
/// Sources/ whose code declares its `ToolEntry` (`public let tool =`). The usage tests run over
/// these, so a new tool is covered the moment it is added.
public enum AllTools {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Sources").path

    /// Each tool's Swift sources, joined.
    static let code: [String: String] = {
        var out: [String: String] = [:]
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: sources)) ?? [] where dir != "bpf-skeleton" {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: sources + "/" + dir)) ?? []).filter { $0.hasSuffix(".swift") }
            let text = files.compactMap { try? String(contentsOfFile: sources + "/" + dir + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
            if text.range(of: #"\npublic let tool = ToolEntry\((async: )?\w+\.self"#, options: .regularExpression) != nil {
                out[dir] = text
            }
        }
        return out
    }()

    /// Every tool, the exporter included.
    public static var all: [String] { code.keys.sorted() }
    /// The tools that take the shared tracing flags (`TraceOptions`, alone
    /// or in a family's options), as their help says.
    public static let tracing: [String] = all.filter { tool in
        ((try? ToolRun.complete(tool, ["--help"]).stdout) ?? "").contains("-p, --pid <pid>")
    }
}
