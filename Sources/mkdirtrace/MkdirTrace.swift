// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

@main
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
        let session = try TraceSession(tool: "mkdirtrace", options: trace)
        let probe = try session.load(MkdirtraceSkeleton.open())
        try session.stream(probe, format: MkdirFormat(json: trace.json, relativeTime: trace.timestamp), what: "mkdir and mkdirat")
    }
}

/// How mkdirtrace prints an event, as columns or as a JSON line.
struct MkdirFormat: EventFormat {
    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    var json: Bool
    var relativeTime: Bool

    var header: String? {
        json ? nil : "\(Output.timeHeading(relative: relativeTime))PID     PPID    UID    COMM             MODE RESULT       PATH"
    }

    func write(_ e: MkdirEvent, to out: Output, clockOffset: Int64, start: UInt64) {
        let errnoName = ErrnoName.ifFailed(e.result)
        if json {
            var o = JSONObject()
            o.task(e, clockOffset: clockOffset)
            o.field("syscall", e.syscall)
            o.field("ppid", e.ppid)
            o.field("dfd", e.directoryFD)
            o.field("mode", Self.octal(e.mode))
            o.field("path", bytes: e.path)
            o.field("path_truncated", e.pathTruncated)
            o.result(e.result)
            o.write(to: out)
            return
        }
        out.timeColumn(e.timestamp, relative: relativeTime, start: start, clockOffset: clockOffset)
        out.column(e.pid, 7)
        out.column(e.ppid, 7)
        out.column(e.uid, 6)
        out.columnEscaped(e.comm, 16)
        out.appendOctal(UInt64(e.mode), minimumDigits: 4)
        out.append(byte: UInt8(ascii: " "))
        out.column(errnoName ?? "0", 12)
        out.appendEscaped(e.path)
        if e.pathTruncated { out.append("...") }
        out.endLine()
    }
}
