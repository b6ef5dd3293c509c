// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
@testable import SwiftBPF
import Foundation
import TestSupport
import Testing

/// The contract between a probe and Swift is checked when the tool is
/// built: a probe that renames one of swiftbpf.bpf.h's maps gets a
/// skeleton that no longer conforms to the contract, so a tool that loads
/// it with TraceSession does not compile.
@Suite struct ProbeContract {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let fixture = repository + "/Tests/Fixtures/contract"

    /// Compiles the fixture probe (with `defines`), generates its skeleton,
    /// and type-checks the fixture's tool code against it: the
    /// generator's and the compiler's diagnostics, and the compiler's status.
    static func build(defines: [String]) throws -> (status: Int32, diagnostics: String) {
        let dir = try TestEnvironment.temporaryDirectory()
        let clangs: [String] = ["/opt/swift/usr/bin/clang", "/usr/bin/clang"]
        let clang = clangs.first { access($0, X_OK) == 0 }
        let object = dir + "/contractprobe.bpf.o", skeleton = dir + "/contractprobe.skeleton.swift"
        let flags: [String] = ["-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86", "-I", repository + "/probes/vmlinux/x86",
                               "-I", repository + "/probes/include", "-c", fixture + "/contractprobe.bpf.c", "-o", object]
        let compile = try ToolRun(absolute: try #require(clang, "no clang"), flags + defines)
        #expect(compile.finish(timeout: 60) == 0, "\(compile.stderr.text)")
        let tool = ["bpf-skeleton", "bpf-skeleton-tool"].map(TestEnvironment.product).first { access($0, X_OK) == 0 }
        let generate = try ToolRun(absolute: try #require(tool), ["--object", object, "--name", "contractprobe", "--module", "",
                                                                  "--headers", fixture, "--public-headers", repository + "/probes/include",
                                                                  "--output", skeleton])
        #expect(generate.finish() == 0, "\(generate.stderr.text)")

        // The modules a tool built here sees: Swift's beside the tests, C's
        // from their module maps.
        let products = TestEnvironment.productsDirectory
        // SwiftPM's generated module maps (C targets with an include
        // folder) sit beside the products.
        let generated = ((try? FileManager.default.contentsOfDirectory(atPath: products)) ?? [])
            .filter { $0.hasSuffix(".build") && !$0.hasSuffix("-tool.build") && access(products + "/" + $0 + "/module.modulemap", R_OK) == 0 }
            .map { products + "/" + $0 }
        let moduleMaps = [repository + "/Sources/CLibBPF", repository + "/Sources/CLibELF", repository + "/probes",
                          repository + "/probes/include",
                          repository + "/.build/checkouts/swift-system/Sources/CSystem/include"] + generated
        let includes = ((try? FileManager.default.contentsOfDirectory(atPath: repository + "/Sources")) ?? [])
            .map { repository + "/Sources/" + $0 + "/include" }.filter { access($0, R_OK) == 0 }
        // A module cache of its own: the default, in $HOME, is read-only in the kernel lane's guest.
        var arguments: [String] = ["-typecheck", "-swift-version", "6", "-module-cache-path", dir + "/module-cache", "-I", products + "/Modules",
                                   "-Xcc", "-I" + repository + "/probes", "-Xcc", "-I" + repository + "/probes/include"]
        for include in includes { arguments += ["-Xcc", "-I" + include] }
        for map in moduleMaps { arguments += ["-Xcc", "-fmodule-map-file=" + map + "/module.modulemap"] }
        let typecheck = try ToolRun(absolute: "/opt/swift/usr/bin/swiftc", arguments + [fixture + "/use.swift", skeleton])
        let status = typecheck.finish(timeout: 120)
        return (status, generate.stderr.text + typecheck.stderr.text)
    }

    @Test func aProbeThatKeepsTheContractBuildsIntoATool() throws {
        let built = try Self.build(defines: [])
        #expect(built.status == 0, "\(built.diagnostics)")
    }

    @Test func aRenamedMapFailsTheBuildNotTheRun() throws {
        let built = try Self.build(defines: ["-Devents=trace_records"])
        #expect(built.status != 0)
        // The generator says which part is missing; the compiler, where the
        // tool needs it.
        #expect(built.diagnostics.contains("has part of swift-bpf's probe contract but not 'events'"), "\(built.diagnostics)")
        #expect(built.diagnostics.contains("use.swift:9"), "\(built.diagnostics)")
        #expect(built.diagnostics.contains("OpenTraceProbe"), "\(built.diagnostics)")
    }

    /// The generated event views read each field at the offset the probes'
    /// BTF gives; Swift's import of the same headers must agree.
    @Test func eventViewsMatchTheImportedLayouts() {
        #expect(BPFProbes.GeneratedEventViews.layoutMismatches() == [])
        #expect(BPFProbes.GeneratedEventViews.all.count >= 16)
    }
}

/// The ring buffer's safety poll and the probe contract's statement of it
/// (swiftbpf.h, where probe authors read it) are one number.
@Suite struct RingBufferContract {
    @Test func safetyPollMatchesTheProbeContract() {
        #expect(RingBuffer.safetyPoll == SWIFTBPF_SAFETY_POLL_NS)
        // It must outlast the wakeup interval plus a tick: at HZ=100 that
        // is 2 ticks (1/40 s rounded down) plus one, 30 ms.
        #expect(RingBuffer.safetyPoll > 1_000_000_000 / UInt64(SWIFTBPF_WAKEUPS_PER_SECOND) + 10_000_000)
    }
}
