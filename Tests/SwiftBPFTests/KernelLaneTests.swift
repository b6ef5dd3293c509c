// SPDX-License-Identifier: BSD-2-Clause
import Enforcers
import Foundation
import SwiftBPF
import TestProbeEvents
import BPFProbes
import TestSupport
import Testing

/// Tests for attach kinds this machine's kernel lacks (kprobes, and fentry,
/// which it refuses). They run in the kernel lane: `make test-kernels`
/// boots a distribution kernel that has them under qemu and runs the whole
/// suite inside with SWIFTBPF_KERNEL_LANE=1. The host's run leaves this
/// suite out by name (`--skip KernelLane`) rather than skipping it.
enum KernelLaneEnvironment {
    static let active = ProcessInfo.processInfo.environment["SWIFTBPF_KERNEL_LANE"] == "1"
}

/// Loads the lane's probes with this process as the target; fentry and
/// fexit programs only where the kernel attaches them.
private func loadLaneProbes() throws -> KernellaneSkeleton {
    var open = try KernellaneSkeleton.open()
    open.laneTargetPid = UInt32(getpid())
    if !Kernel.supports(.fentry) {
        try open.setAutoload(false, for: .mkdirFentry)
        try open.setAutoload(false, for: .mkdirFexit)
        try open.setAutoload(false, for: .mkdirFexitBefore512)
    } else {
        // vfs_mkdir gained its first argument (a namespace) in Linux 5.12.
        let old = try #require(Kernel.parameterCount(of: "vfs_mkdir")) < 4
        try open.setAutoload(false, for: old ? .mkdirFexit : .mkdirFexitBefore512)
    }
    return try open.load()
}

private func laneCount(_ probe: KernellaneSkeleton, _ which: lane_counter) throws -> UInt64 {
    try probe.typed.laneCounters.lookup(which.rawValue) ?? 0
}

/// A directory on a plain tmpfs: the lane's guest has /tmp on overlayfs,
/// where one mkdir reaches vfs_mkdir twice (overlay, then its upper layer).
private func laneDirectory() throws -> String {
    try TestEnvironment.temporaryDirectory(under: "/dev/shm")
}

