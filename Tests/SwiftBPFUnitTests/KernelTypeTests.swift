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

/// Names read from the running kernel's BTF instead of tables.
@Suite struct KernelTypeNames {
    @Test func dropReasonsAndRequestFlagsComeFromTheKernel() throws {
        let reasons = try DropReasons.current()
        let all = Dictionary(reasons.all.map { ($0.name, $0.number) }, uniquingKeysWith: { a, _ in a })
        for name in ["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "TCP_CSUM"] { #expect(all[name] != nil, "\(name) in \(all.keys.sorted())") }
        #expect(try reasons.number(of: "netfilter_drop") == all["NETFILTER_DROP"])
        #expect(reasons.name(UInt32(all["NO_SOCKET"] ?? 0)) == "NO_SOCKET")
        // SKB_CONSUMED joined the enum in 6.2; before, freed-after-use
        // packets went to consume_skb only, never to kfree_skb.
        let consumed = try KernelTypes.enumerators(of: "skb_drop_reason").first { $0.name == "SKB_CONSUMED" }?.value
        #expect(reasons.consumed == consumed && (consumed == nil || consumed != all["NOT_SPECIFIED"]), "SKB_CONSUMED is told apart where it exists")

        let flags = try BlockRequestFlags.current()
        let write = UInt32(try #require(KernelTypes.enumerators(of: "req_op").first { $0.name == "REQ_OP_WRITE" }).value)
        let syncBit = try #require(KernelTypes.enumerators(of: "req_flag_bits").first { $0.name == "__REQ_SYNC" }).value
        let fuaBit = try #require(KernelTypes.enumerators(of: "req_flag_bits").first { $0.name == "__REQ_FUA" }).value
        let syncFUAWrite = write | 1 << UInt32(syncBit) | 1 << UInt32(fuaBit)
        #expect(flags.operation(syncFUAWrite) == "WRITE" && flags.describe(syncFUAWrite) == "WRITE SYNC|FUA" && flags.rwbs(syncFUAWrite) == "WFS")
    }

    @Test func anEnumTheKernelLacksIsNamed() {
        #expect {
            _ = try KernelTypes.enumerators(of: "no_such_enum_here")
        } throws: { error in
            "\(error)".contains("no enum no_such_enum_here") && "\(error)".contains(Kernel.release)
        }
    }
}
