// SPDX-License-Identifier: BSD-2-Clause
// eventpath: the library's per-event cost, ring buffer → handler →
// formatted line, on real records. A burst of mkdir calls from this thread
// fills the mkdirtrace probe's ring buffer; then the drain is timed with the
// handler doing (a) nothing but decode, (b) a text line, (c) a JSON line.
// Root. Prints ns per event (median of BENCH_RUNS, default 5) and JSON.
import BPFProbes
import Foundation
import Glibc
import Symbols
import ToolSupport

@main
enum EventPath {
    static let burst = 50_000

    static func threadID() -> UInt32 {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return UInt32(target.split(separator: "/").last ?? "") ?? 0
    }

    /// Fills the ring buffer, then times draining it through `handler`.
    static func measure(_ name: String, _ handler: @escaping @Sendable (UnsafeRawBufferPointer, Output) -> Void) throws -> Double {
        var open = try MkdirtraceSkeleton.open()
        open.filter.tid = threadID()
        try open.setMaxEntries(16 << 20, for: .events)
        try open.chooseSyscallPrograms()
        let probe = try open.load()
        let dir = "/tmp/swiftbpf-eventpath-\(getpid())"
        mkdir(dir, 0o755)  // before attaching: the burst is all EEXIST
        let links = try probe.attachAll()
        for _ in 0..<burst { mkdir(dir, 0o755) }
        links.forEach { $0.detach() }

        // Written like a tool writing into a file: to /dev/null.
        let out = Output(fileDescriptor: Glibc.open("/dev/null", O_WRONLY))
        let queue = DispatchQueue(label: "eventpath")
        let start = DispatchTime.now()
        let rb = try RingBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents, queue: queue) { record in
            if case .event(let bytes) = record { handler(bytes, out) }
        }
        rb.drain()
        queue.sync { out.flush() }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds)
        guard rb.deliveredEvents == UInt64(burst), rb.lostEvents == 0 else {
            throw BenchError("\(name): delivered \(rb.deliveredEvents), lost \(rb.lostEvents) of \(burst)")
        }
        return ns / Double(burst)
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// The columns of a typical tool (mkdirtrace's), through the shared
    /// field table every tool's output goes through.
    static let fields: [Field<PathEvent>] = [
        .pid, .ppid, .uid, .comm(),
        .octal("mode", "MODE", width: 4) { $0.mode }, .result { $0.result },
        .bytes("path", "PATH", truncated: { $0.pathTruncated }) { $0.path },
    ]
    static let textTable = EventTable(fields, json: false, relativeTime: false)
    static let jsonTable = EventTable(fields, json: true, relativeTime: false)

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) }

    /// What naming stacks costs (profile, offcputime and stackcount do it
    /// at the end): N distinct kernel addresses (kallsyms read on the
    /// first), and N distinct user addresses of this process (its maps,
    /// then each library's symbols parsed once), cold and warm.
    static func symbolization(count: Int = 10_000) -> [String: Double] {
        let kallsyms = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/kallsyms")).readToEnd())
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        let kernelText = kallsyms.split(separator: "\n").compactMap { line -> UInt64? in
            let f = line.split(separator: " ")
            return f.count >= 3 && "tT".contains(f[1]) ? UInt64(f[0], radix: 16) : nil
        }.filter { $0 != 0 }
        let kernel = stride(from: 0, to: kernelText.count, by: max(1, kernelText.count / count)).prefix(count).map { kernelText[$0] + 4 }
        let maps = ProcessMaps(pid: getpid())?.mappings.filter { $0.executable && $0.isFile } ?? []
        let span = maps.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }
        var user: [UInt64] = []
        for m in maps {
            let share = max(1, Int(Double(count) * Double(m.end - m.start) / Double(max(span, 1))))
            let step = max(1, (m.end - m.start) / UInt64(share))
            user += stride(from: m.start, to: m.end, by: Int(step)).prefix(share).map { $0 }
        }
        func time(_ body: () -> Void) -> Double { let t = now(); body(); return now() - t }
        let symbolizer = Symbolizer()
        var named = 0
        let kernelCold = time { for a in kernel where symbolizer.kernelFrame(a).function != nil { named += 1 } }
        let kernelWarm = time { for a in kernel where symbolizer.kernelFrame(a).function != nil { named += 1 } }
        let userCold = time { for a in user where symbolizer.userFrame(a, pid: getpid()).function != nil { named += 1 } }
        let userWarm = time { for a in user where symbolizer.userFrame(a, pid: getpid()).function != nil { named += 1 } }
        print("symbolization, \(kernel.count) distinct kernel and \(user.count) distinct user addresses (\(named / 2) named):")
        print(String(format: "  kernel     %8.1f ms the first time (kallsyms read), %6.0f ns/address after", kernelCold / 1e6, kernelWarm / Double(max(kernel.count, 1))))
        print(String(format: "  user       %8.1f ms the first time (maps, %d files parsed), %6.0f ns/address after", userCold / 1e6, Set(maps.map(\.inode)).count, userWarm / Double(max(user.count, 1))))
        return ["symbolize kernel cold ms": kernelCold / 1e6, "symbolize kernel ns/address": kernelWarm / Double(max(kernel.count, 1)),
                "symbolize user cold ms": userCold / 1e6, "symbolize user ns/address": userWarm / Double(max(user.count, 1))]
    }

    static func main() {
        let runs = Int(ProcessInfo.processInfo.environment["BENCH_RUNS"] ?? "") ?? 5
        let offset = Kernel.monotonicToRealtimeOffset()
        let cases: [(String, @Sendable (UnsafeRawBufferPointer, Output) -> Void)] = [
            ("decode", { bytes, _ in
                guard let e = PathEvent(bytes) else { return }
                precondition(e.pid != 0 && e.path.count > 0)
            }),
            ("text line", { bytes, out in
                guard let e = PathEvent(bytes) else { return }
                textTable.write(e, to: out, clockOffset: offset, start: 0)
            }),
            ("JSON line", { bytes, out in
                guard let e = PathEvent(bytes) else { return }
                jsonTable.write(e, to: out, clockOffset: offset, start: 0)
            }),
        ]
        do {
            try Kernel.requirePrivileges()
            var report: [String: Double] = [:]
            print("event path, \(burst) real mkdir events per run, median of \(runs) runs:")
            for (name, handler) in cases {
                var samples: [Double] = []
                for _ in 0..<runs { samples.append(try measure(name, handler)) }
                samples.sort()
                let median = samples[samples.count / 2]
                report[name] = median
                print(String(format: "  %-10@ %8.0f ns/event  (%.0f-%.0f)", name as NSString, median, samples.first!, samples.last!))
            }
            for (name, value) in symbolization() { report[name] = value }
            let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        } catch {
            FileHandle.standardError.write(Data("eventpath: error: \(error)\n".utf8))
            exit(1)
        }
    }
}
