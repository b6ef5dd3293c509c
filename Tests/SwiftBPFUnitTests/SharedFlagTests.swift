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

@Suite struct Flags {
    @Test func sharedFlagsBecomeTheKernelFilter() throws {
        let o = try TraceOptions.parse(["-p", "\(getpid())", "-t", "7", "-c", "bash", "-u", "root", "-x", "-T", "--json", "--duration", "2.5"])
        let f = o.filter
        #expect(f.pid == UInt32(getpid()))
        #expect(f.tid == 7)
        #expect(f.uid == 0)
        #expect(f.failed_only == 1)
        #expect(f.use_comm == 1)
        let comm = withUnsafeBytes(of: f.comm) { Array($0.prefix { $0 != 0 }) }
        #expect(comm == Array("bash".utf8))
        #expect(o.json && o.timestamp && o.duration == 2.5)
    }

    @Test func defaultsFilterNothing() throws {
        let f = try TraceOptions.parse([]).filter
        #expect(f.pid == 0 && f.tid == 0 && f.uid == UInt32.max && f.failed_only == 0 && f.use_comm == 0 && f.use_cgroup == 0)
        #expect(try TraceOptions.parse([]).bufferBytes == 8 << 20)
    }

    @Test(arguments: [["-p", "0"], ["-t", "-3"], ["-c", ""], ["-c", "sixteen-chars-xx"], ["--buffer-size", "6"],
                      ["--duration", "0"], ["-u", "not-a-user-anywhere"]])
    func invalidValuesAreRejected(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try TraceOptions.parse(arguments) }
    }
}
