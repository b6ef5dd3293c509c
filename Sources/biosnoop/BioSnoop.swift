// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import ToolSupport
import HistogramSupport

public let tool = ToolEntry(BioSnoop.self)

struct BioSnoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "biosnoop",
        abstract: "Trace every block I/O: who queued it, the disk, the size and the latency.",
        discussion: """
        Raw tracepoints block_rq_insert, block_rq_issue and block_rq_complete. \
        PID and COMM are the task that queued the request, taken when it was \
        queued (completion runs in interrupt context). T is the operation: R, W, \
        F (flush), D (discard), then F (FUA), A (read-ahead), S (sync), M \
        (metadata). LAT is from issue to completion; -Q adds the time queued \
        before issue.

        Examples:
          biosnoop                      every request
          biosnoop --disk vda -Q        one disk, with time queued
          biosnoop -p 1234 --json       one process's I/O as JSON lines
        """
    )

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    @Flag(name: [.customShort("Q"), .customLong("queued")], help: "Show the time queued in the kernel before issue.")
    var queued = false

    @Option(name: .long, help: ArgumentHelp("Trace this disk only.", valueName: "name"))
    var disk: String?

    func validate() throws {
        if let disk { _ = try BlockDevices.number(of: disk) }
    }

    func run() throws {
        let flags = try BlockRequestFlags.current()
        try TraceSession.trace("biosnoop", options: trace, flags: .all.refusing([.failed]) { "\($0) traces block requests (their ERROR is shown)" },
                               what: "block I/O", fields: BlockFields.all(flags: flags, queued: queued)) {
            var open = try BiosnoopSkeleton.open()
            open.blockCfg = block_config(dev: try disk.map(BlockDevices.number(of:)) ?? 0, queued: 0, by_disk: 0, by_flags: 0, pad: 0)
            return open
        }
    }
}

/// biosnoop's fields, in text and JSON alike.
enum BlockFields {
    static func milliseconds(_ key: String, _ heading: String, _ value: @escaping @Sendable (BlockEvent) -> UInt64) -> Field<BlockEvent> {
        Field(key: key, heading: heading, width: 8,
              text: { e, out, _ in out.append(String(format: "%8.3f", Double(value(e)) / 1e6)) },
              json: { e, o, _ in o.field(key, value(e)) })
    }

    static func all(flags: BlockRequestFlags, queued: Bool) -> [Field<BlockEvent>] {
        var fields: [Field<BlockEvent>] = [
            .comm(), .pid,
            Field.string("disk", "DISK", width: 7) { BlockDevices.name(of: $0.device) },
            Field(key: "op", heading: "T", width: 3,
                  text: { e, out, _ in out.append(flags.rwbs(e.commandFlags)) },
                  json: { e, o, _ in
                      o.field("op", flags.operation(e.commandFlags))
                      o.array("flags") { list in flags.flagNames(e.commandFlags).forEach { list.string(bytes: Array($0.utf8)) } }
                  }),
            Field.number("sector", "SECTOR", width: 11) { $0.sector },
            Field.number("bytes", "BYTES", width: 8) { $0.bytes },
        ]
        if queued { fields.append(milliseconds("queued_ns", "QUE(ms)", \.queuedNanoseconds)) }
        fields.append(milliseconds("latency_ns", "LAT(ms)", \.latencyNanoseconds))
        fields.append(Field.number("error", "ERROR") { $0.error })
        return fields
    }
}
