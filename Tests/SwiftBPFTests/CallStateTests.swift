// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import Synchronization
import SwiftBPF
import TestProbeEvents
import TestSupport
import Testing

/// DECLARE_CALL_STATE (swiftbpf.bpf.h) both ways: task storage, and the
/// hash kernels before 5.12 get. The probe is mkdirtrace's as other
/// architectures build it (syscall tracepoints, arguments carried from
/// enter to exit), so this also covers that build of pathcall.bpf.h.
extension Privileged {
    @Suite struct CallState {
        init() throws { _ = try Privileged() }

        /// Four calls from this thread, then the same four again (a slot
        /// left in use, or not cleared, would show in the second round).
        func mkdirsThroughCallState(inHash: Bool) throws -> [MkdirRecord] {
            let dir = try TestEnvironment.temporaryDirectory()
            var open = try PathcallTracepointsSkeleton.open()
            var filter = trace_filter()
            filter.uid = UInt32.max
            filter.tid = TestEnvironment.currentThreadID()
            open.filter = filter
            if inHash {
                // What TraceSession.load does on a kernel without task storage.
                open.callStateInHash = 1
                try open.setAutocreate(false, for: .callState)
            } else {
                try open.setAutocreate(false, for: .callStateHash)
            }
            let probe = try open.load()
            let records = MkdirRecords()
            let rb = try records.ringBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents)
            let links = try probe.attachAll()
            #expect(links.count == 4)
            for _ in 0..<2 {
                #expect(mkdir("\(dir)/a", 0o750) == 0)
                #expect(mkdir("\(dir)/a", 0o700) == -1)
                #expect(mkdirat(AT_FDCWD, "\(dir)/missing/b", 0o755) == -1)
                #expect(rmdir("\(dir)/a") == 0)
            }
            links.forEach { $0.detach() }
            rb.stop()
            #expect(rb.lostEvents == 0)
            return records.list.withLock { $0 }
        }

        func expectExactRecords(_ got: [MkdirRecord]) throws {
            let dir = try #require(got.first.map { ($0.path as NSString).deletingLastPathComponent })
            let me = UInt32(getpid())
            let expected: [(String, UInt32, String, Int32)] = [
                ("mkdir", 0o750, "\(dir)/a", 0), ("mkdir", 0o700, "\(dir)/a", -EEXIST),
                ("mkdirat", 0o755, "\(dir)/missing/b", -ENOENT),
            ]
            #expect(got.count == 6)
            for (i, r) in got.enumerated() {
                let (syscall, mode, path, result) = expected[i % 3]
                #expect(r.pid == me && r.syscall == syscall && r.mode == mode && r.path == path && r.result == result)
                #expect(r.dfd == -100)
            }
        }

        @Test func taskStorageCarriesArgumentsFromEnterToExit() throws {
            // Before Linux 5.12 (the lane's 5.10) only the hash is there:
            // KernelBreadth checks that the library knows which kernel that is.
            guard Kernel.versionAtLeast(5, 12) else { return #expect(!Kernel.supports(.taskStorage)) }
            #expect(Kernel.supports(.taskStorage), "Linux 5.12+ has task storage for tracepoints")
            try expectExactRecords(try mkdirsThroughCallState(inHash: false))
        }

        @Test func theHashFallbackCarriesThemToo() throws {
            try expectExactRecords(try mkdirsThroughCallState(inHash: true))
        }
    }
}
