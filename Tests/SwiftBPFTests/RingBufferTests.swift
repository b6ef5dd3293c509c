// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import Synchronization
import TestSupport
import Testing

/// A decoded copy of a mkdir event, for assertions after the handler ran.
struct MkdirRecord: Sendable, Equatable {
    var pid: UInt32, ppid: UInt32, uid: UInt32, comm: String, syscall: String
    var mode: UInt32, path: String, result: Int32, dfd: Int32
}

extension MkdirRecord {
    init(_ e: PathEvent) {
        pid = e.pid; ppid = e.ppid; uid = e.uid
        comm = String(decoding: e.comm, as: UTF8.self)
        syscall = e.syscall == MKDIR_SYSCALL_MKDIRAT.rawValue ? "mkdirat" : "mkdir"; mode = e.mode
        path = String(decoding: e.path, as: UTF8.self)
        result = e.result; dfd = e.directoryFD
    }
}

/// mkdir records decoded from a ring buffer, for assertions after the fact.
final class MkdirRecords: Sendable {
    let list = Mutex<[MkdirRecord]>([])

    /// Delivers `events` into `list`, on a queue of its own.
    func ringBuffer(_ events: Map, lostCounter: Map) throws -> RingBuffer {
        try RingBuffer(events, lostCounter: lostCounter, queue: DispatchQueue(label: "test.mkdir-records")) { [self] record in
            if case .event(let bytes) = record, let e = PathEvent(bytes) {
                let r = MkdirRecord(e)
                self.list.withLock { $0.append(r) }
            }
        }
    }
}

/// Loads mkdirtrace's probe with a filter and ring buffer size.
func loadMkdirProbe(pid: UInt32 = 0, tid: UInt32 = 0, bufferBytes: UInt32? = nil) throws -> MkdirtraceSkeleton {
    var open = try MkdirtraceSkeleton.open()
    open.filter.pid = pid  // the README's idiom: mutate config in place before load
    open.filter.tid = tid
    if let bufferBytes { try open.setMaxEntries(bufferBytes, for: .events) }
    try open.chooseSyscallPrograms()
    return try open.load()
}

extension Privileged {
    @Suite struct RingBuffers {
        init() throws { _ = try Privileged() }

        @Test func childMkdirsArriveOnTheQueueWithExactFields() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let probe = try loadMkdirProbe(pid: UInt32(helper.pid))
            let records = MkdirRecords()
            let rb = try records.ringBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents)
            let links = try probe.attachAll()
            #expect(links.count == 1, "one tp_btf/sys_exit program on x86-64")

            #expect(helper.run("mkdir \(dir)/new 750") == "ok 0")
            #expect(helper.run("mkdir \(dir)/new 700") == "err \(EEXIST)")
            #expect(helper.run("mkdir \(dir)/missing/child 755") == "err \(ENOENT)")
            #expect(helper.run("mkdirat \(dir) relative 711") == "ok 0")

            // Delivery is asynchronous: wait for the queue to see all four.
            let deadline = Date().addingTimeInterval(5)
            while records.list.withLock({ $0.count }) < 4 && Date() < deadline { usleep(10_000) }
            rb.stop()

