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

@Suite struct SectionNames {
    @Test func kprobeSectionTargetsWithOffsets() throws {
        #expect(try Program.kprobeTarget("vfs_mkdir") == ("vfs_mkdir", 0))
        #expect(try Program.kprobeTarget("vfs_mkdir+0x10") == ("vfs_mkdir", 16))
        #expect(try Program.kprobeTarget("do_sys_open+9") == ("do_sys_open", 9))
        #expect(throws: BPFError.self) { try Program.kprobeTarget("vfs_mkdir+zz") }
    }
}
