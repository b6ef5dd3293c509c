// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the bundled probes' events, read in place from ring-buffer
// records. Each is valid only while the handler that received it runs.

/// A `struct exec_event` from execsnoop.
extension ExecEvent {
    /// 0, or -errno when the exec failed.
    public var result: Int32 { ret }
    /// argv had more entries than were read (--max-args or the buffer).
    public var moreArguments: Bool { flags & UInt32(EXEC_FLAG_MORE_ARGS | EXEC_FLAG_BUFFER_FULL) != 0 }
    /// At least one argument was cut at --max-arg-len.
    public var argumentCut: Bool { flags & UInt32(EXEC_FLAG_ARG_CUT) != 0 }

    /// argv, each argument's bytes.
    public var arguments: [UnsafeRawBufferPointer] {
        let start = Int(exec_event_args_offset)
        let end = min(record.bytes.count, start + Int(argsSize))
        guard start < end else { return [] }
        let all = UnsafeRawBufferPointer(rebasing: record.bytes[start..<end])
        return all.split(separator: 0, omittingEmptySubsequences: false).prefix(Int(argsCount)).map { UnsafeRawBufferPointer(rebasing: $0) }
    }
}

/// A `struct sysnoop_event` from sysnoop.
extension SysnoopEvent {
    public var latencyNanoseconds: UInt64 { latencyNs }
    public var number: Int32 { nr }
    public var result: Int64 { ret }

    /// The raw argument registers.
    public var arguments: [UInt64] {
        (0..<6).map(args)
    }

    /// String `slot` (0 or 1) as fetched at entry, or nil if none was.
    public func string(_ slot: Int) -> UnsafeRawBufferPointer? {
        let len = Int(strLen(slot))
        guard slot == 0 || slot == 1, len > 0 else { return nil }
        let base = MemoryLayout<sysnoop_event>.offset(of: \.strings)! + slot * Int(SYSNOOP_STR_MAX)
        return record.bytes(at: base, count: min(len - 1, Int(SYSNOOP_STR_MAX)))
    }

    /// The fetched string was as long as the buffer: probably cut.
    public func stringTruncated(_ slot: Int) -> Bool {
        Int(strLen(slot)) >= Int(SYSNOOP_STR_MAX)
    }
}

/// A `struct readline_event` from bashreadline.
extension ReadlineEvent {
    /// The line was longer than the probe's buffer (`truncated`).
    public var isTruncated: Bool { truncated != 0 }
}

/// A `struct filelife_event` from filelife: a file deleted while traced.
extension FilelifeEvent {
    /// From creation to deletion.
    public var ageNanoseconds: UInt64 { ageNs }
    /// The process that created the file, and its command name then.
    public var creatorPID: UInt32 { creatorPid }
    /// The file's name (its last path component).
}
