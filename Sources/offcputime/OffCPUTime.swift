// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import StackSupport

public let tool = ToolEntry(OffCPUTime.self)

struct OffCPUTime: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "offcputime",
        abstract: "Sum the time threads spend blocked (off CPU), by the stack they blocked in.",
        discussion: """
        From the sched_switch raw tracepoint (no kprobes): when a thread is switched \
        out its stacks are taken, and when it runs again the time away is added to \
        them. Totals are in microseconds.

        Examples:
          offcputime -p 1234 --duration 5          one process
          offcputime --min-block 1000 --folded     blocks of 1 ms or more, folded
          offcputime --svg offcpu.svg -d 10        a flame graph
        """
    )

    @OptionGroup(title: "Stack options")
    var stacks: StackOptions

    @Option(name: [.customShort("m"), .long], help: ArgumentHelp("Count blocks of at least this many microseconds.", valueName: "us"))
    var minBlock: UInt64 = 1

    @Option(name: [.customShort("M"), .long], help: ArgumentHelp("Count blocks of at most this many microseconds.", valueName: "us"))
    var maxBlock: UInt64?

    func validate() throws {
        if let maxBlock, maxBlock < minBlock { throw ValidationError("--max-block (\(maxBlock)) is below --min-block (\(minBlock))") }
    }

    func run() throws {
        let session = try TraceSession(tool: "offcputime", options: stacks.trace, flags: .stacks)
        var open = try OffcputimeSkeleton.open()
        try stacks.configure(&open) {
            $0.min_ns = minBlock &* 1000
            $0.max_ns = maxBlock.map { $0 &* 1000 } ?? UInt64.max
        }
        try open.setMaxEntries(stacks.stackStorageSize, for: .switchedOut)
        let probe = try session.load(open)
        let report = try StackReport(probe: probe, options: stacks)
        try report.followProcesses(of: probe)
        try session.runPeriodic(what: "off-CPU time by stack", interval: nil,
                                attach: { () throws(BPFError) in try probe.attachAll() }) { _ in
            report.finish(session: session, title: "offcputime: blocked time (us)", unit: "us", divisor: 1000)
        }
    }
}
