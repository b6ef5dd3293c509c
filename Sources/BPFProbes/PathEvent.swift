// SPDX-License-Identifier: BSD-2-Clause
/// A `struct path_event` (pathcall.h): one completed call of a syscall that
/// takes a path, as mkdirtrace and opensnoop send it.
extension PathEvent {
    /// The result: a file descriptor, 0, or -errno.
    public var result: Int32 { ret }
    /// The directory fd a relative path is resolved against (AT_FDCWD,
    /// -100, for calls without one).
    public var directoryFD: Int32 { dfd }
    /// True when the path was longer than the probe's 4 KiB buffer.
    public var pathTruncated: Bool { flags & UInt8(PATH_EVENT_TRUNCATED) != 0 }
}
