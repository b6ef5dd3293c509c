// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Dispatch
import Foundation
import ProbeEvents
import SwiftBPF
import Symbols
import ToolSupport

/// The output flags the stack tools (profile, offcputime, stackcount)
/// share, with stacks.bpf.h's configuration they imply.
public struct StackOptions: ParsableArguments, Sendable {
    @OptionGroup(title: "Tracing options")
    public var trace: TraceOptions

    @Flag(name: [.customShort("U"), .customLong("user-stacks-only")], help: "Take user stacks only.")
    public var userOnly = false

    @Flag(name: [.customShort("K"), .customLong("kernel-stacks-only")], help: "Take kernel stacks only.")
    public var kernelOnly = false

    @Flag(name: [.customShort("d"), .long], help: "Put a -- frame between the kernel and the user part of each stack.")
    public var delimited = false

    @Flag(name: [.customShort("f"), .long], help: "Write folded stacks (frame;frame;frame count), which flamegraph.pl, inferno and speedscope read.")
    public var folded = false

    @Option(name: .long, help: ArgumentHelp("Also write a flame graph to this SVG file (open it in a browser).", valueName: "file"))
    public var svg: String?

    @Option(name: .long, help: ArgumentHelp("Stacks the kernel can hold (stack_traces entries); more lowers collisions.", valueName: "n"))
    public var stackStorageSize: UInt32 = 16384

    public init() {}

    public func validate() throws {
        if userOnly && kernelOnly { throw ValidationError("-U and -K exclude each other: give one, or neither for both") }
        if stackStorageSize < 64 || stackStorageSize > 1 << 20 {
            throw ValidationError("--stack-storage-size must be from 64 to 1048576, got \(stackStorageSize)")
        }
        if let svg {
            let dir = (svg as NSString).deletingLastPathComponent
            var isDir: ObjCBool = false
            if !dir.isEmpty && !(FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue) {
                throw ValidationError("--svg \(svg): no directory \(dir)")
            }
        }
    }


    /// What the probe's `stacks_cfg` should say.
    public var config: stacks_config {
        var c = stacks_config()
        c.user = kernelOnly ? 0 : 1
        c.kernel = userOnly ? 0 : 1
        c.per_process = 1
        c.max_ns = UInt64.max
        return c
    }

    /// Says which stacks to take (`stacks_cfg`, from `config` as `adjust`
    /// changes it) and sizes the probe's stack maps, before load.
    public func configure<Open: OpenStackProbe & ~Copyable>(_ open: inout Open, adjust: (inout stacks_config) -> Void = { _ in }) throws(BPFError)
    where Open.StacksConfig == stacks_config {
        var config = self.config
        adjust(&config)
        open.stacksCfg = config
        try open.setMaxEntries(stackStorageSize, for: .stackTraces)
        try open.setMaxEntries(stackStorageSize, for: .stackCounts)
    }
}

/// One counted stack, named: the process, its frames (outermost first),
/// and its count (samples, calls, or microseconds).
public struct NamedStack: Sendable {
    public var pid: UInt32
    public var comm: String
    /// User frames, outermost (main) first.
    public var user: [Frame]
    /// Kernel frames, outermost first.
    public var kernel: [Frame]
    public var count: UInt64
}

/// Reads what stacks.bpf.h counted and writes it out: text (as BCC's
/// tools print it), folded stacks, and a flame graph.
public final class StackReport: @unchecked Sendable {
    let counts: TypedMap<stack_key, UInt64>
    let traces: StackTraceMap
    let gaps: PerCPUMap<UInt32, UInt64>
    public let symbolizer: Symbolizer
    let options: StackOptions

    public init<Probe: StackProbe>(probe: Probe, options: StackOptions) throws(BPFError) {
        counts = try probe.maps.stackCounts.typed(stack_key.self, UInt64.self)
        traces = try StackTraceMap(probe.maps.stackTraces)
        gaps = try probe.maps.stackGaps.perCPU(UInt32.self, UInt64.self)
        symbolizer = Symbolizer(kernelSymbols: !options.userOnly)
        self.options = options
    }

    private var announcements: RingBuffer?
    private let announced = DispatchQueue(label: "swift-bpf.stacks.processes")

