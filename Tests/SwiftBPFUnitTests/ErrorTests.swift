// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import TestSupport
import Testing
import ToolSupport
@testable import NetworkSupport
@testable import HistogramSupport
@testable import mkdirtrace
@testable import SwiftBPF

@Suite struct ErrorWording {
    /// A libbpf failure names the map, program or path it concerns, not
    /// only the errno that libbpf's closing line repeats.
    @Test func libbpfLinesThatNameTheObjectWin() {
        let lines = ["libbpf: map 'rules': failed to create: -2",
                     "libbpf: failed to load object 'pktfilter'", ""]
        #expect(BPFError.mostSpecific(lines) == "map 'rules': failed to create: -2")
        let error = BPFError.system("cannot load BPF object pktfilter", -ENOENT, libbpfMessages: lines)
        #expect(error.message == "cannot load BPF object pktfilter: No such file or directory (libbpf: map 'rules': failed to create: -2)")
        #expect(BPFError.mostSpecific(["libbpf: something went wrong"]) == "something went wrong")
        #expect(BPFError.mostSpecific([]) == nil)
    }
}

@Suite struct Hardening {
    /// Every per-CPU map type reads one value per CPU; the cgroup-storage
    /// one was missing, so a lookup's buffer held one CPU's value.
    @Test func everyPerCPUMapTypeIsPerCPU() {
        #expect(MapType.perCPUHash.isPerCPU && MapType.perCPUArray.isPerCPU && MapType.lruPerCPUHash.isPerCPU)
        #expect(MapType.perCPUCgroupStorage.isPerCPU)
        #expect(!MapType.hash.isPerCPU && !MapType.array.isPerCPU && !MapType.ringBuffer.isPerCPU)
    }

    /// The errno of an error is the failed call's, even when building the
    /// message (here, a call that fails differently) changes errno.
    @Test func errnoIsTakenBeforeTheMessageIsBuilt() {
        func clobber() -> String { errno = EBADF; return "map 'x'" }
        errno = ENOENT
        let error = BPFError.fromErrno("lookup in \(clobber())")
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.message == "lookup in map 'x': No such file or directory")
    }

    /// A failed CPU count is an error, not "1 CPU".
    @Test func cpuCountFailuresThrow() throws {
        #expect(try Kernel.cpuCount(4) == 4)
        let error = #expect(throws: BPFError.self) { try Kernel.cpuCount(-ENOENT) }
        #expect(error?.message.contains("possible CPUs") == true)
        #expect(throws: BPFError.self) { try Kernel.cpuCount(0) }
    }
}
