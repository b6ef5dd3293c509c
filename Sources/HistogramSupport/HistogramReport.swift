// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Containers
import Foundation
import ProbeEvents
import SwiftBPF
import ToolSupport

/// The flags of the tools that print latency histograms (runqlat, cpudist,
/// biolatency): the unit, the interval and what a histogram is per.
public struct HistogramOptions: ParsableArguments, Sendable {
    @Flag(name: [.customShort("m"), .customLong("milliseconds")], help: "Count in milliseconds, not microseconds.")
    public var milliseconds = false

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Print the histograms every this many seconds, then start again.", valueName: "seconds"))
    public var interval: Double?

    public init() {}

    public func validate() throws {
        if let interval, !(interval > 0) { throw ValidationError("--interval must be a positive number of seconds, got \(interval)") }
    }


    /// The probe's `hist_cfg` for these options.
    public func config(per: hist_per = HIST_ALL) -> hist_config {
        hist_config(divisor: milliseconds ? 1_000_000 : 1_000, per: UInt8(per.rawValue), pad: (0, 0, 0, 0, 0, 0, 0))
    }

    public var unit: String { milliseconds ? "msecs" : "usecs" }
}

/// What the scheduler tools' histograms are per: `-P`, `-L` or
/// `--per-container`.
public struct TaskHistogramOptions: ParsableArguments, Sendable {
    @OptionGroup(title: "Histogram options")
    public var histogram: HistogramOptions

    @Flag(name: [.customShort("P"), .customLong("pids")], help: "A histogram per process.")
    public var perProcess = false

    @Flag(name: [.customShort("L"), .customLong("tids")], help: "A histogram per thread.")
    public var perThread = false

    @Flag(name: .customLong("per-container"), help: "A histogram per cgroup, named by its container and pod where known.")
    public var perContainer = false

    public init() {}

    public func validate() throws {
        if [perProcess, perThread, perContainer].filter({ $0 }).count > 1 {
            throw ValidationError("-P, -L and --per-container are exclusive: choose what a histogram is per")
        }
    }

    public var per: hist_per {
        perProcess ? HIST_PER_PROCESS : perThread ? HIST_PER_THREAD : perContainer ? HIST_PER_CGROUP : HIST_ALL
    }


    /// How a histogram's key reads, for the tool's report.
    public func labeler() -> HistogramReport.Labeler {
        switch per {
        case HIST_PER_PROCESS: return { key, h in .init(text: "pid = \(key.id) \(h.commText)") { $0.field("pid", key.id); $0.field("comm", h.commText) } }
        case HIST_PER_THREAD: return { key, h in .init(text: "tid = \(key.id) \(h.commText)") { $0.field("tid", key.id); $0.field("comm", h.commText) } }
        case HIST_PER_CGROUP:
            let directory = try? ContainerDirectory.forThisNode()
            return { key, _ in
                let path = directory?.hierarchy.path(of: key.id) ?? "?"
                let w = directory?.workload(ofCgroup: key.id) ?? Workload()
                var text = "cgroup = \(path)"
                if let c = w.container { text += ", container = \(c.name ?? c.shortID)" }
                if let p = w.pod { text += ", pod = \(p.namespace ?? "?")/\(p.name ?? p.uid)" }
                return .init(text: text) { o in
                    o.field("cgroup_id", key.id)
                    o.field("cgroup", path)
                    o.workload(w)
                }
            }
        default: return { _, _ in nil }
        }
    }
}

