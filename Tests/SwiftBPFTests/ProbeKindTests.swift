// SPDX-License-Identifier: BSD-2-Clause
@testable import SwiftBPF
import Foundation
import Synchronization
import SystemPackage
import SwiftBPF
import TestProbeEvents
import TestSupport
import Testing
import BPFProbes

/// Loads the test probes with this process as the target.
private func loadTestProbes(syscall: Int32 = 0) throws -> TestprobesSkeleton {
    var open = try TestprobesSkeleton.open()
    open.testCfg = test_config(target_pid: UInt32(getpid()), target_syscall: UInt32(syscall))
    return try open.load()
}

private func counter(_ probe: TestprobesSkeleton, _ which: test_counter) throws -> UInt64 {
    try probe.typed.counters.sum(which.rawValue) ?? 0
}

private func callGetpriority(_ times: Int) {
    for _ in 0..<times { _ = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
}

extension Privileged {
    @Suite struct ProbeKinds {
        init() throws { _ = try Privileged() }

        @Test func uprobeAndUretprobeCountExactly() throws {
            // getpriority's real result, learnt before anything is attached.
            let expected = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            let probe = try loadTestProbes()
            let entry = try probe.programs.getpriorityEntry.attachUprobe(binary: "libc.so.6", function: "getpriority")
            let exit = try probe.programs.getpriorityReturn.attachUretprobe(binary: "libc.so.6", function: "getpriority")
            callGetpriority(1000)
            #expect(try counter(probe, COUNTER_UPROBE) == 1000)
            #expect(try counter(probe, COUNTER_URETPROBE) == 1000)
            // The uretprobe saw getpriority's real return value.
            #expect(try probe.lastReturn == Int64(expected))

            // Detached links stop counting.
            entry.detach()
            exit.detach()
            #expect(!entry.isAttached)
            callGetpriority(10)
            #expect(try counter(probe, COUNTER_UPROBE) == 1000)
        }

        @Test func rawTracepointCountsSyscalls() throws {
            let probe = try loadTestProbes(syscall: test_sys_getpriority)
            let link = try probe.programs.syscallEntry.attachRawTracepoint("sys_enter")
            callGetpriority(500)
            #expect(try counter(probe, COUNTER_RAW_TP) == 500)
            _ = link
        }

        @Test func autoAttachBySectionName() throws {
            let probe = try loadTestProbes(syscall: test_sys_getpriority)
            let link = try probe.programs.syscallEntry.attach()
            #expect(link.kind == .rawTracepoint("sys_enter"))
            callGetpriority(7)
            #expect(try counter(probe, COUNTER_RAW_TP) == 7)
        }

        @Test func kprobeAttachesOrSaysTheKernelLacksKprobes() throws {
            let probe = try loadTestProbes()
            let kernelHasKprobes = access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0
            if kernelHasKprobes {
                let link = try probe.programs.unlinkEntry.attachKprobe(function: "do_unlinkat")
                let dir = try TestEnvironment.temporaryDirectory()
                close(open(dir + "/f", O_CREAT | O_WRONLY, 0o600))
                unlink(dir + "/f")
                #expect(try counter(probe, COUNTER_KPROBE) >= 1)
                _ = link
            } else {
                let error = #expect(throws: BPFError.self) { try probe.programs.unlinkEntry.attachKprobe(function: "do_unlinkat") }
                #expect(error?.code == .featureMissing(.kprobes))
                #expect(error?.message.contains("CONFIG_KPROBES") == true)
                // The section-name path gives the same answer.
                let auto = #expect(throws: BPFError.self) { try probe.programs.unlinkEntry.attach() }
                #expect(auto?.code == .featureMissing(.kprobes))
                #expect(!Kernel.supports(.kprobes))
            }
        }

        /// fentry/fexit where the kernel attaches them (the kernel lane
        /// counts them exactly); elsewhere, as on a kernel that refuses
        /// trampolines, one error that names the feature.
        @Test func fentryAttachesOrSaysTheKernelRefusesIt() throws {
            var open = try KernellaneSkeleton.open()
            open.laneTargetPid = UInt32(getpid())
            if Kernel.supports(.fentry) {
                let probe = try open.load()
                // A plain tmpfs: on overlayfs one mkdir reaches vfs_mkdir twice.
                let dir = try TestEnvironment.temporaryDirectory(under: "/dev/shm")
                let link = try probe.programs.mkdirFentry.attach()
                #expect(mkdir(dir + "/d", 0o700) == 0)
                #expect(try probe.typed.laneCounters.lookup(LANE_FENTRY.rawValue) == 1)
                _ = link
            } else {
                // Refused at load (this machine) or at attach: either way named.
                do {
                    let probe = try open.load()
                    let error = #expect(throws: BPFError.self) { try probe.programs.mkdirFentry.attach() }
                    #expect(error?.code == .featureMissing(.fentry), "\(String(describing: error))")
                } catch {
                    #expect(error.code == .featureMissing(.fentry), "\(error)")
                    #expect(error.message.contains("fentry") && error.message.contains("mkdir_f"), "\(error)")
                }
                let required = #expect(throws: BPFError.self) { try Kernel.require(.fentry) }
                #expect(required?.code == .featureMissing(.fentry))
            }
        }

        @Test func unknownTracepointsAreNamed() throws {
            let probe = try loadTestProbes()
            let tp = #expect(throws: BPFError.self) {
                try probe.programs.syscallEntry.attachTracepoint(category: "syscalls", name: "sys_enter_no_such_call")
            }
            #expect(tp?.code == .unknownTracepoint)
            #expect(tp?.message.contains("syscalls:sys_enter_no_such_call") == true)
            let raw = #expect(throws: BPFError.self) { try probe.programs.syscallEntry.attachRawTracepoint("no_such_tracepoint") }
            #expect(raw?.code == .unknownTracepoint)
        }

        @Test func verifierRejectionCarriesTheLog() throws {
            let open = try BadprobeSkeleton.open()
            do {
                _ = try open.load()
                Issue.record("the verifier accepted a program it must reject")
            } catch {
                #expect(error.code == .verifierRejected)
                #expect(error.message.contains("unchecked_lookup"))
                #expect(error.verifierLog.contains { $0.contains("invalid mem access") })
                #expect(error.report.contains("verifier log"))
            }
        }

        /// A log longer than the first buffer still ends with the reason:
        /// kernels before 6.4 keep an overflowing log's head (ENOSPC), so
        /// the library verifies the program again with a larger buffer
        /// (the kernel lane runs this on 6.1).
        @Test func longVerifierLogsKeepTheirTail() throws {
            do {
                _ = try LonglogSkeleton.open().load()
                Issue.record("the verifier accepted a program it must reject")
            } catch {
                #expect(error.code == .verifierRejected)
                #expect(error.message.contains("long_then_unchecked"))
                #expect(error.verifierLog.contains { $0.contains("invalid mem access") }, "\(error.verifierLog)")
            }
        }

        @Test func releasedObjectsLeaveNothingLoaded() throws {
            var ids: Set<UInt32> = []
            do {
                let probe = try loadTestProbes(syscall: test_sys_getpriority)
                let link = try probe.programs.syscallEntry.attachRawTracepoint("sys_enter")
                ids = Set(probe.object.programs.compactMap(\.id))
                #expect(ids.count == 4)
                #expect(ids.isSubset(of: Kernel.loadedPrograms().map(\.id)))
                _ = link
            }
            #expect(waitUntilUnloaded(ids).isEmpty)
        }

        @Test func openFromAnObjectFileAndConfigureByName() throws {
            let path = try TestEnvironment.temporaryDirectory() + "/testprobes.bpf.o"
            let bytes = try #require(Data(base64Encoded: TestprobesSkeleton.embedded.base64))
            try bytes.write(to: URL(fileURLWithPath: path))
            var open = try OpenObject(path: FilePath(path))
            #expect(Set(open.programNames) == ["getpriority_entry", "getpriority_return", "syscall_entry", "unlink_entry"])
            try open.setAutoload(false, program: "unlink_entry")
            try open.setMaxEntries(32, map: "hash")
            #expect(throws: BPFError.self) { try open.setAutoload(false, program: "no_such_program") }
            // Globals by section and offset, for objects without a skeleton.
            try open.setGlobal(test_config(target_pid: 4242, target_syscall: 7), section: ".rodata", offset: 0)
            #expect(try open.global(test_config.self, section: ".rodata", offset: 0).target_pid == 4242)
            let loaded = try open.load()
            let frozen = try loaded.global(test_config.self, section: ".rodata", offset: 0)
            #expect(frozen.target_pid == 4242 && frozen.target_syscall == 7)
            #expect(loaded.program(named: "unlink_entry")?.isLoaded == false)
            #expect(loaded.program(named: "syscall_entry")?.isLoaded == true)
            #expect(loaded.map(named: "hash")?.maxEntries == 32)
            let missing = #expect(throws: BPFError.self) { _ = try OpenObject(path: FilePath("/nonexistent.bpf.o")) }
            #expect(missing?.code == .notFound)
        }

        /// Globals by name, as aya and cilium/ebpf set them: the object's
        /// BTF says where each lives, so no section or offset is written
        /// by hand; wrong names, sizes and offsets throw instead of trapping.
        @Test func globalsByNameAndBoundsChecked() throws {
            var open = try TestprobesSkeleton.open()
            #expect(open.object.hasGlobal("test_cfg") && open.object.hasGlobal("last_return"))
            try open.object.setGlobal("test_cfg", to: test_config(target_pid: 99, target_syscall: 3))
            #expect(open.testCfg.target_pid == 99, "the same bytes the typed property reads")
            try open.object.setGlobal("last_return", to: Int64(-7))
            #expect(try open.object.global("last_return", as: Int64.self) == -7)
            let unknown = #expect(throws: BPFError.self) { try open.object.setGlobal("no_such_global", to: UInt32(1)) }
            #expect(unknown?.code == .notFound && unknown?.message.contains("no_such_global") == true)
            let size = #expect(throws: BPFError.self) { try open.object.setGlobal("test_cfg", to: UInt8(1)) }
            #expect(size?.code == .sizeMismatch)
            for offset in [-1, -8, 1 << 20] {
                let bad = #expect(throws: BPFError.self) { try open.object.setGlobal(UInt32(1), section: ".rodata", offset: offset) }
                #expect(bad?.code == .outOfBounds, "offset \(offset)")
                #expect(throws: BPFError.self) { try open.object.setGlobalBytes([1, 2], section: ".rodata", offset: offset) }
                #expect(throws: BPFError.self) { _ = try open.object.globalBytes(section: ".rodata", offset: offset, count: 4) }
            }
            let loaded = try open.load()
            #expect(try loaded.object.global("test_cfg", as: test_config.self).target_syscall == 3)
            #expect(throws: BPFError.self) { _ = try loaded.object.globalBytes(section: ".rodata", offset: -4, count: 4) }
        }

        @Test func featureProbes() {
            #expect(Kernel.supports(.btf))
            #expect(Kernel.supports(.ringBuffer))
            #expect(Kernel.supports(.uprobes))
            #expect(Kernel.supports(.rawTracepoints))
            #expect(Kernel.privileges.canUseBPF)
        }
    }

    @Suite struct Maps {
        init() throws { _ = try Privileged() }

        @Test func hashMapRoundTrip() throws {
            let probe = try loadTestProbes()
            let hash = try probe.maps.hash.typed(UInt32.self, UInt64.self)
            try hash.update(1, 100)
            try hash.update(2, 200)
            #expect(try hash.lookup(1) == 100)
            #expect(try hash[2] == 200)
            #expect(try hash.lookup(3) == nil)
            #expect(try Set(hash.keys()) == [1, 2])
            #expect(try hash.delete(1))
            #expect(try !hash.delete(1))
            #expect(try hash.entries().map(\.value) == [200])
            #expect(throws: BPFError.self) { try hash.update(2, 5, flags: .noExist) }
            #expect(throws: BPFError.self) { try hash.update(9, 5, flags: .exist) }
        }

        @Test func arrayMapOfStructs() throws {
            let probe = try loadTestProbes()
            // The skeleton's typed view, generated from the map's BTF.
            let array = probe.typed.samples
            try array.update(3, test_sample(seq: 7, pid: 42, value: 9))
            let s = try #require(try array.lookup(3))
            #expect(s.seq == 7 && s.pid == 42 && s.value == 9)
            #expect(try array.keys().count == 8)
            #expect(try array.lookup(99) == nil)
        }

        @Test func perCPUValuesReadPerCPUAndSummed() throws {
            let probe = try loadTestProbes()
            let map = try probe.maps.percpuHash.perCPU(UInt32.self, UInt64.self)
            let cpus = try Kernel.possibleCPUs
            try map.update(5, (0..<cpus).map { UInt64($0 + 1) })
            #expect(try map.lookup(5) == (0..<cpus).map { UInt64($0 + 1) })
            #expect(try map.sum(5) == UInt64(cpus * (cpus + 1) / 2))
            try map.update(6, [10])
            #expect(try map.sum(6) == UInt64(10 * cpus))
        }

        /// Iterating an LRU map while another thread churns it: each walk
        /// ends, and lists each key once (deleted keys send the kernel's
        /// walk back to the start, which repeated keys without end).
        @Test func iterationUnderChurnEndsWithoutRepeats() throws {
            let probe = try loadTestProbes()
            let lru = try probe.maps.lru.typed(UInt32.self, UInt64.self)
            for k in 0..<UInt32(32) { try lru.update(k, UInt64(k)) }
            let done = Atomic<Bool>(false)
            let churn = Thread {
                var k: UInt32 = 32
                while !done.load(ordering: .relaxed) {
                    try? lru.update(k, 1)  // evicts the least recently used
                    _ = try? lru.delete(k &- 16)
                    k &+= 1
                }
            }
            churn.start()
            defer { done.store(true, ordering: .relaxed) }
            var repeated = 0
            for _ in 0..<2000 {
                let keys = try lru.keys()
                if Set(keys).count != keys.count { repeated += 1 }
                #expect(keys.count <= 2 * 32)
            }
            #expect(repeated == 0, "\(repeated) of 2000 walks listed a key twice")
        }

        @Test func sizeMismatchesAreRefused() throws {
            let probe = try loadTestProbes()
            let wrongKey = #expect(throws: BPFError.self) { _ = try probe.maps.hash.typed(UInt64.self, UInt64.self) }
            #expect(wrongKey?.code == .sizeMismatch)
            #expect(wrongKey?.message.contains("4-byte keys") == true)
            let wrongValue = #expect(throws: BPFError.self) { _ = try probe.maps.samples.typed(UInt32.self, UInt64.self) }
            #expect(wrongValue?.code == .sizeMismatch)
            let notPerCPU = #expect(throws: BPFError.self) { _ = try probe.maps.hash.perCPU(UInt32.self, UInt64.self) }
            #expect(notPerCPU?.code == .wrongMapType)
            let perCPUAsPlain = #expect(throws: BPFError.self) { _ = try probe.maps.counters.typed(UInt32.self, UInt64.self) }
            #expect(perCPUAsPlain?.code == .wrongMapType)
        }
    }
}
