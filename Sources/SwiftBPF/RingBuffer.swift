// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Dispatch
import Foundation
import Synchronization
import SystemPackage

/// What a ring buffer hands its handler: an event's bytes, valid only for
/// the duration of the call (zero-copy), or a count of events the kernel
/// could not store because the buffer was full. From a perf buffer
/// (`EventBuffer.perf`) the bytes are the record padded to 8 bytes, so up
/// to 7 more than the probe sent.
public enum RingBufferRecord {
    case event(UnsafeRawBufferPointer)
    case lost(UInt64)
}

/// An element of `RingBuffer.events(...)`: an event's bytes, copied, or a
/// count of events lost since the previous `.lost` element.
public enum RingBufferEvent: Sendable, Equatable {
    case event([UInt8])
    case lost(UInt64)
}

/// Delivers the records of a BPF ring buffer map (Linux 5.8+), or of the
/// perf event array that stands in for one (`EventBuffer.perf`), to a
/// handler on a dispatch queue. The queue is woken through the ring buffer's epoll
/// descriptor, so an idle tracer uses no CPU.
///
/// Wakeups: probes built on `swiftbpf.bpf.h` send a record with a wakeup
/// only when its CPU has not sent one for 1/40 s (in clock ticks, at least
/// one), so a storm costs the traced program, and a steady stream the
/// consumer, 40 wakeups a second per CPU instead of one per event. The
/// records in between are read by a safety poll: from the first record
/// delivered until `safetyPoll` passes with nothing new, the buffer is also
/// read every `safetyPoll`. A record sent without a wakeup follows, within
/// the interval, one sent with one, whose delivery keeps the poll running
/// past it; so no record waits longer than `safetyPoll`, and a lone record
/// wakes the consumer at once. Only wakeups wake the consumer (the ring is
/// watched edge-triggered), so under a steady stream it reads a batch per
/// wakeup instead of a few records per wakeup of its queue. Probes that let
/// the kernel decide (flags 0) work too: the kernel wakes the consumer when
/// a record finds it caught up, and the safety poll catches it up.
///
/// Lost events: a ring buffer tells only the BPF program that a reserve
/// failed. Probes count those failures in a per-CPU array (`lostCounter`,
/// one `UInt64` at key 0); the ring buffer reads it after delivering events
/// (at most every 100 ms) and when drained, and hands the increase to the
/// handler as `.lost(n)`.
public final class RingBuffer: @unchecked Sendable {
    /// The callback's state, behind a pointer rather than in a class: a
    /// class's stored `var`s are checked for exclusive access at run time,
    /// several calls per record.
    private struct Context {
        let handler: (RingBufferRecord) -> Void
        var delivered: UInt64 = 0
        /// Inside the handler: libbpf has not yet committed the record, so
        /// consuming again now would deliver it a second time.
        var delivering = false
        /// Set by `stop()`: the callback then makes libbpf stop after
        /// committing the current record.
        var stopRequested = false
        init(handler: @escaping (RingBufferRecord) -> Void) { self.handler = handler }
    }

    /// libbpf's reader of the map: a ring buffer's, or a perf buffer's.
    private enum Reader {
        case ring(OpaquePointer)
        case perf(OpaquePointer)

        var epollDescriptor: Int32 {
            switch self {
            case .ring(let p): ring_buffer__epoll_fd(p)
            case .perf(let p): perf_buffer__epoll_fd(p)
            }
        }

        func poll() -> Int32 {
            switch self {
            case .ring(let p): ring_buffer__poll(p, 0)
            // Every CPU's buffer, not only those epoll reports: a perf
            // event's readiness is cleared by whoever polls it first, and
            // Dispatch's own epoll, which watches libbpf's, gets there
            // before libbpf's epoll_wait does.
            case .perf(let p): perf_buffer__consume(p)
            }
        }

        func consume() -> Int32 {
            switch self {
            case .ring(let p): ring_buffer__consume(p)
            case .perf(let p): perf_buffer__consume(p)
            }
        }

        func free() {
            switch self {
            case .ring(let p): ring_buffer__free(p)
            case .perf(let p): perf_buffer__free(p)
            }
        }
    }