            let got = records.list.withLock { $0 }
            let me = UInt32(getpid()), child = UInt32(helper.pid)
            let comm = "swiftbpf-testhe"  // the kernel keeps 15 bytes
            #expect(got.count == 4)
            guard got.count == 4 else { return }
            #expect(got[0] == MkdirRecord(pid: child, ppid: me, uid: 0, comm: comm, syscall: "mkdir", mode: 0o750, path: "\(dir)/new", result: 0, dfd: -100))
            #expect(got[1] == MkdirRecord(pid: child, ppid: me, uid: 0, comm: comm, syscall: "mkdir", mode: 0o700, path: "\(dir)/new", result: -EEXIST, dfd: -100))
            #expect(got[2] == MkdirRecord(pid: child, ppid: me, uid: 0, comm: comm, syscall: "mkdir", mode: 0o755, path: "\(dir)/missing/child", result: -ENOENT, dfd: -100))
            #expect(got[3].syscall == "mkdirat" && got[3].path == "relative" && got[3].mode == 0o711 && got[3].result == 0 && got[3].dfd >= 0)
            #expect(rb.deliveredEvents == 4)
            #expect(rb.lostEvents == 0)
        }

        /// stop() from inside the handler: the current record is the last
        /// one, each record is delivered once, and stop() returns (it used
        /// to consume again before libbpf had committed the record, so the
        /// record came twice and stop() recursed).
        @Test func stopFromTheHandlerDeliversEachRecordOnce() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let probe = try loadMkdirProbe(tid: TestEnvironment.currentThreadID())
            let links = try probe.attachAll()
            for i in 0..<10 { #expect(mkdir("\(dir)/d\(i)", 0o755) == 0) }
            links.forEach { $0.detach() }
            let seen = Mutex<[String]>([])
            let ring = Mutex<RingBuffer?>(nil)
            let queue = DispatchQueue(label: "test.stop-in-handler")
            queue.suspend()  // no delivery before `ring` is set
            let rb = try RingBuffer(probe.maps.events, queue: queue) { record in
                guard case .event(let bytes) = record, let e = PathEvent(bytes) else { return }
                let count = seen.withLock { $0.append(String(decoding: e.path, as: UTF8.self)); return $0.count }
                if count == 3 { ring.withLock { $0 }?.stop() }
            }
            ring.withLock { $0 = rb }
            queue.resume()
            let deadline = Date().addingTimeInterval(5)
            while seen.withLock({ $0.count }) < 3 && Date() < deadline { usleep(10_000) }
            queue.sync {}
            #expect(seen.withLock { $0 } == (0..<3).map { "\(dir)/d\($0)" })
            #expect(rb.deliveredEvents == 3)
            rb.stop()  // again, from outside: nothing more
            #expect(rb.deliveredEvents == 3)
        }

        /// A one-page ring buffer and a burst before anyone reads: the kernel
        /// counts what it could not store, and delivered + lost is the burst.
        @Test func tinyRingBufferReportsExactlyWhatWasLost() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let probe = try loadMkdirProbe(tid: TestEnvironment.currentThreadID(), bufferBytes: 4096)
            let links = try probe.attachAll()
            let burst = 2000
            for _ in 0..<burst { mkdir(dir, 0o755) }  // EEXIST each time
            links.forEach { $0.detach() }

            let delivered = Atomic<Int>(0), lostSeen = Atomic<UInt64>(0)
            let rb = try RingBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents, queue: DispatchQueue(label: "test.lost")) { record in
                switch record {
                case .event: delivered.add(1, ordering: .relaxed)
                case .lost(let n): lostSeen.add(n, ordering: .relaxed)
                }
            }
            rb.drain()
            let lost = rb.lostEvents
            #expect(lost > 0)
            #expect(delivered.load(ordering: .relaxed) > 0)
            #expect(UInt64(delivered.load(ordering: .relaxed)) + lost == UInt64(burst))
            #expect(lostSeen.load(ordering: .relaxed) == lost)
            #expect(rb.deliveredEvents == UInt64(delivered.load(ordering: .relaxed)))
        }

        /// A storm while the consumer runs: most records come without a
        /// wakeup (at most 40 a second per CPU), and the safety poll reads the
        /// rest, the storm's tail included; nothing may be lost or stranded.
        @Test func sustainedStormWithLiveConsumerLosesNothing() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let probe = try loadMkdirProbe(tid: TestEnvironment.currentThreadID())
            let delivered = Atomic<Int>(0)
            let rb = try RingBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents, queue: DispatchQueue(label: "test.storm")) { record in
                if case .event = record { delivered.add(1, ordering: .relaxed) }
            }
            let links = try probe.attachAll()
            let storm = 100_000
            for _ in 0..<storm { mkdir(dir, 0o755) }
            links.forEach { $0.detach() }
            // Everything arrives without an explicit drain, within a second.
            let deadline = Date().addingTimeInterval(2)
            while delivered.load(ordering: .relaxed) < storm && Date() < deadline { usleep(5_000) }
            #expect(delivered.load(ordering: .relaxed) == storm)
            #expect(rb.lostEvents == 0)
            rb.stop()
            #expect(rb.deliveredEvents == UInt64(storm))
        }

        @Test func asyncSequenceDeliversEventsAndLostCounts() async throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let burst = 500
            // Async tasks may hop threads, so the burst comes from a helper
            // and the filter is its PID.
            let helper = try Helper()
            let filtered = try loadMkdirProbe(pid: UInt32(helper.pid), bufferBytes: 4096)
            let links = try filtered.attachAll()
            for _ in 0..<burst { helper.run("mkdir \(dir) 755") }
            links.forEach { $0.detach() }

            let stream = try RingBuffer.events(filtered.maps.events, lostCounter: filtered.maps.lostEvents)
            var events = 0
            var lost: UInt64 = 0
            var firstPath: String?
            for await element in stream {
                switch element {
                case .event(let bytes):
                    events += 1
                    if firstPath == nil {
                        firstPath = bytes.withUnsafeBytes { PathEvent($0).map { String(decoding: $0.path, as: UTF8.self) } }
                    }
                case .lost(let n):
                    lost += n
                }
                if UInt64(events) + lost == UInt64(burst) { break }
            }
            #expect(firstPath == dir)
            #expect(lost > 0)
            #expect(UInt64(events) + lost == UInt64(burst))
        }

        @Test func cancellingTheConsumingTaskEndsTheSequence() async throws {
            let probe = try loadMkdirProbe(pid: 1)
            let stream = try RingBuffer.events(probe.maps.events, lostCounter: probe.maps.lostEvents)
            let task = Task {
                var n = 0
                for await _ in stream { n += 1 }
                return n
            }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            #expect(await task.value == 0)
        }
    }
}