/// Makes `count` directories in `dir` (each reaches vfs_mkdir once) and
/// fails once with EEXIST, before vfs_mkdir. `dir` is made before the
/// probes attach, so its own mkdir is not counted.
private func mkdirs(_ count: Int, in dir: String, tag: String = "d") {
    for i in 0..<count { #expect(mkdir("\(dir)/\(tag)\(i)", 0o755) == 0) }
    #expect(mkdir(dir, 0o755) == -1 && errno == EEXIST)
}

extension Privileged {
    @Suite(.enabled(if: KernelLaneEnvironment.active || TestEnvironment.isCI, "runs inside the kernel lane (make test-kernels)"))
    struct KernelLane {
        init() throws {
            _ = try Privileged()
            try #require(KernelLaneEnvironment.active, "the kernel lane runs inside the VM that make test-kernels boots")
        }

        @Test func kprobeAndKretprobeCountExactly() throws {
            try #require(Kernel.supports(.kprobes), "the lane's kernel must have kprobes")
            let dir = try laneDirectory()
            let probe = try loadLaneProbes()
            let entry = try probe.programs.mkdirKprobe.attachKprobe(function: "vfs_mkdir")
            let exit = try probe.programs.mkdirKretprobe.attach()  // SEC("kretprobe/vfs_mkdir")
            #expect(exit.kind == .kprobe(function: "vfs_mkdir", isReturn: true))
            mkdirs(25, in: dir)
            let counts = (try laneCount(probe, LANE_KPROBE), try laneCount(probe, LANE_KRETPROBE))
            #expect(counts == (25, 25), "\(counts) in \(dir)")
            #expect(try probe.kretprobeLast == 0, "vfs_mkdir succeeded each time")
            entry.detach()
            exit.detach()
            mkdirs(3, in: dir, tag: "after")
            #expect(try laneCount(probe, LANE_KPROBE) == 25, "a detached kprobe counts no more")
        }

        /// `vfs_mkdir+OFFSET`: the first instruction boundary after the
        /// entry (the kernel refuses offsets inside an instruction), which
        /// every call executes.
        @Test func kprobeAtAnOffsetCountsExactly() throws {
            try #require(Kernel.supports(.kprobes))
            let dir = try laneDirectory()
            let probe = try loadLaneProbes()
            var attached: (link: Link, offset: Int)?
            var refusals: [String] = []
            for offset in 1...16 where attached == nil {
                do {
                    attached = (try probe.programs.mkdirKprobeOffset.attachKprobe(function: "vfs_mkdir", offset: offset), offset)
                } catch {
                    refusals.append("+\(offset): \(error)")
                }
            }
            let found = try #require(attached, "no offset in vfs_mkdir+1...16 took a kprobe: \(refusals)")
            mkdirs(20, in: dir)
            #expect(try laneCount(probe, LANE_KPROBE_OFFSET) == 20, "at vfs_mkdir+\(found.offset)")
            found.link.detach()
        }

        @Test func unknownKernelFunctionIsNamed() throws {
            try #require(Kernel.supports(.kprobes))
            let probe = try loadLaneProbes()
            let error = #expect(throws: BPFError.self) {
                try probe.programs.mkdirKprobe.attachKprobe(function: "swiftbpf_no_such_function")
            }
            #expect(error?.code == .notFound, "\(String(describing: error))")
            #expect(error?.message.contains("swiftbpf_no_such_function") == true)
        }

        @Test func fentryAndFexitCountExactly() throws {
            try #require(Kernel.supports(.fentry), "the lane's kernel must attach fentry programs")
            let dir = try laneDirectory()
            let probe = try loadLaneProbes()
            let entry = try probe.programs.mkdirFentry.attach()  // SEC("fentry/vfs_mkdir")
            let before512 = try #require(Kernel.parameterCount(of: "vfs_mkdir")) < 4
            let exit = try (before512 ? probe.programs.mkdirFexitBefore512 : probe.programs.mkdirFexit).attach()
            mkdirs(30, in: dir)
            #expect(try laneCount(probe, LANE_FENTRY) == 30)
            #expect(try laneCount(probe, LANE_FEXIT) == 30)
            #expect(try probe.fexitLast == 0)
            _ = (entry, exit)
        }

        /// CO-RE: every bundled object, compiled against the build
        /// machine's BTF, loads on this kernel.
        @Test func bundledObjectsLoadHere() throws {
            #expect(throws: Never.self) {
                var mkdirs = try MkdirtraceSkeleton.open()
                try mkdirs.chooseSyscallPrograms()
                _ = try mkdirs.load()
            }
            // With the fallbacks the tools choose where the kernel lacks a
            // feature (task storage, attach cookies).
            #expect(throws: Never.self) {
                var exec = try ExecsnoopSkeleton.open()
                try exec.placeCallState(inTaskStorage: Kernel.supports(.taskStorage))
                _ = try exec.load()
            }
            #expect(throws: Never.self) { _ = try SyscountSkeleton.open().load() }
            #expect(throws: Never.self) {
                var sys = try SysnoopSkeleton.open()
                sys.indexByNumber = Kernel.supports(.attachCookies) ? 0 : 1
                _ = try sys.load()
            }
            #expect(throws: Never.self) { _ = try BashreadlineSkeleton.open().load() }
            #expect(throws: Never.self) { _ = try PacketFilter() }  // the build this kernel runs
            var open = try OpensnoopSkeleton.open()
            try open.chooseSyscallPrograms()
            try open.object.disableProgramsForMissingTracepoints()
            _ = try open.load()
        }
    }
}