    private let reader: Reader
    private let context: UnsafeMutablePointer<Context>
    private let queue: DispatchQueue
    private let source: DispatchSourceRead
    private let lostCounter: PerCPUMap<UInt32, UInt64>?
    private let afterBatch: (@Sendable () -> Void)?
    /// Keeps the maps' object (and so their descriptors) alive.
    private let map: Map
    // Touched only on `queue`.
    private var reportedLost: UInt64 = 0
    private var lastLostCheck = DispatchTime(uptimeNanoseconds: 0)
    private let safetyTimer: DispatchSourceTimer
    private var safetyPolling = false
    private var lastRecordTime: UInt64 = 0
    private var stopped = false
    private let queueKey = DispatchSpecificKey<ObjectIdentifier>()

    /// Starts delivering `map`'s records to `handler` on `queue`.
    ///
    /// - Parameters:
    ///   - map: a `BPF_MAP_TYPE_RINGBUF` map, or the
    ///     `BPF_MAP_TYPE_PERF_EVENT_ARRAY` that stands in for one
    ///     (`EventBuffer.perf`; its buffers are mapped here, each CPU's
    ///     share of `EventBuffer.perfBytes`).
    ///   - lostCounter: the probe's per-CPU lost-event counter, if it has one.
    ///   - afterBatch: called on `queue` after each batch of records (those
    ///     one wakeup or safety poll found): where a consumer that buffers
    ///     output flushes it.
    ///   - handler: called on `queue`; an `.event`'s bytes must not escape it.
    public init(_ map: Map, lostCounter: Map? = nil, queue: DispatchQueue,
                afterBatch: (@Sendable () -> Void)? = nil,
                handler: @escaping @Sendable (RingBufferRecord) -> Void) throws(BPFError) {
        guard map.type == .ringBuffer || map.type == .perfEventArray else {
            throw BPFError(.wrongMapType, "map '\(map.name)' is \(map.type), not a ring buffer or a perf event array")
        }
        self.map = map
        self.queue = queue
        self.afterBatch = afterBatch
        self.lostCounter = try lostCounter.map { (m) throws(BPFError) in try m.perCPU(UInt32.self, UInt64.self) }
        context = .allocate(capacity: 1)
        context.initialize(to: Context(handler: handler))
        let reader: Reader
        if map.type == .perfEventArray {
            guard let pb = perf_buffer__new(map.fileDescriptor.rawValue, perfBufferPages, perfBufferSample, nil, context, nil) else {
                let e = errno
                context.deinitialize(count: 1)
                context.deallocate()
                throw BPFError.system("cannot open perf buffer '\(map.name)'", e)
            }
            // Level-triggered, as libbpf registers each CPU's buffer: a perf
            // buffer wakes its reader for every record it is given. Its
            // lost records are not read: the probe counts what it could not
            // send, as with a ring buffer (swiftbpf.bpf.h).
            reader = .perf(pb)
        } else {
            guard let rb = ring_buffer__new(map.fileDescriptor.rawValue, ringBufferCallback, context, nil) else {
                let e = errno  // before the clean-up can change it
                context.deinitialize(count: 1)
                context.deallocate()
                throw BPFError.system("cannot open ring buffer '\(map.name)'", e)
            }
            reader = .ring(rb)
            // Edge-triggered: report the ring only when the kernel sends a
            // wakeup. libbpf registers it level-triggered, which reports it
            // whenever a record is waiting; under a steady stream the queue then
            // wakes for every few records, two system calls each, and reads the
            // cache lines the producer is writing. With the edge, a wakeup
            // brings a batch, and the safety poll reads records sent
            // without one. (Same registration otherwise: libbpf keeps the ring's
            // index, 0 for its only ring, in the event's data.)
            var edge = epoll_event()
            edge.events = EPOLLIN.rawValue | EPOLLET.rawValue
            edge.data.fd = 0
            guard epoll_ctl(ring_buffer__epoll_fd(rb), EPOLL_CTL_MOD, map.fileDescriptor.rawValue, &edge) == 0 else {
                let e = errno
                ring_buffer__free(rb)
                context.deinitialize(count: 1)
                context.deallocate()
                throw BPFError.system("cannot watch ring buffer '\(map.name)' (epoll_ctl)", e)
            }
        }
        self.reader = reader
        // Dispatch watches its own duplicate of the epoll descriptor and
        // closes it once it has stopped watching: the ring buffer's may
        // then close whenever it is freed without its number being reused
        // under Dispatch's feet.
        let watched = dup(reader.epollDescriptor)
        guard watched >= 0 else {
            let e = errno
            reader.free()
            context.deinitialize(count: 1)
            context.deallocate()
            throw BPFError.system("cannot watch ring buffer '\(map.name)' (dup of its epoll descriptor)", e)
        }
        source = DispatchSource.makeReadSource(fileDescriptor: watched, queue: queue)
        safetyTimer = DispatchSource.makeTimerSource(queue: queue)
        queue.setSpecific(key: queueKey, value: ObjectIdentifier(self))
        source.setEventHandler { [weak self] in self?.poll() }
        source.setCancelHandler { close(watched) }
        safetyTimer.setEventHandler { [weak self] in self?.safetyPollFired() }
        safetyTimer.resume()
        source.resume()
    }

