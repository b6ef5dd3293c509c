// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport

public let tool = ToolEntry(ExitSnoop.self)

struct ExitSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "exitsnoop",
        abstract: "Trace every process exit: how it ended, and how old it was.",
        discussion: """
        From sched:sched_process_exit. EXIT is the exit code, or the signal that \
        killed the process ("KILL", "SEGV (core)"). AGE is seconds since it started. \
        -x keeps only processes that did not exit with 0.

        Examples:
          exitsnoop                   every process exit
          exitsnoop -x                failures and kills only
          exitsnoop --threads         every thread's exit too
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Flag(name: .long, help: "Trace every thread's exit, not only processes'.")
    var threads = false

    func run() throws {
        try TraceSession.trace("exitsnoop", options: trace, what: threads ? "thread exits" : "process exits",
                               fields: ExitFields.all(threads: threads)) {
            var open = try ExitsnoopSkeleton.open()
            open.exitCfg = exitsnoop_config(threads: threads ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
            return open
        }
    }
}

/// exitsnoop's fields, in text and JSON alike.
enum ExitFields {
    static func all(threads: Bool) -> [Field<ExitEvent>] {
        var fields: [Field<ExitEvent>] = [.pid, .ppid]
        if threads { fields.append(.tid) }
        fields += [
            .comm(),
            Field(key: "age_ns", heading: "  AGE(s)", width: 8,
                  text: { e, out, _ in out.append(String(format: "%8.2f", Double(e.ageNanoseconds) / 1e9)) },
                  json: { e, o, _ in o.field("age_ns", e.ageNanoseconds) }),
            Field(key: "exit_code", heading: "EXIT",
                  text: { e, out, _ in
                      if let code = e.exitCode { out.appendNumber(code) } else {
                          out.append(SignalName.name(e.signal ?? 0))
                          if e.dumpedCore { out.append(" (core)") }
                      }
                  },
                  json: { e, o, _ in
                      o.field("exit_code", e.exitCode)
                      o.field("signal", e.signal.map(SignalName.name))
                      o.field("core_dumped", e.dumpedCore)
                  }),
        ]
        return fields
    }
}
