// SPDX-License-Identifier: BSD-2-Clause
/// What every generated skeleton offers once loaded, so code such as a
/// tool's run loop can drive any of them: the loaded object, whose maps
/// and programs can also be found by name.
public protocol Skeleton: Sendable {
    /// The loaded object; it owns every file descriptor of the skeleton.
    var object: LoadedObject { get }
}

/// What every generated skeleton offers between `open()` and `load()`:
/// the opened object, configurable by name (`setGlobal(_:to:)`,
/// `setMaxEntries(_:map:)`, `setAutoload(_:program:)`), and `load()`,
/// which consumes it. A function generic over `OpenSkeleton & ~Copyable`
/// configures and loads any skeleton, as libbpf-rs's `OpenSkel` allows.
public protocol OpenSkeleton: ~Copyable {
    associatedtype Loaded: Skeleton
    /// The opened object, for configuration by name.
    var object: OpenObject { get set }
    /// Creates the maps and loads the programs (the verifier runs here).
    consuming func load() throws(BPFError) -> Loaded
}

/// A Swift view of one ring-buffer record of a probe's event struct, read
/// in place: valid only while the handler that received the bytes runs.
public protocol EventRecord: SendableMetatype {
    /// nil for a record too short to be this event.
    init?(_ bytes: UnsafeRawBufferPointer)
}

/// The `struct task_info` an event starts with (swiftbpf.h): who did it,
/// and when, as `fill_task()` recorded it. Read in place; valid only while
/// the handler that received the record runs.
public struct TaskInfo {
    /// The C struct's size; its layout is part of the probe contract.
    public static let size = 56
    @usableFromInline let bytes: UnsafeRawBufferPointer

    /// nil for a record shorter than the block.
    @inlinable
    public init?(_ record: UnsafeRawBufferPointer) {
        guard record.count >= Self.size else { return nil }
        bytes = record
    }

    /// For an event view that has checked the record's size already.
    @inlinable
    public init(unchecked record: UnsafeRawBufferPointer) { bytes = record }

    /// CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`).
    @inlinable public var timestamp: UInt64 { bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
    /// The task's cgroup v2 ID.
    @inlinable public var cgroupID: UInt64 { bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
    /// Process (thread group) ID, as the host's PID namespace sees it.
    @inlinable public var pid: UInt32 { bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self) }
    /// Thread ID.
    @inlinable public var tid: UInt32 { bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self) }
    /// The parent process's ID.
    @inlinable public var ppid: UInt32 { bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self) }
    @inlinable public var uid: UInt32 { bytes.loadUnaligned(fromByteOffset: 28, as: UInt32.self) }
    /// The command name's bytes (15 at most), without the NUL.
    @inlinable public var comm: UnsafeRawBufferPointer {
        let field = UnsafeRawBufferPointer(rebasing: bytes[32..<48])
        return UnsafeRawBufferPointer(rebasing: field[..<(field.firstIndex(of: 0) ?? 16)])
    }
    /// The process's ID in its own PID namespace (a container's view);
    /// 0 unless the probe was asked to record it (`trace_filter.ns_pids`).
    @inlinable public var namespacePID: UInt32 { bytes.loadUnaligned(fromByteOffset: 48, as: UInt32.self) }
    /// The thread's ID in its own PID namespace; 0 unless asked.
    @inlinable public var namespaceTID: UInt32 { bytes.loadUnaligned(fromByteOffset: 52, as: UInt32.self) }
}

/// An event about a task: a record that starts with `struct task_info`.
/// The task's fields come from that block, so an event view only says
/// where its record is.
public protocol TaskEvent: EventRecord {
    /// The `struct task_info` the record starts with.
    var task: TaskInfo { get }
}

extension TaskEvent {
    /// CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`).
    @inlinable public var timestamp: UInt64 { task.timestamp }
    /// Process (thread group) ID, as the host's PID namespace sees it.
    @inlinable public var pid: UInt32 { task.pid }
    /// Thread ID.
    @inlinable public var tid: UInt32 { task.tid }
    /// The parent process's ID.
    @inlinable public var ppid: UInt32 { task.ppid }
    @inlinable public var uid: UInt32 { task.uid }
    /// The command name's bytes (15 at most).
    @inlinable public var comm: UnsafeRawBufferPointer { task.comm }
    /// The task's cgroup v2 ID.
    @inlinable public var cgroupID: UInt64 { task.cgroupID }
}
