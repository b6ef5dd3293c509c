// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(KillSnoop.self)

struct KillSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "killsnoop",
        abstract: "Trace kill(2), tkill(2) and tgkill(2) calls, with their results.",
        discussion: """
        The syscall-only view of sigsnoop: PID and COMM are the caller's, TPID the \
        target (a process for kill, a thread for tkill and tgkill), RESULT 0 or the \
        errno name (ESRCH: no such process; EPERM: not allowed). -x keeps failed calls.

        Examples:
          killsnoop                   every kill call
          killsnoop -s TERM -x        SIGTERMs that failed
        """
    )

    @OptionGroup var signal: SignalOption

    func run() throws {
        try signal.trace("killsnoop", what: "kill, tkill and tgkill", fields: KillFields.all) { try KillsnoopSkeleton.open() }
    }
}

extension KillsnoopSkeleton.Open: SignalProbe {}

/// killsnoop's fields, in text and JSON alike.
enum KillFields {
    static let calls = ["kill", "tkill", "tgkill"]

    static let all: [Field<SignalEvent>] = [
        .pid,
        .comm(),
        .string("syscall", "CALL", width: 6) { e in calls.indices.contains(Int(e.code)) ? calls[Int(e.code)] : "\(e.code)" },
        .string("signal", "SIG", width: 7) { SignalName.name($0.signal) },
        .number("signal_number", "") { $0.signal }.jsonOnly,
        .number("target_pid", "TPID", width: 7) { Int32(bitPattern: $0.targetPID) },
        .result { $0.result },
    ]
}
