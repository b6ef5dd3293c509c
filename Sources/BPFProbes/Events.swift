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

    public var timestamp: UInt64 { record(\.ts_ns) }
    public var cgroupID: UInt64 { record(\.cgroup_id) }
    public var pid: UInt32 { record(\.pid) }
    public var tid: UInt32 { record(\.tid) }
    public var ppid: UInt32 { record(\.ppid) }
    public var uid: UInt32 { record(\.uid) }
    /// 0, or -errno when the exec failed.
    public var result: Int32 { record(\.ret) }
    /// The command name after the exec (before it, if the exec failed).
    public var comm: UnsafeRawBufferPointer { record.string(\.comm) }
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

/// A `struct open_event` from opensnoop.
public struct OpenEvent: TaskEvent {
    let record: RecordReader<open_event>

    /// Field offsets, computed once (tracers read millions of events).
    enum Offset {
        static let ts = MemoryLayout<open_event>.offset(of: \.ts_ns)!
        static let cgroup = MemoryLayout<open_event>.offset(of: \.cgroup_id)!
        static let flags = MemoryLayout<open_event>.offset(of: \.flags)!
        static let pid = MemoryLayout<open_event>.offset(of: \.pid)!
        static let tid = MemoryLayout<open_event>.offset(of: \.tid)!
        static let uid = MemoryLayout<open_event>.offset(of: \.uid)!
        static let ret = MemoryLayout<open_event>.offset(of: \.ret)!
        static let dfd = MemoryLayout<open_event>.offset(of: \.dfd)!
        static let mode = MemoryLayout<open_event>.offset(of: \.mode)!
        static let pathLen = MemoryLayout<open_event>.offset(of: \.path_len)!
        static let syscall = MemoryLayout<open_event>.offset(of: \.syscall)!
        static let eventFlags = MemoryLayout<open_event>.offset(of: \.event_flags)!
        static let comm = MemoryLayout<open_event>.offset(of: \.comm)!
        static let path = MemoryLayout<open_event>.offset(of: \.path)!
    }

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<open_event>(bytes, minimumSize: Offset.path) else { return nil }
        record = r
    }

    public var timestamp: UInt64 { record.load(at: Offset.ts) }
    public var cgroupID: UInt64 { record.load(at: Offset.cgroup) }
    public var pid: UInt32 { record.load(at: Offset.pid) }
    public var tid: UInt32 { record.load(at: Offset.tid) }
    public var uid: UInt32 { record.load(at: Offset.uid) }
    /// The file descriptor, or -errno.
    public var result: Int32 { record.load(at: Offset.ret) }
    public var flags: UInt64 { record.load(at: Offset.flags) }
    public var mode: UInt32 { record.load(at: Offset.mode) }
    public var directoryFD: Int32 { record.load(at: Offset.dfd) }
    public var syscall: String {
        switch UInt32(record.load(at: Offset.syscall, as: UInt8.self)) {
        case OPEN_SYSCALL_OPEN.rawValue: "open"
        case OPEN_SYSCALL_OPENAT2.rawValue: "openat2"
        default: "openat"
        }
    }
    public var pathTruncated: Bool { record.load(at: Offset.eventFlags, as: UInt8.self) & UInt8(OPEN_EVENT_PATH_TRUNCATED) != 0 }
    public var comm: UnsafeRawBufferPointer { record.string(at: Offset.comm, length: Int(TASK_COMM_LEN)) }
    public var path: UnsafeRawBufferPointer {
        record.string(at: Offset.path, length: Int(record.load(at: Offset.pathLen, as: UInt16.self)))
    }
}

/// A `struct sysnoop_event` from sysnoop.
public struct SyscallEvent: TaskEvent {
    let record: RecordReader<sysnoop_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<sysnoop_event>(bytes, minimumSize: MemoryLayout<sysnoop_event>.size) else { return nil }
        record = r
    }

    public var timestamp: UInt64 { record(\.ts_ns) }
    public var latencyNanoseconds: UInt64 { record(\.latency_ns) }
    public var cgroupID: UInt64 { record(\.cgroup_id) }
    public var pid: UInt32 { record(\.pid) }
    public var tid: UInt32 { record(\.tid) }
    public var uid: UInt32 { record(\.uid) }
    /// Which of the requested syscalls (the attach cookie).
    public var index: Int { Int(record(\.index)) }
    public var number: Int32 { record(\.nr) }
    public var result: Int64 { record(\.ret) }
    public var comm: UnsafeRawBufferPointer { record.string(\.comm) }

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
public struct ReadlineEvent: EventRecord {
    let record: RecordReader<readline_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<readline_event>(bytes, minimumSize: MemoryLayout<readline_event>.offset(of: \.line)!) else { return nil }
        record = r
    }

    public var timestamp: UInt64 { record(\.ts_ns) }
    public var pid: UInt32 { record(\.pid) }
    public var uid: UInt32 { record(\.uid) }
    public var truncated: Bool { record(\.truncated) != 0 }
    public var comm: UnsafeRawBufferPointer { record.string(\.comm) }
    public var line: UnsafeRawBufferPointer { record.string(\.line, length: Int(record(\.len))) }
}

/// A `struct filelife_event` from filelife: a file deleted while traced.
public struct FileLifeEvent: TaskEvent {
    let record: RecordReader<filelife_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<filelife_event>(bytes, minimumSize: MemoryLayout<filelife_event>.size) else { return nil }
        record = r
    }

    /// CLOCK_MONOTONIC nanoseconds at the deletion.
    public var timestamp: UInt64 { record(\.ts_ns) }
    /// From creation to deletion.
    public var ageNanoseconds: UInt64 { record(\.age_ns) }
    public var cgroupID: UInt64 { record(\.cgroup_id) }
    /// The deleting process and thread.
    public var pid: UInt32 { record(\.pid) }
    public var tid: UInt32 { record(\.tid) }
    public var uid: UInt32 { record(\.uid) }
    /// The deleting task's command name.
    public var comm: UnsafeRawBufferPointer { record.string(\.comm) }
    /// The process that created the file, and its command name then.
    public var creatorPID: UInt32 { record(\.creator_pid) }
    public var creatorComm: UnsafeRawBufferPointer { record.string(\.creator_comm) }
    /// The file's name (its last path component).
    public var name: UnsafeRawBufferPointer { record.string(\.name) }
}
