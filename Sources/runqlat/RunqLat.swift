// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import HistogramSupport

public let tool = ToolEntry(RunqLat.self)

struct RunqLat: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "runqlat",
        abstract: "Show how long tasks wait on a run queue for a CPU, as histograms.",
        discussion: """
        A task's wait starts when it is woken (sched_wakeup, sched_wakeup_new) or \
        preempted while still runnable, and ends when it is switched in \
        (sched_switch): raw tracepoints, no kprobes. Long waits mean the CPUs are \
        the bottleneck. The filters (-p, -t, -u, -c, --container...) select the \
        waiting task.

        Examples:
          runqlat                       one histogram, until Ctrl-C
          runqlat -i 1 -m               every second, in milliseconds
          runqlat -P -p 1234            one process, a histogram per process
          runqlat --per-container       a histogram per container (cgroup)
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Per")
    var per: TaskHistogramOptions


    func run() throws {
        let session = try TraceSession(tool: "runqlat", options: trace, flags: .taskHistograms)
        var open = try RunqlatSkeleton.open()
        open.histCfg = per.histogram.config(per: per.per)
        let probe = try session.load(open)
        let report = HistogramReport(map: probe.typed.hists, options: per.histogram, what: "run queue latency", labeler: per.labeler())
        try session.runHistograms(report, interval: per.histogram.interval, attach: { () throws(BPFError) in try probe.attachAll() })
    }
}
