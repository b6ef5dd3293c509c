// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Glibc
import ToolSupport

@main
struct OpenSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "opensnoop",
        abstract: "Trace every open, openat and openat2 on this machine as it happens.",
        discussion: """
        Each line is one call, at its return: TIME, PID, COMM, FD (-1 on failure), \
        ERR (0 or the errno name), [FLAGS decoded, with -e,] and PATH as passed.

        Examples:
          opensnoop                 every open on the machine
          opensnoop -x              only failed opens
          opensnoop -n ssh -e       commands whose name contains "ssh", with flags
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only command names containing this (in the kernel).", valueName: "name"))
    var name: String?

    @Flag(name: [.customShort("e"), .long], help: "Show the open flags, decoded (O_RDONLY|O_CLOEXEC).")
    var extended = false

    func validate() throws {
        if let name, name.isEmpty || name.utf8.count >= Int(TASK_COMM_LEN) {
            throw ValidationError("--name must be 1 to 15 bytes, as command names are")
        }
    }

    func run() throws {
        let session = try TraceSession(tool: "opensnoop", options: trace)
        var open = try OpensnoopSkeleton.open()
        if let name {
            var cfg = open_config()
            cfg.use_name = 1
            withUnsafeMutableBytes(of: &cfg.name) { raw in for (i, b) in name.utf8.enumerated() { raw[i] = b } }
            open.openCfg = cfg
        }
        let probe = try session.load(open)
        let format = OpenFormat(json: trace.json, relativeTime: trace.timestamp, extended: extended)
        try session.stream(probe, format: format, what: "open, openat and openat2")
    }
}

/// open(2) flags by name.
enum OpenFlags {
    static let named: [(Int32, String)] = [
        (O_CREAT, "O_CREAT"), (O_EXCL, "O_EXCL"), (O_NOCTTY, "O_NOCTTY"), (O_TRUNC, "O_TRUNC"), (O_APPEND, "O_APPEND"),
        (O_NONBLOCK, "O_NONBLOCK"), (O_DSYNC, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
        (0o100000, "O_LARGEFILE"), (O_DIRECTORY, "O_DIRECTORY"), (O_NOFOLLOW, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
        (O_CLOEXEC, "O_CLOEXEC"), (0o4010000, "O_SYNC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"),
    ]

    /// "O_RDONLY|O_CLOEXEC"; unknown bits as octal.
    static func describe(_ flags: UInt64) -> String {
        var rest = Int32(truncatingIfNeeded: flags)
        let access = rest & O_ACCMODE
        var parts = [access == O_WRONLY ? "O_WRONLY" : access == O_RDWR ? "O_RDWR" : access == O_RDONLY ? "O_RDONLY" : "O_ACCMODE"]
        rest &= ~O_ACCMODE
        for (bit, name) in named where bit != 0 && rest & bit == bit {
            parts.append(name)
            rest &= ~bit
        }
        if rest != 0 { parts.append("0" + String(rest, radix: 8)) }
        return parts.joined(separator: "|")
    }
}

/// How opensnoop prints an event.
struct OpenFormat: EventFormat {
    var json: Bool
    var relativeTime: Bool
    var extended: Bool

    var header: String? {
        json ? nil : Output.timeHeading(relative: relativeTime) + "PID     COMM             FD   ERR          "
            + (extended ? "FLAGS                    " : "") + "PATH"
    }

    func write(_ e: OpenEvent, to out: Output, clockOffset: Int64, start: UInt64) {
        let errnoName = ErrnoName.ifFailed(e.result)
        if json {
            var o = JSONObject()
            o.task(e, clockOffset: clockOffset)
            o.field("syscall", e.syscall)
            o.field("fd", e.result >= 0 ? e.result : -1)
            o.result(e.result)
            o.field("flags", e.flags)
            o.field("flags_decoded", OpenFlags.describe(e.flags))
            o.field("mode", "0" + String(e.mode, radix: 8))
            o.field("dfd", e.directoryFD)
            o.field("path", bytes: e.path)
            o.field("path_truncated", e.pathTruncated)
            o.write(to: out)
            return
        }
        out.timeColumn(e.timestamp, relative: relativeTime, start: start, clockOffset: clockOffset)
        out.column(e.pid, 7)
        out.columnEscaped(e.comm, 16)
        out.column(e.result >= 0 ? e.result : -1, 4)
        out.column(errnoName ?? "0", 12)
        if extended { out.column(OpenFlags.describe(e.flags), 24) }
        out.appendEscaped(e.path)
        if e.pathTruncated { out.append("...") }
        out.endLine()
    }
}
