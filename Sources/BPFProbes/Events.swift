// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the bundled probes' events, read in place from ring-buffer
// records. Each is valid only while the handler that received it runs.

/// A `struct exec_event` from execsnoop.
public struct ExecEvent: TaskEvent {
    let record: RecordReader<exec_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<exec_event>(bytes, minimumSize: Int(exec_event_args_offset)) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    /// 0, or -errno when the exec failed.
    public var result: Int32 { record(\.ret) }
    /// The path the caller gave execve (argv[0] may say anything).
    public var filename: UnsafeRawBufferPointer { record.string(\.filename, length: Int(record(\.filename_len))) }
    /// argv had more entries than were read (--max-args or the buffer).
    public var moreArguments: Bool { record(\.flags) & UInt32(EXEC_FLAG_MORE_ARGS | EXEC_FLAG_BUFFER_FULL) != 0 }
    /// At least one argument was cut at --max-arg-len.
    public var argumentCut: Bool { record(\.flags) & UInt32(EXEC_FLAG_ARG_CUT) != 0 }

    /// argv, each argument's bytes.
    public var arguments: [UnsafeRawBufferPointer] {
        let start = Int(exec_event_args_offset)
        let end = min(record.bytes.count, start + Int(record(\.args_size)))
        guard start < end else { return [] }
        let all = UnsafeRawBufferPointer(rebasing: record.bytes[start..<end])
        return all.split(separator: 0, omittingEmptySubsequences: false).prefix(Int(record(\.args_count))).map { UnsafeRawBufferPointer(rebasing: $0) }
    }
}

/// A `struct sysnoop_event` from sysnoop.
public struct SyscallEvent: TaskEvent {
    let record: RecordReader<sysnoop_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<sysnoop_event>(bytes, minimumSize: MemoryLayout<sysnoop_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var latencyNanoseconds: UInt64 { record(\.latency_ns) }
    /// Which of the requested syscalls (the attach cookie).
    public var index: Int { Int(record(\.index)) }
    public var number: Int32 { record(\.nr) }
    public var result: Int64 { record(\.ret) }

    /// The raw argument registers.
    public var arguments: [UInt64] {
        let a = record(\.args)
        return [a.0, a.1, a.2, a.3, a.4, a.5]
    }

    /// String `slot` (0 or 1) as fetched at entry, or nil if none was.
    public func string(_ slot: Int) -> UnsafeRawBufferPointer? {
        let lens = record(\.str_len)
        let len = Int(slot == 0 ? lens.0 : lens.1)
        guard len > 0 else { return nil }
        let base = MemoryLayout<sysnoop_event>.offset(of: \.strings)! + slot * Int(SYSNOOP_STR_MAX)
        let bytes = UnsafeRawBufferPointer(rebasing: record.bytes[base..<(base + len - 1)])
        return bytes
    }

    /// The fetched string was as long as the buffer: probably cut.
    public func stringTruncated(_ slot: Int) -> Bool {
        let lens = record(\.str_len)
        return Int(slot == 0 ? lens.0 : lens.1) >= Int(SYSNOOP_STR_MAX)
    }
}

/// A `struct readline_event` from bashreadline.
public struct ReadlineEvent: TaskEvent {
    let record: RecordReader<readline_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<readline_event>(bytes, minimumSize: MemoryLayout<readline_event>.offset(of: \.line)!) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var truncated: Bool { record(\.truncated) != 0 }
    public var line: UnsafeRawBufferPointer { record.string(\.line, length: Int(record(\.len))) }
}

/// A `struct filelife_event` from filelife: a file deleted while traced.
public struct FileLifeEvent: TaskEvent {
    let record: RecordReader<filelife_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<filelife_event>(bytes, minimumSize: MemoryLayout<filelife_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    /// From creation to deletion.
    public var ageNanoseconds: UInt64 { record(\.age_ns) }
    /// The process that created the file, and its command name then.
    public var creatorPID: UInt32 { record(\.creator_pid) }
    public var creatorComm: UnsafeRawBufferPointer { record.string(\.creator_comm) }
    /// The file's name (its last path component).
    public var name: UnsafeRawBufferPointer { record.string(\.name) }
}
