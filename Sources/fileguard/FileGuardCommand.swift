// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import SwiftBPF
import ToolSupport
import Enforcers

public let tool = ToolEntry(FileGuardTool.self)

struct FileGuardTool: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "fileguard",
        abstract: "Deny writes, or all opens, under protected paths, for a container, a pod, a cgroup or the whole host (BPF-LSM).",
        discussion: """
        A protected path is a directory (everything below it, up to 32 levels) or a \
        file, matched by device and inode (resolved when fileguard starts), whatever \
        path or bind mount reaches it. Under a --deny-write path, opening for \
        writing, creating, unlinking and renaming fail with EPERM; under a \
        --deny-open path, reading too. Every decision on a protected file is printed \
        and counted in the kernel. --audit lets everything through and reports \
        would-deny. The policy lifts when fileguard stops, SIGKILL included.

        Needs BPF-LSM: Linux 5.7+ built with CONFIG_BPF_LSM and "bpf" in the \
        active LSM list (unlink and rename also CONFIG_SECURITY_PATH); without it, \
        fileguard says so and exits 1.

        Examples:
          fileguard --container web --deny-write /etc --deny-write /usr
          fileguard --deny-open /root/.ssh --audit
        """
    )

    @OptionGroup(title: "Workload (none: the whole host)")
    var target: GuardTarget

    @Option(name: .customLong("deny-write"), help: ArgumentHelp("Deny writes under this directory or to this file (repeatable).", valueName: "path"))
    var denyWrite: [String] = []

    @Option(name: .customLong("deny-open"), help: ArgumentHelp("Deny every open, reads too, under this path (repeatable).", valueName: "path"))
    var denyOpen: [String] = []

    @OptionGroup(title: "Output")
    var output: GuardOutputOptions

    func validate() throws {
        guard !denyWrite.isEmpty || !denyOpen.isEmpty else { throw ValidationError("give at least one --deny-write or --deny-open") }
        _ = try guardedFiles(denyWrite, flag: "--deny-write")
        _ = try guardedFiles(denyOpen, flag: "--deny-open")
    }

    func run() throws {
        let options = try output.traceOptions()
        let session = try TraceSession(tool: "fileguard", options: options)
        let scope = target.isGiven ? try target.resolve() : nil
        let writes = try guardedFiles(denyWrite, flag: "--deny-write"), opens = try guardedFiles(denyOpen, flag: "--deny-open")
        let guardian = try FileGuard(protect: writes.map { ($0, .writes) } + opens.map { ($0, .all) },
                                     scope: scope?.directory, enforce: !output.audit)
        let fields: [Field<FileDecision>] = [
            .string("verdict", "VERDICT", width: 10) { $0.decision.rawValue },
            .string("operation", "OP", width: 6) { $0.operation.rawValue },
            .pid,
            .comm(),
            .string("protected", "UNDER", width: 20) { guardian.path(device: $0.protectedDevice, inode: $0.protectedInode) ?? "?" },
            .bytes("name", "NAME") { $0.name },
        ]
        let what = "files under \(writes.count + opens.count) protected paths for \(scope?.description ?? "the whole host") (\(output.audit ? "audit" : "enforcing"))"
        try session.stream(guardian.probe, format: EventTable(fields, options: options), what: what) { _ throws(BPFError) in
            try guardian.attach()
        }
        session.note("fileguard: \(GuardOutputOptions.summary(try guardian.decisions())) (counted in the kernel); policy lifted")
    }
}
