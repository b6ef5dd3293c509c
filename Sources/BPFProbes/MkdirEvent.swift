/// A `struct mkdir_event` record from the mkdirtrace probe, read in place.
/// Valid only while the ring buffer handler that received it runs.
public struct MkdirEvent {
    let record: RecordReader<mkdir_event>

    /// nil for a record too short to be a mkdir event.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<mkdir_event>(bytes, minimumSize: MemoryLayout<mkdir_event>.offset(of: \.path)!) else { return nil }
        record = r
    }

    /// CLOCK_MONOTONIC nanoseconds at syscall exit.
    public var timestamp: UInt64 { record(\.ts_ns) }
    public var cgroupID: UInt64 { record(\.cgroup_id) }
    public var pid: UInt32 { record(\.pid) }
    public var tid: UInt32 { record(\.tid) }
    public var ppid: UInt32 { record(\.ppid) }
    public var uid: UInt32 { record(\.uid) }
    /// 0 on success, else -errno.
    public var result: Int32 { record(\.ret) }
    /// The directory fd a relative mkdirat path is resolved against
    /// (AT_FDCWD, -100, for mkdir).
    public var directoryFD: Int32 { record(\.dfd) }
    /// The mode argument as passed, before the umask.
    public var mode: UInt32 { record(\.mode) }
    /// "mkdir" or "mkdirat".
    public var syscall: String { record(\.syscall) == UInt8(MKDIR_SYSCALL_MKDIRAT.rawValue) ? "mkdirat" : "mkdir" }
    /// True when the path was longer than the probe's 4 KiB buffer.
    public var pathTruncated: Bool { record(\.flags) & UInt8(MKDIR_EVENT_PATH_TRUNCATED) != 0 }
    /// The command name's bytes.
    public var comm: UnsafeRawBufferPointer { record.string(\.comm) }
    /// The path argument's bytes, exactly as the process passed them.
    public var path: UnsafeRawBufferPointer { record.string(\.path, length: Int(record(\.path_len))) }
}