    /// Reads the memory map of each process the probe announces (on its
    /// first user stack, through the `events` ring), while it lives, so its
    /// frames are named even if it exits before the report.
    public func followProcesses<Probe: TraceProbe>(of probe: Probe) throws(BPFError) {
        guard !options.kernelOnly else { return }
        let symbolizer = self.symbolizer
        announcements = try RingBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents, queue: announced) { record in
            guard case .event(let bytes) = record, bytes.count >= 4 else { return }
            symbolizer.remember(pid: bytes.loadUnaligned(as: Int32.self))
        }
    }

    /// Every counted stack, named; `divisor` scales the counts (1000 turns
    /// nanoseconds into microseconds).
    public func stacks(divisor: UInt64 = 1) throws(BPFError) -> [NamedStack] {
        var out: [NamedStack] = []
        let entries = try counts.entries()
        // Every process's map first (cheap), while most still live; the
        // files are parsed after.
        if !options.kernelOnly {
            for pid in Set(entries.map(\.key.pid)) where pid != 0 { symbolizer.remember(pid: Int32(bitPattern: pid)) }
        }
        for (key, value) in entries {
            let pid = Int32(bitPattern: key.pid)
            let user = try traces.frames(key.user_stack).map { $0.reversed().map { symbolizer.userFrame($0, pid: pid) } } ?? []
            // The innermost kernel frames of a tracepoint's stack are the
            // BPF program and its trampoline: not the traced code.
            var kernel = try traces.frames(key.kernel_stack).map { $0.reversed().map { symbolizer.kernelFrame($0) } } ?? []
            while let f = kernel.last?.function, f.hasPrefix("bpf_prog_") || f.hasPrefix("bpf_trace_run") || f.hasPrefix("__bpf_trace_") {
                kernel.removeLast()
            }
            let comm = withUnsafeBytes(of: key.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            out.append(NamedStack(pid: key.pid, comm: comm, user: user, kernel: kernel, count: value))
        }
        // Stacks that differ only in addresses inside the same functions
        // are one stack to a reader.
        var merged: [String: NamedStack] = [:]
        for stack in out {
            let key = "\(stack.pid)\u{0}\(stack.comm)\u{0}" + (stack.user + stack.kernel).map(Self.label).joined(separator: "\u{0}")
            if merged[key] != nil { merged[key]!.count += stack.count } else { merged[key] = stack }
        }
        // Scaled after summing, so that many small counts are not each
        // rounded down.
        return merged.values.map { var s = $0; s.count /= max(divisor, 1); return s }.filter { $0.count > 0 }
    }

    /// The gaps the kernel counted, as one line for the summary; nil when
    /// every stack was stored.
    public func gapSummary() throws(BPFError) -> String? {
        var parts: [String] = []
        let names: [(stack_gap, String)] = [
            (GAP_USER_COLLISION, "user stacks lost to hash collisions"),
            (GAP_USER_UNWALKABLE, "user stacks not walkable (no frame pointers?)"),
            (GAP_USER_OTHER, "user stacks lost otherwise"),
            (GAP_KERNEL_COLLISION, "kernel stacks lost to hash collisions"),
            (GAP_KERNEL_OTHER, "kernel stacks lost otherwise"),
            (GAP_COUNTS_FULL, "samples lost: stack_counts was full"),
        ]
        for (gap, name) in names {
            let n = try gaps.sum(gap.rawValue) ?? 0
            if n > 0 { parts.append("\(n) \(name)") }
        }
        guard !parts.isEmpty else { return nil }
        return parts.joined(separator: ", ") + " (a larger --stack-storage-size helps with collisions and a full map)"
    }

    /// A frame as the outputs name it: kernel frames with their module.
    static func label(_ f: Frame) -> String {
        // A symbol name comes from a file a workload may have crafted.
        if f.origin == .kernel, let module = f.module, f.function != nil { return TextEscaping.human("\(f.name) [\(module)]") }
        return TextEscaping.human(f.name)
    }

    /// The frames of a stack from the root: user, then kernel (the order
    /// in which they were called), with `--` between them under `-d`.
    func path(_ s: NamedStack, kernelSuffix: String) -> [String] {
        var frames = s.user.map(Self.label)
        if options.delimited && !s.user.isEmpty && !s.kernel.isEmpty { frames.append("--") }
        frames += s.kernel.map { Self.label($0) + kernelSuffix }
        return frames
    }

    /// BCC's layout: each stack innermost first, kernel then user, then
    /// the process and the count; the biggest last, nearest the prompt.
    public func writeText(_ stacks: [NamedStack], unit: String, to out: Output) {
        for s in stacks.sorted(by: { ($0.count, $0.comm) < ($1.count, $1.comm) }) {
            for f in s.kernel.reversed() { out.append("    \(Self.label(f))"); out.endLine() }
            if options.delimited && !s.user.isEmpty && !s.kernel.isEmpty { out.append("    --"); out.endLine() }
            for f in s.user.reversed() { out.append("    \(Self.label(f))"); out.endLine() }
            if !s.comm.isEmpty {
                out.append("    -                \(TextEscaping.human(s.comm)) (\(s.pid))")
                out.endLine()
            }
            out.append("        \(s.count)" + (unit.isEmpty ? "" : " \(unit)"))
            out.endLine()
            out.endLine()
        }
    }

    /// One line per stack: `comm;frame;...;frame count`, root first, kernel
    /// frames marked `_[k]` (flamegraph.pl's and inferno's convention).
    public func writeFolded(_ stacks: [NamedStack], to out: Output) {
        var lines: [String: UInt64] = [:]
        for s in stacks {
            let frames = (s.comm.isEmpty ? [] : [TextEscaping.human(s.comm)]) + path(s, kernelSuffix: "_[k]")
            lines[frames.map { $0.replacingOccurrences(of: ";", with: ":") }.joined(separator: ";"), default: 0] += s.count
        }
        for (line, count) in lines.sorted(by: { $0.key < $1.key }) {
            out.append("\(line) \(count)")
            out.endLine()
        }
    }

    /// The flame graph of these stacks, as an SVG document.
    public func flameGraph(_ stacks: [NamedStack], title: String, unit: String) -> String {
        var graph = FlameGraph(title: title, unit: unit)
        for s in stacks {
            var frames: [FlameGraph.Frame] = s.comm.isEmpty ? [] : [.init(name: s.comm, kind: .process)]
            for f in s.user { frames.append(.init(name: f.name, kind: f.isSwiftRuntime ? .swiftRuntime : .user)) }
            if options.delimited && !s.user.isEmpty && !s.kernel.isEmpty { frames.append(.init(name: "--", kind: .process)) }
            for f in s.kernel { frames.append(.init(name: Self.label(f), kind: .kernel)) }
            graph.add(frames, count: s.count)
        }
        return graph.svg()
    }

    /// What every stack tool does at the end: text or folded on standard
    /// output, the SVG if asked, and the gaps on standard error.
    public func finish(session: TraceSession, title: String, unit: String, divisor: UInt64 = 1) {
        // What was announced before the programs detached is read first.
        announcements?.stop()
        announced.sync {}
        if let lost = announcements?.lostEvents, lost > 0 {
            session.note("\(session.tool): \(lost) processes were not announced in time (a full ring); their frames may be [unknown] if they exited")
        }
        do {
            let stacks = try stacks(divisor: divisor)
            if options.folded { writeFolded(stacks, to: session.output) } else { writeText(stacks, unit: unit, to: session.output) }
            if let svg = options.svg {
                do {
                    try flameGraph(stacks, title: title, unit: unit).write(toFile: svg, atomically: true, encoding: .utf8)
                    session.note("\(session.tool): wrote a flame graph of \(stacks.count) stacks to \(svg)")
                } catch {
                    session.note("\(session.tool): cannot write \(svg): \(error.localizedDescription)")
                }
            }
            if let unavailable = symbolizer.kernelUnavailable { session.note("\(session.tool): kernel frames unnamed: \(unavailable)") }
            // Each file once, whatever number of frames it left unnamed; the
            // path and the reason are the workload's choice: escaped.
            let unreadable = symbolizer.unreadableFiles
            for file in unreadable.prefix(10) {
                session.note("\(session.tool): frames in \(TextEscaping.human(file.path)) unnamed: \(TextEscaping.human(file.reason))")
            }
            if unreadable.count > 10 { session.note("\(session.tool): and \(unreadable.count - 10) more files with frames unnamed") }
            if let gaps = try gapSummary() { session.note("\(session.tool): \(gaps)") }
        } catch {
            session.note("\(session.tool): error: \(error.report)")
        }
    }
}

extension SharedFlags {
    /// The shared flags a stack tool honours: it counts stacks in the
    /// kernel and writes them at the end.
    public static let stacks = SharedFlags.counting
        .refusing([.json]) { "\($0) writes stacks, not events: use --folded (or --svg) for a machine-readable form" }
        .refusing([.failed]) { "\($0) counts stacks, which have no result" }
        .refusing([.timestamp]) { "\($0) prints totals at the end" }
}
