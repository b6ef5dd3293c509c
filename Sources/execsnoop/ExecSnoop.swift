// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

@main
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
        let format = ExecFormat(json: trace.json, relativeTime: trace.timestamp, printUID: printUID, quote: quote,
                                maxArgLen: Int(maxArgLen))
        try session.stream(probe, format: format, what: "execve and execveat")
    }
}

/// How execsnoop prints an event.
struct ExecFormat: EventFormat {
    var json: Bool
    var relativeTime: Bool
    var printUID: Bool
    var quote: Bool
    var maxArgLen: Int

    var header: String? {
        if json { return nil }
        return Output.timeHeading(relative: relativeTime) + (printUID ? "UID    " : "")
            + "PCOMM            PID     PPID    RET          ARGS"
    }

    func write(_ e: ExecEvent, to out: Output, clockOffset: Int64, start: UInt64) {
        let args = e.arguments
        let errnoName = ErrnoName.ifFailed(e.result)
        if json {
            var o = JSONObject()
            o.task(e, clockOffset: clockOffset)
            o.field("ppid", e.ppid)
            o.result(e.result)
            o.field("filename", bytes: e.filename)
            o.array("args") { list in for a in args { list.string(bytes: a) } }
            o.field("args_truncated", e.moreArguments)
            o.field("arg_cut", e.argumentCut)
            o.write(to: out)
            return
        }
        out.timeColumn(e.timestamp, relative: relativeTime, start: start, clockOffset: clockOffset)
        if printUID { out.column(e.uid, 6) }
        out.columnEscaped(e.comm, 16)
        out.column(e.pid, 7)
        out.column(e.ppid, 7)
        out.column(errnoName ?? "0", 12)
        // The binary that ran, then its arguments, as libbpf-tools shows them.
        let shown = [e.filename] + args.dropFirst()
        for (i, arg) in shown.enumerated() {
            if i > 0 { out.append(byte: UInt8(ascii: " ")) }
            if quote { out.append(byte: UInt8(ascii: "\"")) }
            out.appendEscaped(quote ? arg.flatMap { $0 == UInt8(ascii: "\"") ? [UInt8(ascii: "\\"), $0] : [$0] } : Array(arg))
            // A cut argument is exactly the limit long.
            if i > 0 && e.argumentCut && arg.count == maxArgLen { out.append("…") }
            if quote { out.append(byte: UInt8(ascii: "\"")) }
        }
        if e.moreArguments { out.append(" ...") }
        out.endLine()
    }
}
