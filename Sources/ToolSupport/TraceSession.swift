// SPDX-License-Identifier: BSD-2-Clause
import Dispatch
import ArgumentParser
import Containers
import Foundation
import ProbeEvents
import SwiftBPF

/// What a tracing run saw, printed on exit.
public struct TraceSummary: Sendable {
    /// Events delivered to the tool (before any user-space formatting).
    public var events: UInt64
    /// Events the kernel dropped because the ring buffer was full.
    public var lost: UInt64
    public var seconds: Double
}

/// The run loop every tracing tool shares: ring buffer on a serial queue,
/// Ctrl-C / SIGTERM / `--duration` / closed pipe to stop, then detach,
/// drain and print the summary to standard error.
public final class TraceSession: @unchecked Sendable {
    public let tool: String
    public let options: TraceOptions
    public let output = Output()
    /// Event handlers run here, one at a time.
    public let queue = DispatchQueue(label: "swift-bpf.events", qos: .userInitiated)
    /// Add to a BPF timestamp to get wall-clock nanoseconds.
    public let clockOffset = Kernel.monotonicToRealtimeOffset()
    /// CLOCK_MONOTONIC when the session was created (for `-T`).
    public let startNanoseconds: UInt64
    /// cgroup ID → container and pod, for `-C`, `--container`, `--pod`,
    /// `--namespace` and the JSON fields; nil where there is no cgroup v2.
    public let workloads: ContainerDirectory?
    /// The container filter's decisions so far, shared with the kernel.
    @usableFromInline let gate: WorkloadGate?

    /// Refuses the shared flags the tool does not honour (`flags`, the
    /// tool's one declaration of them), then checks privileges, so an
    /// unprivileged run fails before any BPF work with an error that says
    /// what to do. A tool that counts in the kernel (`SharedFlags.counting`)
    /// counts only cgroups already decided by a container filter;
    /// streaming tools let a new cgroup's first events through for user
    /// space to decide. A container filter that matches nothing on the
    /// node is a usage error.
    public init(tool: String, options: TraceOptions, flags: SharedFlags = .all) throws {
        try flags.check(options, tool: tool)
        self.tool = tool
        self.options = options
        let aggregating = flags.aggregating
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        startNanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        if options.verbose { LibbpfLog.verbose = true }
        if let btf = options.btf { KernelBTF.file = btf }
        // Before anything attaches: a SIGTERM that arrives as soon as the
        // "Tracing" line is out must still detach and report.
        StopWaiter.takeSignals()
        try Kernel.requirePrivileges()

        let selector = options.workloads
        if options.json || options.containers || !selector.isEmpty {
            do {
                workloads = try ContainerDirectory.forThisNode()
            } catch {
                // JSON without container fields is still JSON; the flags need it.
                if options.containers || !selector.isEmpty { throw BPFError(.notFound, "\(error)") }
                workloads = nil
            }
        } else {
            workloads = nil
        }
        if let workloads, !selector.isEmpty {
            gate = try WorkloadGate(directory: workloads, selector: selector, decidedOnly: aggregating)
        } else {
            gate = nil
        }
    }

    /// The time column for an event, per `-T`.
    public func appendTime(_ ns: UInt64) {
        if options.timestamp {
            output.append(TimeFormat.relative(ns, since: startNanoseconds))
        } else {
            output.appendClock(monotonicNanoseconds: ns, offset: clockOffset)
        }
    }

    public func note(_ text: String) {
        StandardStreams.error(text)
    }

    /// With `--verbose`, says which way the tool went where this kernel
    /// left it a choice (a fallback chosen by probing the kernel).
    public func chose(_ what: String) {
        if options.verbose { note("\(tool): \(what)") }
    }

    /// Returns once Ctrl-C, SIGTERM or `--duration` says stop, or a closed
    /// output does; `timers` run meanwhile. No timer of its own: output is
    /// flushed when a batch of events has been written (or a report), so an
    /// idle tool sleeps until the kernel has something for it.
    func waitForStop(timers: [StopWaiter.Timer] = []) {
        StopWaiter.wait(duration: options.duration, timers: timers)
    }

    /// Configures and loads a tool's probe, the steps every tool shares:
    /// the shared filters go into its `filter` global, `--buffer-size`
    /// sizes its `events` ring buffer, programs for tracepoints this kernel
    /// lacks are left out, and after loading `--cgroup` goes into its
    /// `cgroup_filter` map and the container filter's decisions into
    /// `cgroup_verdicts`; per-call state (`DECLARE_CALL_STATE`) goes in
    /// task storage or, before Linux 5.12, a hash keyed by the task. The
    /// probe is reached through its skeleton's conformance to the probe
    /// contract (`OpenTraceProbe`).
    public func load<Open: OpenTraceProbe & ~Copyable>(_ open: consuming Open) throws(BPFError) -> Open.Loaded
    where Open.Filter == trace_filter {
        var open = open
        try configure(&open)
        return try finish(open)
    }

