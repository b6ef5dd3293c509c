// SPDX-License-Identifier: BSD-2-Clause
/// A `struct path_event` (pathcall.h): one completed call of a syscall that
/// takes a path, as mkdirtrace and opensnoop send it. Read in place; valid
/// only while the ring buffer handler that received it runs.
public struct PathEvent: TaskEvent {
    let record: RecordReader<path_event>

    /// Field offsets, computed once (tracers read millions of events).
    enum Offset {
        static let callFlags = MemoryLayout<path_event>.offset(of: \.call_flags)!
        static let ret = MemoryLayout<path_event>.offset(of: \.ret)!
        static let dfd = MemoryLayout<path_event>.offset(of: \.dfd)!
        static let mode = MemoryLayout<path_event>.offset(of: \.mode)!
        static let pathLen = MemoryLayout<path_event>.offset(of: \.path_len)!
        static let syscall = MemoryLayout<path_event>.offset(of: \.syscall)!
        static let flags = MemoryLayout<path_event>.offset(of: \.flags)!
        static let path = MemoryLayout<path_event>.offset(of: \.path)!
    }

    /// nil for a record too short to be a path event.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<path_event>(bytes, minimumSize: Offset.path) else { return nil }
        record = r
    }

    /// Who made the call, at its return.
    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    /// The result: a file descriptor, 0, or -errno.
    public var result: Int32 { record.load(at: Offset.ret) }
    /// The directory fd a relative path is resolved against (AT_FDCWD,
    /// -100, for calls without one).
    public var directoryFD: Int32 { record.load(at: Offset.dfd) }
    /// The mode argument as passed, before the umask.
    public var mode: UInt32 { record.load(at: Offset.mode) }
    /// The call's flags argument (open's `O_*`), or 0 for calls without one.
    public var callFlags: UInt64 { record.load(at: Offset.callFlags) }
    /// Which of the tool's syscalls it was (the tool's enum, such as
    /// `mkdir_syscall`).
    public var syscall: UInt8 { record.load(at: Offset.syscall) }
    /// True when the path was longer than the probe's 4 KiB buffer.
    public var pathTruncated: Bool { record.load(at: Offset.flags, as: UInt8.self) & UInt8(PATH_EVENT_TRUNCATED) != 0 }
    /// The path argument's bytes, exactly as the process passed them.
    public var path: UnsafeRawBufferPointer {
        record.string(at: Offset.path, length: Int(record.load(at: Offset.pathLen, as: UInt16.self)))
    }
}
