// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Dispatch
import Foundation
import Synchronization
import SystemPackage

/// What a ring buffer hands its handler: an event's bytes, valid only for
/// the duration of the call (zero-copy), or a count of events the kernel
/// could not store because the buffer was full.
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

/// Delivers the records of a BPF ring buffer map (Linux 5.8+) to a handler
/// on a dispatch queue. The queue is woken through the ring buffer's epoll descriptor, so
/// an idle tracer uses no CPU.
///
/// Lost events: a ring buffer tells only the BPF program that a reserve
/// failed. Probes count those failures in a per-CPU array (`lostCounter`,
/// one `UInt64` at key 0); the ring buffer reads it after delivering events
/// (at most every 100 ms) and when drained, and hands the increase to the
/// handler as `.lost(n)`.
public final class RingBuffer: @unchecked Sendable {
    private final class Context {
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

    private let pointer: OpaquePointer
    private let context: Context
    private let contextRef: Unmanaged<Context>
    private let queue: DispatchQueue
    private let source: DispatchSourceRead
    private let lostCounter: PerCPUMap<UInt32, UInt64>?
    /// Keeps the maps' object (and so their descriptors) alive.
    private let map: Map
    // Touched only on `queue`.
    private var reportedLost: UInt64 = 0
    private var lastLostCheck = DispatchTime(uptimeNanoseconds: 0)
    private var lastWakeup: UInt64 = 0
    private var pausedForBatching = false
    private var stopped = false
    private let queueKey = DispatchSpecificKey<ObjectIdentifier>()

    /// Starts delivering `map`'s records to `handler` on `queue`.
    ///
    /// - Parameters:
    ///   - map: a `BPF_MAP_TYPE_RINGBUF` map.
    ///   - lostCounter: the probe's per-CPU lost-event counter, if it has one.
    ///   - handler: called on `queue`; an `.event`'s bytes must not escape it.
    public init(_ map: Map, lostCounter: Map? = nil, queue: DispatchQueue,
                handler: @escaping @Sendable (RingBufferRecord) -> Void) throws(BPFError) {
        guard map.type == .ringBuffer else {
            throw BPFError(.wrongMapType, "map '\(map.name)' is \(map.type), not a ring buffer")
        }
        self.map = map
        self.queue = queue
        self.lostCounter = try lostCounter.map { (m) throws(BPFError) in try m.perCPU(UInt32.self, UInt64.self) }
        context = Context(handler: handler)
        contextRef = Unmanaged.passRetained(context)
        guard let rb = ring_buffer__new(map.fileDescriptor.rawValue, ringBufferCallback, contextRef.toOpaque(), nil) else {
            let e = errno  // before release() can change it
            contextRef.release()
            throw BPFError.system("cannot open ring buffer '\(map.name)'", e)
        }
        pointer = rb
        // Dispatch watches its own duplicate of the epoll descriptor and
        // closes it once it has stopped watching: the ring buffer's may
        // then close whenever it is freed without its number being reused
        // under Dispatch's feet.
        let watched = dup(ring_buffer__epoll_fd(rb))
        guard watched >= 0 else {
            let e = errno
            ring_buffer__free(rb)
            contextRef.release()
            throw BPFError.system("cannot watch ring buffer '\(map.name)' (dup of its epoll descriptor)", e)
        }
        source = DispatchSource.makeReadSource(fileDescriptor: watched, queue: queue)
        queue.setSpecific(key: queueKey, value: ObjectIdentifier(self))
        source.setEventHandler { [weak self] in self?.poll() }
        source.setCancelHandler { close(watched) }
        source.resume()
    }

    deinit {
        // A suspended source must be resumed before it goes away.
        if pausedForBatching { source.resume() }
        source.cancel()
        ring_buffer__free(pointer)
        contextRef.release()
    }

    /// Wakeups closer together than this, each bringing fewer than
    /// `smallBatch` records, mean the consumer pays a wakeup per record.
    static let busyInterval: UInt64 = 2_000_000
    static let smallBatch: Int32 = 256
    /// How long to let records gather in the kernel buffer then. The kernel
    /// sends no wakeups while the consumer lags, so one wakeup then serves
    /// a batch; the pause adds at most this much latency, only under load.
    static let batchingPause = DispatchTimeInterval.microseconds(500)

    private func poll() {
        guard !stopped, !pausedForBatching else { return }
        // poll (not consume) so epoll re-arms; timeout 0: data is there.
        let count = ring_buffer__poll(pointer, 0)
        // -ECANCELED is a stop from the handler; EINTR a signal: neither is
        // a failure. Anything else would repeat on every wakeup.
        if count < 0 && count != -ECANCELED && count != -EINTR {
            FileHandle.standardError.write(Data("swift-bpf: reading ring buffer '\(map.name)' failed: \(Errno(rawValue: -count)); stopping it\n".utf8))
            shutDown()
            return
        }
        let now = DispatchTime.now()
        if lostCounter != nil, now.uptimeNanoseconds - lastLostCheck.uptimeNanoseconds > 100_000_000 {
            lastLostCheck = now
            reportLost()
        }
        let busy = now.uptimeNanoseconds &- lastWakeup < Self.busyInterval
        lastWakeup = now.uptimeNanoseconds
        if count > 0 && count < Self.smallBatch && busy {
            pausedForBatching = true
            source.suspend()
            queue.asyncAfter(deadline: .now() + Self.batchingPause) { [weak self] in self?.resumeAfterPause() }
        }
    }

    private func resumeAfterPause() {
        guard pausedForBatching else { return }
        pausedForBatching = false
        source.resume()
    }

    private func reportLost() {
        guard let total = try? lostCounter?.sum(0), total > reportedLost else { return }
        let delta = total - reportedLost
        reportedLost = total
        context.handler(.lost(delta))
    }

    private func onQueue<T>(_ body: () -> T) -> T {
        DispatchQueue.getSpecific(key: queueKey) == ObjectIdentifier(self) ? body() : queue.sync(execute: body)
    }

    /// On the queue: everything already in the buffer, then any lost
    /// count. From inside the handler, the poll in progress goes on
    /// consuming by itself.
    private func consumeAll() {
        guard !context.delivering else { return }
        _ = ring_buffer__consume(pointer)
        reportLost()
    }

    /// On the queue: no deliveries from now on.
    private func shutDown() {
        stopped = true
        context.stopRequested = true
        resumeAfterPause()
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
    public var deliveredEvents: UInt64 { onQueue { context.delivered } }

    /// Events the kernel dropped so far because the buffer was full, as
    /// counted by the probe (0 without a lost counter).
    public var lostEvents: UInt64 { (try? lostCounter?.sum(0)) ?? 0 }

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
        let context = Unmanaged<Context>.fromOpaque(ctx).takeUnretainedValue()
        guard !context.stopRequested else { return -ECANCELED }
        context.delivered += 1
        context.delivering = true
        context.handler(.event(UnsafeRawBufferPointer(start: data, count: size)))
        context.delivering = false
        return context.stopRequested ? -ECANCELED : 0
    }
}

private func ringBufferCallback(_ ctx: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let ctx, let data else { return 0 }
    return RingBuffer.deliver(ctx, data, size)
}
