// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(SigSnoop.self)

struct SigSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigsnoop",
        abstract: "Trace every signal generated: who sent it, to whom, and what became of it.",
        discussion: """
        From signal:signal_generate, so it sees signals from kill(2) and friends, \
        faults (SEGV), timers, pipes and the kernel alike. PID and COMM are the \
        sender's; TPID and TCOMM the target thread's. RESULT is the kernel's verdict: \
        delivered, ignored, already_pending, overflow_fail or lose_info. -x keeps \
        the signals that were not delivered; the shared filters select the sender.

        Examples:
          sigsnoop                    every signal
          sigsnoop -s KILL            SIGKILLs only
          sigsnoop -p 1234            signals sent by process 1234
        """
    )

    @OptionGroup var signal: SignalOption

    func run() throws {
        try signal.trace("sigsnoop", what: "signals generated", fields: SignalFields.generated) { try SigsnoopSkeleton.open() }
    }
}

extension SigsnoopSkeleton.Open: SignalProbe {}

/// sigsnoop's fields, in text and JSON alike.
enum SignalFields {
    static let results = ["delivered", "ignored", "already_pending", "overflow_fail", "lose_info"]

    static let generated: [Field<SignalEvent>] = [
        .pid,
        .comm(),
        .string("signal", "SIG", width: 7) { SignalName.name($0.signal) },
        .number("signal_number", "") { $0.signal }.jsonOnly,
        .number("target_pid", "TPID", width: 7) { $0.targetPID },
        .bytes("target_comm", "TCOMM", width: 16) { $0.targetComm },
        .number("si_code", "") { $0.code }.jsonOnly,
        .string("result", "RESULT") { e in results.indices.contains(Int(e.result)) ? results[Int(e.result)] : "\(e.result)" },
    ]
}
