// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport

public let tool = ToolEntry(OOMKill.self)

struct OOMKill: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "oomkill",
        abstract: "Trace the OOM killer: each victim, and the task whose allocation set it off.",
        discussion: """
        From oom:mark_victim. PID and COMM are the task that ran out of memory (often \
        the victim itself); VPID and VCOMM the victim. Linux 6.8+ also gives the \
        victim's memory in KiB (TOTAL_VM, ANON_RSS); older kernels give only its PID, \
        and its name is then read from /proc while it is still there ("?" if gone). \
        The shared filters (-p, -c, -u, --cgroup, --container) select the task that \
        ran out of memory.

        Examples:
          oomkill                     every OOM kill
          oomkill --json              with the memory figures
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions


    func run() throws {
        try TraceSession.trace("oomkill", options: trace, flags: .all.refusing([.failed]) { _ in "an OOM kill has no result to select by" },
                               what: "OOM kills", fields: OOMFields.all) { try OomkillSkeleton.open() }
    }
}

/// oomkill's fields, in text and JSON alike.
enum OOMFields {
    /// The victim's name: from the kernel, else from /proc while it lasts.
    static func victimName(_ e: OomEvent) -> String {
        if !e.victimComm.isEmpty { return String(decoding: e.victimComm, as: UTF8.self) }
        let comm = try? String(contentsOfFile: "/proc/\(e.victimPID)/comm", encoding: .utf8)
        return comm?.trimmingCharacters(in: .newlines) ?? "?"
    }

    static let all: [Field<OomEvent>] = [
        .pid,
        .comm(),
        .number("victim_pid", "VPID", width: 7) { $0.victimPID },
        .string("victim_comm", "VCOMM", width: 16) { victimName($0) },
        Field(key: "victim_uid", heading: nil, text: { _, _, _ in }, json: { e, o, _ in o.field("victim_uid", e.victimUID) }),
        Field(key: "total_vm_kb", heading: "TOTAL_VM", width: 10,
              text: { e, out, _ in if let m = e.memory { out.appendNumber(m.totalVM) } else { out.append("-") } },
              json: { e, o, _ in
                  let m = e.memory
                  o.field("total_vm_kb", m?.totalVM)
                  o.field("anon_rss_kb", m?.anonRSS)
                  o.field("file_rss_kb", m?.fileRSS)
                  o.field("shmem_rss_kb", m?.shmemRSS)
                  o.field("pgtables_kb", m?.pageTables)
                  o.field("oom_score_adj", m?.oomScoreAdj)
              }),
        Field(key: nil, heading: "ANON_RSS",
              text: { e, out, _ in if let m = e.memory { out.appendNumber(m.anonRSS) } else { out.append("-") } },
              json: { _, _, _ in }),
    ]
}
