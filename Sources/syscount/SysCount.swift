// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import Synchronization
import ToolSupport
import HistogramSupport

public let tool = ToolEntry(SysCount.self)

struct SysCount: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "syscount",
        abstract: "Count syscalls by name (or by process), with errors and latency.",
        discussion: """
        Counting happens in the kernel. Each report shows the top syscalls since the \
        previous one: COUNT, ERRORS (calls that returned an error) and, with -L, TOTAL \
        and AVG time in the syscall. Syscall names come from the running kernel's \
        tracepoints; numbers from the system's asm/unistd header.

        Examples:
          syscount                  until Ctrl-C, then the top 10
          syscount -i 1 --top 5     every second
          syscount -P -p 1234       per process, for one PID
          syscount -L --hist read   latency, and a histogram of read(2)'s
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Print a report every this many seconds.", valueName: "seconds"))
    var interval: Double?

    @Option(name: .long, help: ArgumentHelp("Show this many rows (0: all).", valueName: "n"))
    var top: Int = 10

    @Flag(name: [.customShort("P"), .long], help: "Count per process instead of per syscall.")
    var process = false

    @Flag(name: [.customShort("L"), .long], help: "Measure the time spent in each syscall.")
    var latency = false

    @Option(name: .long, help: ArgumentHelp("Print a log2 latency histogram of this syscall.", valueName: "syscall"))
    var hist: String?

    @Flag(name: [.customShort("l"), .long], help: "List the syscall names this kernel knows and exit.")
    var list = false

    func validate() throws {
        if let interval, !(interval > 0) { throw ValidationError("--interval must be a positive number of seconds") }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        let table = try SyscallTable.current()
        if list {
            print(table.allNames.joined(separator: "\n"))
            return
        }
        var histNumber: Int32 = -1
        if let hist {
            guard let n = table.numberByName[hist] else {
                let near = table.suggestions(for: hist)
                throw ValidationError("no syscall '\(hist)'" + (near.isEmpty ? "" : "; did you mean \(near.joined(separator: ", "))?"))
            }
            histNumber = n
        }
        let session = try TraceSession(tool: "syscount", options: trace, flags: .counting
            .refusing([.timestamp]) { "\($0) prints totals, each interval's headed by its wall-clock time" })
        var open = try SyscountSkeleton.open()
        open.countCfg = syscount_config(by_process: process ? 1 : 0, latency: latency ? 1 : 0, pad: (0, 0), hist_nr: histNumber)
        // Counting alone needs only the exit: no program at every entry.
        if !latency && hist == nil { try open.setAutoload(false, for: .sysEnter) }
        let probe = try session.load(open)

        let reporter = SyscountReporter(
            counts: probe.typed.counts,
            hist: probe.typed.hist,
            table: table, options: self, histName: hist)
        var what = process ? "syscalls per process" : "syscalls"
        if let interval { what += ", reporting every \(interval) s" }
        try session.runPeriodic(what: what, interval: interval,
                                attach: { () throws(BPFError) in try probe.attachAll() }) { final in
            reporter.report(to: session, final: final)
        }
    }
}

/// Reads the kernel's counters and prints what changed since last time.
final class SyscountReporter: Sendable {
    struct Totals: Equatable {
        var count: UInt64 = 0, errors: UInt64 = 0, totalNanoseconds: UInt64 = 0
        var comm = ""
    }

    let counts: PerCPUMap<UInt32, syscount_value>
    let hist: PerCPUMap<UInt32, UInt64>
    let table: SyscallTable
    let json: Bool, byProcess: Bool, latency: Bool, top: Int
    let histName: String?
    private let previous = Mutex<(totals: [UInt32: Totals], hist: [UInt64], time: Date)>(([:], [], Date()))

    init(counts: PerCPUMap<UInt32, syscount_value>, hist: PerCPUMap<UInt32, UInt64>, table: SyscallTable,
         options: SysCount, histName: String?) {
        self.counts = counts
        self.hist = hist
        self.table = table
        json = options.trace.json
        byProcess = options.process
        latency = options.latency
        top = options.top
        self.histName = histName
    }

    func snapshot() -> [UInt32: Totals] {
        var out: [UInt32: Totals] = [:]
        for key in (try? counts.keys()) ?? [] {
            guard let perCPU = try? counts.lookup(key) else { continue }
            var t = Totals()
            for v in perCPU {
                t.count &+= v.count
                t.errors &+= v.errors
                t.totalNanoseconds &+= v.total_ns
                if t.comm.isEmpty { t.comm = withUnsafeBytes(of: v.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
            }
            out[key] = t
        }
        return out
    }

    func report(to session: TraceSession, final: Bool) {
        let now = snapshot()
        let buckets = (0..<UInt32(SYSCOUNT_HIST_SLOTS)).map { (try? hist.sum($0)) ?? 0 }
        let (before, beforeHist, since) = previous.withLock { p in
            defer { p = (now, buckets, Date()) }
            return (p.totals, p.hist, p.time)
        }
        var rows: [(key: UInt32, t: Totals)] = now.compactMap { key, t in
            var d = t
            let b = before[key] ?? Totals()
            d.count -= b.count
            d.errors -= b.errors
            d.totalNanoseconds -= b.totalNanoseconds
            return d.count > 0 ? (key, d) : nil
        }
        rows.sort { $0.t.count != $1.t.count ? $0.t.count > $1.t.count : $0.key < $1.key }
        if top > 0 { rows = Array(rows.prefix(top)) }
        let histDelta = buckets.enumerated().map { $0.element - (beforeHist.count > $0.offset ? beforeHist[$0.offset] : 0) }
        let out = session.output
        let seconds = Date().timeIntervalSince(since)

        if json {
            var o = JSONObject()
            o.field("time", TimeFormat.iso8601(monotonicNanoseconds: 0, offset: Int64(Date().timeIntervalSince1970 * 1e9)))
            o.field("interval_s", String(format: "%.3f", seconds))
            var items: [[UInt8]] = []
            for r in rows {
                var item = JSONObject()
                if byProcess {
                    item.field("pid", r.key)
                    item.field("comm", r.t.comm)
                } else {
                    item.field("syscall", table.name(Int32(bitPattern: r.key)))
                    item.field("nr", r.key)
                }
                item.field("count", r.t.count)
                item.field("errors", r.t.errors)
                if latency { item.field("total_ns", r.t.totalNanoseconds) }
                items.append(item.text)
            }
            o.rawArray(byProcess ? "processes" : "syscalls", items)
            if let histName {
                o.field("hist_syscall", histName)
                o.rawArray("hist_log2_ns", histDelta.map { Array(String($0).utf8) })
            }
            o.write(to: out)
            return
        }
        var clock = tm()
        var t = time(nil)
        localtime_r(&t, &clock)
        out.append(String(format: "[%02d:%02d:%02d]", clock.tm_hour, clock.tm_min, clock.tm_sec))
        out.endLine()
        out.append(byProcess ? "PID     COMM            " : "SYSCALL                 ")
        out.append(" COUNT      ERRORS" + (latency ? "     TOTAL(us)    AVG(us)" : ""))
        out.endLine()
        for r in rows {
            if byProcess {
                out.column(r.key, 7)
                out.column(TextEscaping.human(r.t.comm), 16)
            } else {
                out.column(table.name(Int32(bitPattern: r.key)), 23)
            }
            out.append(String(format: "%6llu %11llu", r.t.count, r.t.errors))
            if latency {
                out.append(String(format: " %13.1f %10.3f", Double(r.t.totalNanoseconds) / 1e3,
                                  Double(r.t.totalNanoseconds) / 1e3 / Double(r.t.count)))
            }
            out.endLine()
        }
        if let histName, histDelta.contains(where: { $0 > 0 }) {
            out.endLine()
            out.append("\(histName) latency:")
            out.endLine()
            out.append(Log2Histogram.render(histDelta, unit: "nsecs"))
            out.endLine()
        }
        out.endLine()
        out.flush()
    }
}
