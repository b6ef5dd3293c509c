// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport

public let tool = ToolEntry(BashReadline.self)

struct BashReadline: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "bashreadline",
        abstract: "Print the commands typed into every bash on this machine.",
        discussion: """
        A uretprobe on readline() in the bash binary: each line bash reads from a \
        person, with TIME, PID, UID and the COMMAND as typed.

        Examples:
          bashreadline
          bashreadline -u 1000 --json
          bashreadline --shell /usr/local/bin/bash
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Option(name: .long, help: ArgumentHelp("The bash binary to watch (default: bash on PATH).", valueName: "path"))
    var shell: String?

    func run() throws {
        let binary = try resolveShell()
        try TraceSession.trace("bashreadline", options: trace, what: "readline() in \(binary)", fields: ReadlineFields.all,
                               attach: { probe throws(BPFError) in [try probe.programs.readlineReturn.attachUretprobe(binary: binary, function: "readline")] },
                               open: { try BashreadlineSkeleton.open() })
    }

    func resolveShell() throws -> String {
        if let shell {
            guard FileManager.default.isExecutableFile(atPath: shell) else { throw ValidationError("--shell \(shell): no such executable") }
            return shell
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/bin", "/usr/bin"] {
            let path = "\(dir)/bash"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw ValidationError("no bash on PATH; name it with --shell")
    }
}

/// bashreadline's fields, in text and JSON alike.
enum ReadlineFields {
    static let all: [Field<ReadlineEvent>] = [
        .pid,
        .uid,
        .bytes("command", "COMMAND", truncated: { $0.isTruncated }) { $0.line },
    ]
}