    private func configure<Open: OpenTraceProbe & ~Copyable>(_ open: inout Open) throws(BPFError) where Open.Filter == trace_filter {
        var filter = options.filter
        if let gate { filter.use_workloads = UInt8(gate.decidedOnly ? WORKLOADS_DECIDED_ONLY : WORKLOADS_UNDECIDED_PASS) }
        open.filter = filter
        let exitProgram = try open.chooseSyscallPrograms()
        if let exitProgram { chose("\(exitProgram)") }
        if exitProgram != .tpBTF, Open.self is any OpenCallStateProbe.Type {
            chose(Kernel.supports(.taskStorage) ? "per-call state in task storage"
                  : "per-call state in a hash keyed by task (task storage in tracing programs: Linux 5.12)")
        }
        chose("BTF: \(KernelBTF.source)")
        let buffer = EventBuffer.preferred
        try open.useEventBuffer(buffer, bytes: options.bufferBytes)
        EventBuffer.perfBytes = Int(options.bufferBytes)
        chose(buffer.reason)
        // Unused without container flags, and preallocated: keep it small.
        if gate == nil { try open.setMaxEntries(64, for: .cgroupVerdicts) }
        try open.object.disableProgramsForMissingTracepoints()
    }

    private func finish<Open: OpenTraceProbe & ~Copyable>(_ open: consuming Open) throws(BPFError) -> Open.Loaded {
        let probe = try open.load()
        try options.applyCgroup(to: probe.maps.cgroupFilter)
        try gate?.share(with: probe.maps.cgroupVerdicts)
        return probe
    }

    /// Attaches `probe` (every program by its `SEC()`, unless `attach` says
    /// otherwise), prints the events of its `events` ring buffer with
    /// `format` until stopped, then detaches and reports, counting what the
    /// probe's `lost_events` counter says the kernel dropped.
    @discardableResult
    @inlinable
    public func stream<Probe: TraceProbe, Format: EventFormat>(
        _ probe: Probe, format: Format, what: String,
        attach: ((Probe) throws(BPFError) -> [Link])? = nil
    ) throws(BPFError) -> TraceSummary {
        let output = self.output, clockOffset = self.clockOffset, start = startNanoseconds, gate = self.gate
        let format = workloads.map { format.attributing(with: $0) } ?? format
        return try run(events: probe.maps.events, lostCounter: probe.maps.lostEvents,
                       what: what, header: format.header,
                       attach: { () throws(BPFError) -> [Link] in
                           if let attach { return try attach(probe) }
                           return try probe.object.attachAll()
                       }) { bytes in
            guard let event = Format.Event(bytes) else { return }
            // A cgroup the container filter had not decided when the event was made.
            if let gate, !gate.admits(cgroup: event.cgroupID) { return }
            format.write(event, to: output, clockOffset: clockOffset, start: start)
        }
    }

    /// For tools that aggregate in the kernel (syscount): attaches, calls
    /// `report` every `interval` seconds (if given) and once at the end,
    /// on the session's queue, then detaches.
    public func runPeriodic(what: String, interval: Double?, attach: () throws(BPFError) -> [Link],
                            report: @escaping @Sendable (_ final: Bool) -> Void) throws(BPFError) {
        signal(SIGPIPE, SIG_IGN)
        var links = try attach()
        note("Tracing \(what)... Hit Ctrl-C to end.")
        var timers: [StopWaiter.Timer] = []
        if let interval {
            timers.append(.init(queue: queue, interval: interval) { [output] in
                report(false)
                output.flush()
                if output.isBroken { StopWaiter.requestStop() }
            })
        }
        // Counting happens in the kernel, which counts decided cgroups only:
        // decide new ones promptly.
        if let gate { timers.append(.init(queue: queue, interval: 0.25) { gate.decideNewCgroups() }) }
        waitForStop(timers: timers)
        links.forEach { $0.detach() }
        links.removeAll()
        queue.sync {
            report(true)
            output.flush()
        }
    }

