// SPDX-License-Identifier: BSD-2-Clause
/// A `struct mkdir_event` record from the mkdirtrace probe, read in place.
/// Valid only while the ring buffer handler that received it runs.
public struct MkdirEvent: TaskEvent {
    let record: RecordReader<mkdir_event>

    /// Field offsets, computed once (tracers read millions of events).
    enum Offset {
        static let ts = MemoryLayout<mkdir_event>.offset(of: \.ts_ns)!
        static let cgroup = MemoryLayout<mkdir_event>.offset(of: \.cgroup_id)!
        static let pid = MemoryLayout<mkdir_event>.offset(of: \.pid)!
        static let tid = MemoryLayout<mkdir_event>.offset(of: \.tid)!
        static let ppid = MemoryLayout<mkdir_event>.offset(of: \.ppid)!
        static let uid = MemoryLayout<mkdir_event>.offset(of: \.uid)!
        static let ret = MemoryLayout<mkdir_event>.offset(of: \.ret)!
        static let dfd = MemoryLayout<mkdir_event>.offset(of: \.dfd)!
        static let mode = MemoryLayout<mkdir_event>.offset(of: \.mode)!
        static let pathLen = MemoryLayout<mkdir_event>.offset(of: \.path_len)!
        static let syscall = MemoryLayout<mkdir_event>.offset(of: \.syscall)!
        static let flags = MemoryLayout<mkdir_event>.offset(of: \.flags)!
        static let comm = MemoryLayout<mkdir_event>.offset(of: \.comm)!
        static let path = MemoryLayout<mkdir_event>.offset(of: \.path)!
    }

    /// nil for a record too short to be a mkdir event.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<mkdir_event>(bytes, minimumSize: Offset.path) else { return nil }
        record = r
    }

    /// CLOCK_MONOTONIC nanoseconds at syscall exit.
    public var timestamp: UInt64 { record.load(at: Offset.ts) }
    public var cgroupID: UInt64 { record.load(at: Offset.cgroup) }
    public var pid: UInt32 { record.load(at: Offset.pid) }
    public var tid: UInt32 { record.load(at: Offset.tid) }
    public var ppid: UInt32 { record.load(at: Offset.ppid) }
    public var uid: UInt32 { record.load(at: Offset.uid) }
    /// 0 on success, else -errno.
    public var result: Int32 { record.load(at: Offset.ret) }
    /// The directory fd a relative mkdirat path is resolved against
    /// (AT_FDCWD, -100, for mkdir).
    public var directoryFD: Int32 { record.load(at: Offset.dfd) }
    /// The mode argument as passed, before the umask.
    public var mode: UInt32 { record.load(at: Offset.mode) }
    /// "mkdir" or "mkdirat".
    public var syscall: String { record.load(at: Offset.syscall, as: UInt8.self) == UInt8(MKDIR_SYSCALL_MKDIRAT.rawValue) ? "mkdirat" : "mkdir" }
    /// True when the path was longer than the probe's 4 KiB buffer.
    public var pathTruncated: Bool { record.load(at: Offset.flags, as: UInt8.self) & UInt8(MKDIR_EVENT_PATH_TRUNCATED) != 0 }
    /// The command name's bytes.
    public var comm: UnsafeRawBufferPointer { record.string(at: Offset.comm, length: Int(TASK_COMM_LEN)) }
    /// The path argument's bytes, exactly as the process passed them.
    public var path: UnsafeRawBufferPointer {
        record.string(at: Offset.path, length: Int(record.load(at: Offset.pathLen, as: UInt16.self)))
    }
}
