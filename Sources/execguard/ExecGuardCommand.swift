// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import SwiftBPF
import ToolSupport
import Enforcers

public let tool = ToolEntry(ExecGuardTool.self)

struct ExecGuardTool: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "execguard",
        abstract: "Allow or deny exec by executable, for a container, a pod, a cgroup or the whole host (BPF-LSM).",
        discussion: """
        Each exec in scope is decided by its executable, matched by device and inode \
        (resolved when execguard starts), whatever path, link or copy-free rename \
        reaches it: a --deny file, or, once any --allow is given, every file no \
        --allow names, fails execve with EPERM. Every decision is printed and \
        counted in the kernel. --audit lets everything run and reports would-deny. \
        The policy lifts when execguard stops, SIGKILL included.

        Needs BPF-LSM: Linux 5.7+ built with CONFIG_BPF_LSM and "bpf" in the \
        active LSM list; without it, execguard says so and exits 1.

        Examples:
          execguard --container web --deny /usr/bin/curl --deny /usr/bin/wget
          execguard --pod api --namespace shop --allow /app/server --allow /bin/sh --audit
          execguard --container web --deny-under /tmp --deny-under /dev/shm   nothing dropped in tmp runs
        """
    )

    @OptionGroup(title: "Workload (none: the whole host)")
    var target: GuardTarget

    @Option(name: .long, help: ArgumentHelp("Deny executing this file (repeatable).", valueName: "path"))
    var deny: [String] = []

    @Option(name: .long, help: ArgumentHelp("Allow executing this file; with any --allow, all else is denied (repeatable).", valueName: "path"))
    var allow: [String] = []

    @Option(name: .customLong("deny-under"), help: ArgumentHelp("Deny executing files below this directory (repeatable).", valueName: "dir"))
    var denyUnder: [String] = []

    @Option(name: .customLong("allow-under"), help: ArgumentHelp("Allow executing files below this directory; all else is denied (repeatable).", valueName: "dir"))
    var allowUnder: [String] = []

    @OptionGroup(title: "Output")
    var output: GuardOutputOptions

    func validate() throws {
        guard !(deny + allow + denyUnder + allowUnder).isEmpty else {
            throw ValidationError("give at least one --deny, --allow, --deny-under or --allow-under")
        }
        _ = try guardedFiles(deny, flag: "--deny")
        _ = try guardedFiles(allow, flag: "--allow")
        _ = try guardedFiles(denyUnder, flag: "--deny-under")
        _ = try guardedFiles(allowUnder, flag: "--allow-under")
    }

    func run() throws {
        let options = try output.traceOptions()
        let session = try TraceSession(tool: "execguard", options: options)
        let scope = target.isGiven ? try target.resolve() : nil
        let guardian = try ExecGuard(allow: try guardedFiles(allow, flag: "--allow"), deny: try guardedFiles(deny, flag: "--deny"),
                                     allowUnder: try guardedFiles(allowUnder, flag: "--allow-under"),
                                     denyUnder: try guardedFiles(denyUnder, flag: "--deny-under"),
                                     scope: scope?.directory, enforce: !output.audit)
        let fields: [Field<ExecDecision>] = [
            .string("verdict", "VERDICT", width: 10) { $0.decision.rawValue },
            .pid,
            .comm(),
            Field(key: "rule", heading: "RULE", width: 5,
                  text: { e, out, _ in out.append(e.rule ?? "-") },
                  json: { e, o, _ in o.field("rule", e.rule) }),
            Field(key: "inode", heading: nil,
                  text: { _, _, _ in },
                  json: { e, o, _ in o.field("dev", "\(e.device >> 20):\(e.device & 0xfffff)"); o.field("inode", e.inode) }),
            .bytes("filename", "FILE") { $0.filename },
        ]
        let what = "execs of \(scope?.description ?? "the whole host") (\(output.audit ? "audit" : "enforcing"), \(allow.count + deny.count) rules)"
        try session.stream(guardian.probe, format: EventTable(fields, options: options), what: what) { _ throws(BPFError) in
            try guardian.attach()
        }
        session.note("execguard: \(GuardOutputOptions.summary(try guardian.decisions())) (counted in the kernel); policy lifted")
    }
}
