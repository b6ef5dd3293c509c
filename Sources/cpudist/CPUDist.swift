// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import HistogramSupport

public let tool = ToolEntry(CPUDist.self)

struct CPUDist: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpudist",
        abstract: "Show how long tasks run on a CPU at a stretch (or stay off it), as histograms.",
        discussion: """
        From one raw tracepoint, sched_switch: a slice on the CPU runs from a \
        task's switch-in to its switch-out; with --offcpu, the time between is \
        measured instead. Short slices with many tasks mean contention; long ones \
        CPU-bound work. The filters (-p, -t, -u, -c, --container...) select the task.

        Examples:
          cpudist                       on-CPU slices, until Ctrl-C
          cpudist --offcpu -m           time off the CPU, in milliseconds
          cpudist -P -i 5               per process, every 5 seconds
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Per")
    var per: TaskHistogramOptions

    @Flag(name: [.customShort("O"), .long], help: "Measure time off the CPU between slices instead.")
    var offcpu = false


    func run() throws {
        let session = try TraceSession(tool: "cpudist", options: trace, flags: .taskHistograms)
        var open = try CpudistSkeleton.open()
        open.histCfg = per.histogram.config(per: per.per)
        open.cpudistCfg = cpudist_config(offcpu: offcpu ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
        let probe = try session.load(open)
        let what = offcpu ? "off-CPU time" : "on-CPU time"
        let report = HistogramReport(map: probe.typed.hists, options: per.histogram, what: what, labeler: per.labeler())
        try session.runHistograms(report, interval: per.histogram.interval, attach: { () throws(BPFError) in try probe.attachAll() })
    }
}
