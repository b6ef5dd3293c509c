// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import HistogramSupport

public let tool = ToolEntry(BioLatency.self)

struct BioLatency: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "biolatency",
        abstract: "Show block I/O latency as histograms, per disk or per kind of request.",
        discussion: """
        From the block_rq_issue (or with -Q block_rq_insert) to the \
        block_rq_complete raw tracepoints: the time the device took (or, with \
        -Q, the time queued in the kernel as well). Requests are counted when \
        they complete. The task filters (-p, -c, ...) select the task that queued \
        the request, where the kernel queues it in that task.

        Examples:
          biolatency                    one histogram, until Ctrl-C
          biolatency -D -i 1            per disk, every second
          biolatency -F --disk vda      per operation and flags, one disk
          biolatency -Q -m              including time queued, in milliseconds
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup(title: "Histogram options")
    var histogram: HistogramOptions

    @Flag(name: [.customShort("D"), .customLong("disks")], help: "A histogram per disk.")
    var perDisk = false

    @Flag(name: [.customShort("F"), .customLong("flags")], help: "A histogram per operation and flags (READ, WRITE SYNC...).")
    var perFlags = false

    @Flag(name: [.customShort("Q"), .customLong("queued")], help: "Include the time queued in the kernel (from insertion).")
    var queued = false

    @Option(name: .long, help: ArgumentHelp("Count this disk only.", valueName: "name"))
    var disk: String?

    func validate() throws {
        if let disk { _ = try BlockDevices.number(of: disk) }
    }

    func run() throws {
        let session = try TraceSession(tool: "biolatency", options: trace, flags: .histograms)
        let flags = perFlags ? try BlockRequestFlags.current() : nil
        var open = try BiolatencySkeleton.open()
        open.histCfg = histogram.config()
        open.blockCfg = block_config(dev: try disk.map(BlockDevices.number(of:)) ?? 0, queued: queued ? 1 : 0,
                                     by_disk: perDisk ? 1 : 0, by_flags: perFlags ? 1 : 0, pad: 0)
        let probe = try session.load(open)
        let perDisk = self.perDisk
        let report = HistogramReport(map: probe.typed.hists, options: histogram, what: "block I/O latency") { key, _ in
            guard perDisk || flags != nil else { return nil }
            var parts: [String] = []
            if perDisk { parts.append("disk = \(BlockDevices.name(of: UInt32(key.id)))") }
            if let flags { parts.append("flags = \(flags.describe(key.flags))") }
            return .init(text: parts.joined(separator: ", ")) { o in
                if perDisk { o.field("disk", BlockDevices.name(of: UInt32(key.id))) }
                if let flags {
                    o.field("op", flags.operation(key.flags))
                    o.array("flags") { list in flags.flagNames(key.flags).forEach { list.string(bytes: Array($0.utf8)) } }
                }
            }
        }
        try session.runHistograms(report, interval: histogram.interval, attach: { () throws(BPFError) in try probe.attachAll() })
    }
}
