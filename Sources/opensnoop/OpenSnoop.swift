// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Glibc
import ToolSupport

public let tool = ToolEntry(OpenSnoop.self)

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
        try TraceSession.trace("opensnoop", options: trace, what: "open, openat and openat2", fields: OpenFields.all(extended: extended)) {
            var open = try OpensnoopSkeleton.open()
            if let name {
                var cfg = open_config()
                cfg.use_name = 1
                withUnsafeMutableBytes(of: &cfg.name) { raw in for (i, b) in name.utf8.enumerated() { raw[i] = b } }
                open.openCfg = cfg
            }
            return open
        }
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

    /// The name of `path_event.syscall` for opensnoop's `enum open_syscall`.
    static func syscallName(_ n: UInt8) -> String {
        switch UInt32(n) {
        case OPEN_SYSCALL_OPEN.rawValue: "open"
        case OPEN_SYSCALL_OPENAT2.rawValue: "openat2"
        default: "openat"
        }
    }

    /// "O_RDONLY|O_CLOEXEC"; unknown bits as octal.
    static func describe(_ flags: UInt64) -> String {
        let value = Int32(truncatingIfNeeded: flags)
        let access = value & O_ACCMODE
        let (names, rest) = FlagNames.split(value & ~O_ACCMODE, named)
        var parts = [access == O_WRONLY ? "O_WRONLY" : access == O_RDWR ? "O_RDWR" : access == O_RDONLY ? "O_RDONLY" : "O_ACCMODE"] + names
        if rest != 0 { parts.append("0" + String(rest, radix: 8)) }
        return parts.joined(separator: "|")
    }
}

/// opensnoop's fields, in text and JSON alike; FLAGS is a text column
/// with `-e` only.
enum OpenFields {
    static func all(extended: Bool) -> [Field<PathEvent>] {
        let decoded = Field<PathEvent>.string("flags_decoded", "FLAGS", width: 24) { OpenFlags.describe($0.callFlags) }
        return [
            .pid,
            .comm(),
            .string("syscall", "CALL") { OpenFlags.syscallName($0.syscall) }.jsonOnly,
            .number("fd", "FD", width: 4) { $0.result >= 0 ? $0.result : -1 },
            .result("ERR") { $0.result },
            .number("flags", "FLAGS") { $0.callFlags }.jsonOnly,
            extended ? decoded : decoded.jsonOnly,
            .octal("mode", "MODE") { $0.mode }.jsonOnly,
            .number("dfd", "DFD") { $0.directoryFD }.jsonOnly,
            .bytes("path", "PATH", truncated: { $0.pathTruncated }) { $0.path },
        ]
    }
}
