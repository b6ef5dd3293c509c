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
public protocol EventRecord {
    /// nil for a record too short to be this event.
    init?(_ bytes: UnsafeRawBufferPointer)
}

/// An event about a task: what every tracing probe records of who did it.
public protocol TaskEvent: EventRecord {
    /// CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`).
    var timestamp: UInt64 { get }
    /// Process (thread group) ID, as the host's PID namespace sees it.
    var pid: UInt32 { get }
    /// Thread ID.
    var tid: UInt32 { get }
    var uid: UInt32 { get }
    /// The command name's bytes (15 at most).
    var comm: UnsafeRawBufferPointer { get }
    /// The task's cgroup v2 ID.
    var cgroupID: UInt64 { get }
}