extension hist {
    /// The command the probe recorded for a per-process or per-thread key.
    public var commText: String { withUnsafeBytes(of: comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    var buckets: [UInt64] { withUnsafeBytes(of: slots) { Array($0.bindMemory(to: UInt64.self)) } }
}

/// Reads the log2 histograms a probe counts in the kernel (probes/hist.h's
/// `hists` map) and prints them, one per key, in text or JSON lines; each
/// report clears them, so an interval's histograms count that interval.
public final class HistogramReport: Sendable {
    /// How a key is introduced: a text line above its histogram, and its JSON
    /// fields. nil for a tool's single histogram.
    public struct Label: Sendable {
        public var text: String
        public var json: @Sendable (inout JSONObject) -> Void
        public init(text: String, json: @escaping @Sendable (inout JSONObject) -> Void) {
            self.text = text
            self.json = json
        }
    }
    public typealias Labeler = @Sendable (hist_key, hist) -> Label?

    let map: TypedMap<hist_key, hist>
    let unit: String
    let divisor: UInt64
    let what: String
    let labeler: Labeler

    /// `what` names the measured quantity in the JSON (`"run queue latency"`).
    public init(map: TypedMap<hist_key, hist>, options: HistogramOptions, what: String, labeler: @escaping Labeler) {
        self.map = map
        unit = options.unit
        divisor = options.config().divisor
        self.what = what
        self.labeler = labeler
    }

    /// Takes the histograms out of the kernel (reading and deleting each key).
    public func take() -> [(key: hist_key, hist: hist)] {
        var out: [(key: hist_key, hist: hist)] = []
        for key in (try? map.keys()) ?? [] {
            guard let h = try? map.lookup(key) else { continue }
            _ = try? map.delete(key)
            out.append((key, h))
        }
        return out.sorted { ($0.key.id, $0.key.flags) < ($1.key.id, $1.key.flags) }
    }

    /// Prints and clears the histograms; an interval report starts with the time.
    public func report(to session: TraceSession, final: Bool, interval: Bool) {
        let histograms = take()
        let out = session.output
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        if session.options.json {
            for (key, h) in histograms {
                var o = JSONObject()
                o.field("time", TimeFormat.iso8601(monotonicNanoseconds: 0, offset: now))
                o.field("what", what)
                labeler(key, h)?.json(&o)
                o.field("unit", unit)
                o.field("count", h.count)
                o.field("total_ns", h.total_ns)
                let buckets = h.buckets
                let last = buckets.lastIndex { $0 > 0 } ?? -1
                o.rawArray("buckets", buckets.prefix(last + 1).enumerated().map { i, n in
                    var b = JSONObject()
                    b.field("low", i == 0 ? 0 : UInt64(1) << UInt64(i))
                    b.field("high", (UInt64(1) << UInt64(i + 1)) - 1)
                    b.field("count", n)
                    return b.text
                })
                o.write(to: out)
            }
            out.flush()
            return
        }
        if interval {
            var clock = tm()
            var t = time(nil)
            localtime_r(&t, &clock)
            out.endLine()
            out.append(String(format: "%02d:%02d:%02d", clock.tm_hour, clock.tm_min, clock.tm_sec))
            out.endLine()
        }
        for (key, h) in histograms {
            out.endLine()
            if let label = labeler(key, h) {
                // Command names and cgroup paths are the workloads' own.
                out.append(TextEscaping.human(label.text))
                out.endLine()
            }
            out.append(Log2Histogram.render(h.buckets, unit: unit))
            out.endLine()
            out.append(String(format: "count %llu, average %.1f %@", h.count,
                              h.count > 0 ? Double(h.total_ns) / Double(h.count) / Double(divisor) : 0, unit))
            out.endLine()
        }
        if histograms.isEmpty && final { session.note("\(session.tool): nothing was counted") }
        out.flush()
    }
}

extension TraceSession {
    /// For the histogram tools: attaches, prints `report`'s histograms every
    /// `interval` seconds (if given) and at the end, then detaches.
    public func runHistograms(_ report: HistogramReport, interval: Double?,
                              attach: () throws(BPFError) -> [Link]) throws(BPFError) {
        try runPeriodic(what: report.what, interval: interval, attach: attach) { [self] final in
            report.report(to: self, final: final, interval: interval != nil)
        }
    }
}

extension SharedFlags {
    /// The shared flags a histogram tool honours: it measures times in
    /// the kernel and prints histograms.
    public static let histograms = SharedFlags.counting
        .refusing([.failed]) { "\($0) measures times, which have no result" }
        .refusing([.timestamp]) { "\($0) prints histograms, each interval's headed by the time" }

    /// A histogram of the scheduler's: it tests a task that is not the
    /// current one, and the kernel offers BPF no cgroup-ancestry test for
    /// such a task.
    public static let taskHistograms = histograms
        .refusing([.cgroup]) { "\($0) cannot apply --cgroup (the kernel tests only the running task's cgroup ancestry); use --container, --pod or --namespace, or --per-container" }
}
