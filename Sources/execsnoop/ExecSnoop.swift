// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(ExecSnoop.self)

struct ExecSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "execsnoop",
        abstract: "Trace every exec (execve, execveat) on this machine as it happens.",
        discussion: """
        Each line is one exec, at its return: TIME, [UID with -U,] PCOMM (the command \
        name after the exec), PID, PPID, RET (0 or the errno name) and ARGS: the path \
        given to exec, then argv[1...] (JSON has the path and all of argv). \
        Arguments are read up to --max-args entries of --max-arg-len bytes each: an \
        argument cut short ends in "…", and " ..." after the last one means argv had more.

        -c matches the command name after the exec (e.g. -c ls); -p/-u/-t select who \
        calls exec.

        Examples:
          execsnoop                 every exec on the machine
          execsnoop -x              only failed execs
          execsnoop -U --quote      with UIDs, arguments quoted
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Flag(name: [.customShort("U"), .customLong("print-uid")], help: "Show the UID column.")
    var printUID = false

    @Flag(name: [.customShort("q"), .long], help: "Put each argument in double quotes.")
    var quote = false

    @Option(name: .long, help: ArgumentHelp("Read at most this many arguments (1-\(EXEC_ARGS_LIMIT)).", valueName: "count"))
    var maxArgs: UInt32 = 20

    @Option(name: .long, help: ArgumentHelp("Read at most this many bytes of each argument (1-\(EXEC_ARG_LIMIT - 2)).", valueName: "bytes"))
    var maxArgLen: UInt32 = 128

    func validate() throws {
        guard (1...UInt32(EXEC_ARGS_LIMIT)).contains(maxArgs) else {
            throw ValidationError("--max-args must be from 1 to \(EXEC_ARGS_LIMIT), got \(maxArgs)")
        }
        guard (1...UInt32(EXEC_ARG_LIMIT - 2)).contains(maxArgLen) else {
            throw ValidationError("--max-arg-len must be from 1 to \(EXEC_ARG_LIMIT - 2), got \(maxArgLen)")
        }
    }

    func run() throws {
        let session = try TraceSession(tool: "execsnoop", options: trace)
        var open = try ExecsnoopSkeleton.open()
        open.execCfg = exec_config(max_args: maxArgs, max_arg_len: maxArgLen)
        let probe = try session.load(open)
        let fields = ExecFields.all(printUID: printUID, quote: quote, maxArgLen: Int(maxArgLen))
        try session.stream(probe, format: EventTable(fields, options: trace), what: "execve and execveat")
    }
}

/// execsnoop's fields, in text and JSON alike.
enum ExecFields {
    static func all(printUID: Bool, quote: Bool, maxArgLen: Int) -> [Field<ExecEvent>] {
        (printUID ? [.uid] : []) + [
            .comm("PCOMM"),
            .pid,
            .ppid,
            .result("RET") { $0.result },
            .bytes("filename", "FILENAME") { $0.filename }.jsonOnly,
            Field(key: "args", heading: "ARGS",
                  text: { e, out, _ in arguments(e, quote: quote, maxArgLen: maxArgLen, to: out) },
                  json: { e, o, _ in
                      o.array("args") { list in for a in e.arguments { list.string(bytes: a) } }
                      o.field("args_truncated", e.moreArguments)
                      o.field("arg_cut", e.argumentCut)
                  }),
        ]
    }

    /// The binary that ran, then its arguments, as libbpf-tools shows them.
    static func arguments(_ e: ExecEvent, quote: Bool, maxArgLen: Int, to out: Output) {
        let shown = [e.filename] + e.arguments.dropFirst()
        for (i, arg) in shown.enumerated() {
            if i > 0 { out.append(byte: UInt8(ascii: " ")) }
            if quote { out.append(byte: UInt8(ascii: "\"")) }
            if quote { out.appendEscapedForQuotes(arg) } else { out.appendEscaped(arg) }
            // A cut argument is exactly the limit long.
            if i > 0 && e.argumentCut && arg.count == maxArgLen { out.append("…") }
            if quote { out.append(byte: UInt8(ascii: "\"")) }
        }
        if e.moreArguments { out.append(" ...") }
    }
}