    deinit {
        safetyTimer.cancel()
        source.cancel()
        reader.free()
        context.deinitialize(count: 1)
        context.deallocate()
    }

    /// How often the buffer is read while records arrive
    /// (`SWIFTBPF_SAFETY_POLL_NS` in swiftbpf.h): the longest a record can
    /// wait. It must outlast the probes' wakeup interval plus a clock tick
    /// (25 + 10 ms at worst).
    public static let safetyPoll: UInt64 = 50_000_000

    /// A wakeup from the kernel.
    private func poll() {
        guard !stopped else { return }
        // poll (not consume) so epoll re-arms; timeout 0: data is there.
        delivered(counting { reader.poll() })
    }

    /// The safety poll: consume, since epoll has nothing to say about
    /// records sent without a wakeup.
    private func safetyPollFired() {
        guard !stopped else { return }
        delivered(counting { reader.consume() })
    }

    /// A read's result as the records it delivered (or its error): a ring
    /// buffer's poll and consume count them, a perf buffer's do not.
    private func counting(_ read: () -> Int32) -> Int32 {
        let before = context.pointee.delivered
        let result = read()
        guard case .perf = reader, result >= 0 else { return result }
        return Int32(clamping: context.pointee.delivered &- before)
    }

    private func delivered(_ count: Int32) {
        // -ECANCELED is a stop from the handler; EINTR a signal: neither is
        // a failure. Anything else would repeat on every wakeup.
        if count < 0 && count != -ECANCELED && count != -EINTR {
            StandardStreams.error("swift-bpf: reading ring buffer '\(map.name)' failed: \(Errno(rawValue: -count)); stopping it")
            shutDown()
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if count > 0 {
            lastRecordTime = now
            if !safetyPolling {
                safetyPolling = true
                let period = DispatchTimeInterval.nanoseconds(Int(Self.safetyPoll))
                safetyTimer.schedule(deadline: .now() + period, repeating: period, leeway: .milliseconds(1))
            }
        } else if safetyPolling && now &- lastRecordTime >= Self.safetyPoll {
            // Nothing for longer than a wakeup interval: any later record
            // that skips its wakeup follows one that wakes us.
            safetyPolling = false
            safetyTimer.schedule(deadline: .distantFuture, repeating: .never)
        }
        if lostCounter != nil, now &- lastLostCheck.uptimeNanoseconds > 100_000_000 {
            lastLostCheck = DispatchTime(uptimeNanoseconds: now)
            reportLost()
        }
        if count > 0 { afterBatch?() }
    }

    private func reportLost() {
        guard let total = try? lostCounter?.sum(0), total > reportedLost else { return }
        let delta = total - reportedLost
        reportedLost = total
        context.pointee.handler(.lost(delta))
    }

    private func onQueue<T>(_ body: () -> T) -> T {
        DispatchQueue.getSpecific(key: queueKey) == ObjectIdentifier(self) ? body() : queue.sync(execute: body)
    }

    /// On the queue: everything already in the buffer, then any lost
    /// count. From inside the handler, the poll in progress goes on
    /// consuming by itself.
    private func consumeAll() {
        guard !context.pointee.delivering else { return }
        _ = reader.consume()
        reportLost()
    }

    /// On the queue: no deliveries from now on.
    private func shutDown() {
        stopped = true
        context.pointee.stopRequested = true
        safetyTimer.cancel()
        source.cancel()
    }

    /// Delivers everything already in the buffer, then any lost count, on
    /// the queue, before returning.
    public func drain() {
        onQueue { consumeAll() }
    }

    /// Drains, then stops delivering. Safe to call more than once, from
    /// the handler's queue and from the handler itself, where the current
    /// record is the last one delivered.
    public func stop() {
        onQueue {
            guard !stopped else { return }
            consumeAll()
            shutDown()
        }
    }

    /// Events handed to the handler so far.
    public var deliveredEvents: UInt64 { onQueue { context.pointee.delivered } }

    /// Events the kernel dropped so far because the buffer was full, as
    /// counted by the probe (0 without a lost counter).
    public var lostEvents: UInt64 { (try? lostCounter?.sum(0)) ?? 0 }

    /// Whether the map is a perf event array (the fallback for a kernel
    /// without ring buffers, or SWIFTBPF_FORCE_PERFBUF=1).
    public var isPerfBuffer: Bool { if case .perf = reader { true } else { false } }

    /// The ring buffer's records as an async sequence. Iteration ends when
    /// the consuming task is cancelled or stops iterating; lost events come
    /// as `.lost(n)` elements in the order they were noticed.
    public static func events(_ map: Map, lostCounter: Map? = nil,
                              bufferingPolicy: AsyncStream<RingBufferEvent>.Continuation.BufferingPolicy = .unbounded)
        throws(BPFError) -> AsyncStream<RingBufferEvent> {
        let (stream, continuation) = AsyncStream<RingBufferEvent>.makeStream(bufferingPolicy: bufferingPolicy)
        let queue = DispatchQueue(label: "swift-bpf.ringbuffer.\(map.name)")
        let rb = try RingBuffer(map, lostCounter: lostCounter, queue: queue) { record in
            switch record {
            case .event(let bytes): continuation.yield(.event([UInt8](bytes)))
            case .lost(let n): continuation.yield(.lost(n))
            }
        }
        continuation.onTermination = { _ in queue.async { rb.shutDown() } }
        return stream
    }

    /// libbpf's callback: a negative result makes it commit this record and
    /// stop consuming, which is how a stop from inside the handler ends
    /// the poll in progress.
    fileprivate static func deliver(_ ctx: UnsafeMutableRawPointer, _ data: UnsafeRawPointer, _ size: Int) -> Int32 {
        let context = ctx.assumingMemoryBound(to: Context.self)
        guard !context.pointee.stopRequested else { return -ECANCELED }
        context.pointee.delivered += 1
        context.pointee.delivering = true
        context.pointee.handler(.event(UnsafeRawBufferPointer(start: data, count: size)))
        context.pointee.delivering = false
        return context.pointee.stopRequested ? -ECANCELED : 0
    }
}

/// Pages per CPU for a perf buffer: `EventBuffer.perfBytes` spread over
/// the CPUs, as a power of two (perf requires one), and never less than
/// the largest record the probes send (SWIFTBPF_PERF_RECORD_MAX) needs.
private var perfBufferPages: Int {
    let cpus = max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1)
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let record = (Int(SWIFTBPF_PERF_RECORD_MAX) + 64 + page - 1) / page  // the record and perf's header
    let wanted = max(EventBuffer.perfBytes / page / cpus, record, 1)
    let power = 1 << (Int.bitWidth - 1 - wanted.leadingZeroBitCount)
    return power < wanted ? power << 1 : power
}

private func perfBufferSample(_ ctx: UnsafeMutableRawPointer?, _ cpu: Int32, _ data: UnsafeMutableRawPointer?, _ size: UInt32) {
    guard let ctx, let data else { return }
    _ = RingBuffer.deliver(ctx, data, Int(size))
}

private func ringBufferCallback(_ ctx: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let ctx, let data else { return 0 }
    return RingBuffer.deliver(ctx, data, size)
}
