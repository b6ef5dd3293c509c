// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// Every saved input of every fuzz target (Fuzz/Corpus/TARGET: the seeds,
/// and each crash a fuzzing run found, kept there as a regression input)
/// replayed through the same parsers and properties as `make fuzz` runs.
/// A crash is a failed replay.
@Suite struct FuzzCorpus {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let targets = ["elf", "build-id", "maps", "kallsyms", "records", "rules", "runtime-state"]

    @Test(arguments: targets)
    func savedInputsReplay(target: String) throws {
        let corpus = Self.repository.appending(path: "Fuzz/Corpus/\(target)").path
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus)
        #expect(files.count >= 2, "\(target) has seeds")
        let run = try ToolRun.complete("swiftbpf-fuzz", [target, corpus])
        #expect(run.status == 0 && run.stdout == "\(target): \(files.count) inputs replayed\n", "\(run.stdout)\(run.stderr)")
    }

    @Test func unknownTargetIsAUsageError() throws {
        let run = try ToolRun.complete("swiftbpf-fuzz", ["pdf", "/dev/null"])
        #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains("targets: elf, build-id"), "\(run.stderr)")
    }
}
