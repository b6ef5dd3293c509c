// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import Synchronization
import ToolSupport

public let tool = ToolEntry(VfsStat.self)

struct VfsStat: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfsstat",
        abstract: "Count calls of the VFS's main entry points, per second.",
        discussion: """
        Each line shows, per second over the interval, the calls of vfs_read, \
        vfs_write, vfs_fsync_range (every fsync), vfs_open, vfs_create and vfs_mkdir, counted in the kernel. \
        The probes are fentry programs where the kernel attaches them, kprobes \
        otherwise (--verbose says which); a kernel with neither is an error.

        Examples:
          vfsstat              every second until Ctrl-C
          vfsstat -i 5 -p 42   every 5 seconds, one process
          vfsstat --json       counts (not rates) as JSON lines
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @OptionGroup var functions: FunctionProbeOption

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("Seconds per line.", valueName: "seconds"))
    var interval: Double = 1

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be a positive number of seconds") }
    }

    func run() throws {
        let session = try TraceSession(tool: "vfsstat", options: trace, flags: .counting
            .refusing([.failed]) { "\($0) counts calls as they begin, before any result" }
            .refusing([.timestamp]) { "\($0) prints a line per interval with its wall-clock time" })
        let (probe, kind) = try session.load(VfsstatSkeleton.open(), functions: functions)

        let reporter = VfsstatReporter(counts: probe.typed.vfsCounts, json: trace.json)
        try session.runPeriodic(what: "VFS calls (\(kind)), a line every \(interval) s", interval: interval,
                                attach: { () throws(BPFError) in try probe.attachAll() }) { final in
            reporter.report(to: session, final: final)
        }
    }
}

/// Reads the per-CPU counters and prints what changed since last time.
final class VfsstatReporter: Sendable {
    static let columns: [(op: vfsstat_op, name: String)] = [
        (VFSSTAT_READ, "read"), (VFSSTAT_WRITE, "write"), (VFSSTAT_FSYNC, "fsync"),
        (VFSSTAT_OPEN, "open"), (VFSSTAT_CREATE, "create"), (VFSSTAT_MKDIR, "mkdir"),
    ]

    let counts: PerCPUMap<UInt32, UInt64>
    let json: Bool
    private let previous: Mutex<(counts: [UInt64], time: DispatchTime, headerDone: Bool)>

    init(counts: PerCPUMap<UInt32, UInt64>, json: Bool) {
        self.counts = counts
        self.json = json
        previous = Mutex(([UInt64](repeating: 0, count: Self.columns.count), .now(), false))
    }

    func report(to session: TraceSession, final: Bool) {
        let now = Self.columns.map { (try? counts.sum($0.op.rawValue)) ?? 0 }
        let clock = DispatchTime.now()
        let (before, since, headerDone) = previous.withLock { p in
            defer { p = (now, clock, true) }
            return p
        }
        let delta = zip(now, before).map { $0 &- $1 }
        let seconds = Double(clock.uptimeNanoseconds - since.uptimeNanoseconds) / 1e9
        let out = session.output
        if json {
            var o = JSONObject()
            o.field("time", TimeFormat.iso8601(monotonicNanoseconds: 0, offset: Int64(Date().timeIntervalSince1970 * 1e9)))
            o.field("interval_s", String(format: "%.3f", seconds))
            for (column, n) in zip(Self.columns, delta) { o.field(column.name, n) }
            o.write(to: out)
        } else {
            if !headerDone {
                out.append("TIME       READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s  MKDIR/s")
                out.endLine()
            }
            var t = time(nil), parts = tm()
            localtime_r(&t, &parts)
            out.append(String(format: "%02d:%02d:%02d:", parts.tm_hour, parts.tm_min, parts.tm_sec))
            for n in delta { out.append(String(format: " %8.0f", seconds > 0 ? Double(n) / seconds : 0)) }
            out.endLine()
        }
        if final && !json {
            out.append("total:   " + zip(Self.columns, now).map { "\($0.name) \($1)" }.joined(separator: ", "))
            out.endLine()
        }
        out.flush()
    }
}
