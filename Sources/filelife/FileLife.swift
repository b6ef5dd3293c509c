// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport

public let tool = ToolEntry(FileLife.self)

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
        var open = try FilelifeSkeleton.open()
        // vfs_unlink's dentry moved from the second argument to the third
        // in Linux 5.12 (a user namespace, later an idmap, came first).
        let second = (Kernel.parameterCount(of: "vfs_unlink").map { $0 < 4 }) ?? !Kernel.versionAtLeast(5, 12)
        open.unlinkDentrySecond = second ? 1 : 0
        try open.setAutoload(false, for: second ? .unlinkFentry : .unlinkFentryBefore512)
        session.chose("vfs_unlink's dentry is its \(second ? "second (before Linux 5.12)" : "third") argument")
        let (probe, kind) = try session.load(open, functions: functions)
        try session.stream(probe, format: EventTable(FilelifeFields.all, options: trace), what: "file creation and deletion (\(kind))")
    }
}

/// filelife's fields, in text and JSON alike.
enum FilelifeFields {
    static let all: [Field<FilelifeEvent>] = [
        .pid,
        .comm(),
        .number("creator_pid", "CPID") { $0.creatorPID }.jsonOnly,
        .bytes("creator_comm", "CCOMM") { $0.creatorComm }.jsonOnly,
        // Right-aligned seconds in text, nanoseconds in JSON.
        Field(key: "age_ns", heading: "  AGE(s)", width: 8,
              text: { e, out, _ in out.append(String(format: "%8.2f", Double(e.ageNanoseconds) / 1e9)) },
              json: { e, o, _ in o.field("age_ns", e.ageNanoseconds) }),
        .bytes("file", "FILE") { $0.name },
    ]
}