    /// Attaches, streams events to `handler` until stopped, then detaches
    /// and reports. `header` goes to standard output once attached (not in
    /// JSON mode); `what` names the traced thing in the status line.
    public func run(events: Map, lostCounter: Map?, what: String, header: String?,
                    attach: () throws(BPFError) -> [Link],
                    handler: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) throws(BPFError) -> TraceSummary {
        signal(SIGPIPE, SIG_IGN)
        // Into a pipe or file, lines go out once per batch the ring buffer
        // delivers: whole batches under load, at once for a lone event.
        let flush: @Sendable () -> Void = { [output] in
            output.flush()
            if output.isBroken { StopWaiter.requestStop() }
        }
        // The reader comes first, its queue held until the header is out:
        // a perf buffer (EventBuffer.perf) keeps nothing sent before its
        // reader opened it, so the reader must exist before the programs
        // attach; events wait in the kernel's buffer meanwhile.
        queue.suspend()
        // The header goes out before the first event: first in the queue,
        // whatever was running on it when it was held.
        queue.async { [self] in
            if let header, !options.json {
                output.append(header)
                output.endLine()
            }
            output.flush()
        }
        let ringBuffer: RingBuffer
        var links: [Link]
        do {
            ringBuffer = try RingBuffer(events, lostCounter: lostCounter, queue: queue, afterBatch: flush) { [self] record in
                switch record {
                case .event(let bytes):
                    handler(bytes)
                    if output.isBroken { StopWaiter.requestStop() }
                case .lost(let n):
                    note("\(tool): lost \(n) events: the \(events.type == .perfEventArray ? "perf" : "ring") buffer was full (a larger --buffer-size helps)")
                }
            }
        } catch {
            queue.resume()
            throw error
        }
        do {
            links = try attach()
        } catch {
            queue.resume()
            ringBuffer.stop()
            throw error
        }
        let started = DispatchTime.now()
        note("Tracing \(what)... Hit Ctrl-C to end.")
        queue.resume()
        waitForStop()

        // Detach first so nothing new arrives, then take what is queued.
        links.forEach { $0.detach() }
        links.removeAll()
        ringBuffer.stop()
        queue.sync { output.flush() }
        let summary = TraceSummary(events: ringBuffer.deliveredEvents, lost: ringBuffer.lostEvents,
                                   seconds: Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
        note(String(format: "\n%@: %llu events, %llu lost, %.1f s", tool, summary.events, summary.lost, summary.seconds))
        return summary
    }
}

/// Waiting for the user to say stop: SIGINT, SIGTERM or a duration.
public enum StopWaiter {
    public struct Timer {
        public var queue: DispatchQueue
        public var interval: Double
        public var handler: @Sendable () -> Void

        public init(queue: DispatchQueue, interval: Double, handler: @escaping @Sendable () -> Void) {
            self.queue = queue
            self.interval = interval
            self.handler = handler
        }
    }

    private static let stopRequested = DispatchSemaphore(value: 0)

    /// SIGINT and SIGTERM, taken through Dispatch (so they work even when
    /// inherited blocked) from the first use on.
    nonisolated(unsafe) private static let signalSources: [DispatchSourceSignal] = [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "swift-bpf.signals"))
        source.setEventHandler { stopRequested.signal() }
        source.resume()
        return source
    }

    /// Takes SIGINT and SIGTERM from now on. Call it before attaching: a
    /// signal that arrives between attaching and `wait` then stops the
    /// wait instead of being lost (or killing the process mid-set-up).
    public static func takeSignals() { _ = signalSources }

    /// Ends the current (or next) `wait`, as a signal would.
    public static func requestStop() { stopRequested.signal() }

    /// Blocks until Ctrl-C, SIGTERM, `duration` seconds, `requestStop()`,
    /// or the reader of standard output or error going away (`| head -1`,
    /// noticed at once, not at the next write); runs `timers` meanwhile.
    public static func wait(duration: Double?, timers: [Timer] = []) {
        takeSignals()
        StandardStreams.whenClosed { stopRequested.signal() }
        let control = DispatchQueue(label: "swift-bpf.control")
        var sources: [DispatchSourceProtocol] = []
        if let duration {
            let t = DispatchSource.makeTimerSource(queue: control)
            t.schedule(deadline: .now() + duration)
            t.setEventHandler { stopRequested.signal() }
            t.resume()
            sources.append(t)
        }
        for timer in timers {
            let t = DispatchSource.makeTimerSource(queue: timer.queue)
            t.schedule(deadline: .now() + timer.interval, repeating: timer.interval)
            t.setEventHandler(handler: timer.handler)
            t.resume()
            sources.append(t)
        }
        stopRequested.wait()
        sources.forEach { $0.cancel() }
    }
}

/// How a tool prints its events: text columns under a header, or JSON lines.
public protocol EventFormat: Sendable {
    associatedtype Event: TaskEvent
    /// The column heading, printed once before the first event; nil for JSON.
    var header: String? { get }
    /// Appends one event as a line. `clockOffset` turns the probe's
    /// CLOCK_MONOTONIC timestamps into wall-clock time; `start` is when
    /// tracing started, for `-T`.
    func write(_ event: Event, to out: Output, clockOffset: Int64, start: UInt64)
    /// The same format with container and pod fields from `workloads`
    /// (the JSON fields, and with `-C` the columns); by default unchanged.
    func attributing(with workloads: ContainerDirectory) -> Self
}

extension EventFormat {
    public func attributing(with workloads: ContainerDirectory) -> Self { self }
}

extension TraceSession {
    /// The whole run of a tool that prints its probe's events: the session
    /// (with the shared flags the tool refuses), the probe `open` returns,
    /// configured by the tool, loaded with the shared filters, then its
    /// events in `fields`' columns or JSON until stopped. `attach` says
    /// where, for programs their `SEC()` does not place.
    public static func trace<Open: OpenTraceProbe & ~Copyable, Event: TaskEvent>(
        _ tool: String, options: TraceOptions, flags: SharedFlags = .all, what: String, fields: [Field<Event>],
        attach: ((Open.Loaded) throws(BPFError) -> [Link])? = nil, open: () throws -> Open
    ) throws where Open.Filter == trace_filter {
        let session = try TraceSession(tool: tool, options: options, flags: flags)
        let probe = try session.load(try open())
        try session.stream(probe, format: EventTable(fields, options: options), what: what, attach: attach)
    }
}
