// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(MkdirTrace.self)

struct MkdirTrace: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkdirtrace",
        abstract: "Trace every mkdir(2) and mkdirat(2) on this machine as it happens.",
        discussion: """
        Each line is one completed call: TIME, PID, PPID, UID, COMM (the process's \
        command name), MODE (octal, as passed, before the umask), RESULT (0 or the \
        errno name, such as EEXIST) and PATH (as passed; control characters escaped).

        Filters run in the kernel. On Ctrl-C or SIGTERM the probes are detached and \
        the number of events seen and lost is printed to standard error.

        Examples:
          mkdirtrace                  every mkdir on the machine
          mkdirtrace -x               only the ones that failed
          mkdirtrace -c mkdir -u 1000 by the mkdir command of user 1000
          mkdirtrace --json | jq .    one JSON object per line
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    func run() throws {
        try TraceSession.trace("mkdirtrace", options: trace, what: "mkdir and mkdirat", fields: MkdirFields.all) { try MkdirtraceSkeleton.open() }
    }
}

/// mkdirtrace's fields, in text and JSON alike.
enum MkdirFields {
    static let all: [Field<PathEvent>] = [
        .pid,
        .ppid,
        .uid,
        .comm(),
        .string("syscall", "CALL") { $0.syscall == MKDIR_SYSCALL_MKDIRAT.rawValue ? "mkdirat" : "mkdir" }.jsonOnly,
        .number("dfd", "DFD") { $0.directoryFD }.jsonOnly,
        .octal("mode", "MODE", width: 4) { $0.mode },
        .result { $0.result },
        .bytes("path", "PATH", truncated: { $0.pathTruncated }) { $0.path },
    ]

    static func format(json: Bool, relativeTime: Bool) -> EventTable<PathEvent> {
        EventTable(all, json: json, relativeTime: relativeTime)
    }
}
