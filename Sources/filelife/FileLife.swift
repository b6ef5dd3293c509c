// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

@main
struct FileLife: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "filelife",
        abstract: "Show files created and deleted while tracing, with their age.",
        discussion: """
        A file is seen at its creation (open with O_CREAT, mknod: the kernel's \
        security_inode_create) and reported at its deletion (vfs_unlink): TIME, the \
        deleting PID and COMM, AGE in seconds and the FILE name. The filters select \
        whose files are followed, by their creator. The probes are fentry programs \
        where the kernel attaches them, kprobes otherwise (--verbose says which).

        Examples:
          filelife             until Ctrl-C
          filelife -p 42       files created by process 42
          filelife --json      one JSON object per line
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup var functions: FunctionProbeOption

    func run() throws {
        let session = try TraceSession(tool: "filelife", options: trace)
        let (probe, kind) = try session.load(FilelifeSkeleton.open(), functions: functions)
        let format = FilelifeFormat(json: trace.json, relativeTime: trace.timestamp)
        try session.stream(probe, format: format, what: "file creation and deletion (\(kind))")
    }
}

/// How filelife prints an event, as columns or as a JSON line.
struct FilelifeFormat: EventFormat {
    var json: Bool
    var relativeTime: Bool

    var header: String? {
        json ? nil : "\(Output.timeHeading(relative: relativeTime))PID     COMM              AGE(s) FILE"
    }

    func write(_ e: FileLifeEvent, to out: Output, clockOffset: Int64, start: UInt64) {
        if json {
            var o = JSONObject()
            o.task(e, clockOffset: clockOffset)
            o.field("creator_pid", e.creatorPID)
            o.field("creator_comm", bytes: e.creatorComm)
            o.field("age_ns", e.ageNanoseconds)
            o.field("file", bytes: e.name)
            o.write(to: out)
            return
        }
        out.timeColumn(e.timestamp, relative: relativeTime, start: start, clockOffset: clockOffset)
        out.column(e.pid, 7)
        out.columnEscaped(e.comm, 16)
        out.append(String(format: "%8.2f ", Double(e.ageNanoseconds) / 1e9))
        out.appendEscaped(e.name)
        out.endLine()
    }
}
