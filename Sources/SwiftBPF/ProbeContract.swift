// SPDX-License-Identifier: BSD-2-Clause
// swift-bpf's probe contract (probes/include/swiftbpf.bpf.h) as protocols.
// bpf-skeleton declares a skeleton's conformance when the compiled object
// has every member a protocol names, so code written against these
// protocols reaches the maps and globals through the skeleton's typed
// members: a probe that renames one no longer conforms, and the code that
// drives it stops compiling, instead of failing when it runs.

/// The contract's C types (`struct task_info`, `struct trace_filter`), for
/// every module that uses the library.
@_exported import SwiftBPFContract

/// The maps every probe that includes `swiftbpf.bpf.h` has.
public protocol TraceMaps: Sendable {
    /// `events`: the ring buffer the probe's records go to.
    var events: Map { get }
    /// `lost_events`: a per-CPU count of records the ring buffer had no room for.
    var lostEvents: Map { get }
    /// `cgroup_filter`: slot 0 holds the cgroup v2 directory given with `--cgroup`.
    var cgroupFilter: Map { get }
    /// `cgroup_verdicts`: per cgroup ID, whether its tasks are selected.
    var cgroupVerdicts: Map { get }
}

/// The names of the `TraceMaps`, for sizing them before load.
public protocol TraceMapNames: Sendable, RawRepresentable where RawValue == String {
    static var events: Self { get }
    static var cgroupVerdicts: Self { get }
    /// `swiftbpf_scratch`: where records are built when `events` is a perf buffer.
    static var swiftbpfScratch: Self { get }
}

/// A loaded probe that follows `swiftbpf.bpf.h`: its records come through
/// `maps.events`, and the shared task filters apply to it.
public protocol TraceProbe: Skeleton {
    associatedtype Maps: TraceMaps
    var maps: Maps { get }
}

/// An opened probe that follows `swiftbpf.bpf.h`: its `filter` global (a
/// `struct trace_filter`) and the size of its maps can still be set.
public protocol OpenTraceProbe: OpenSkeleton, ~Copyable where Loaded: TraceProbe {
    associatedtype Filter
    associatedtype MapName: TraceMapNames
    /// `filter`, the shared task filters (`const volatile`, set before load).
    var filter: Filter { get set }
    /// `swiftbpf_perf_events`: nonzero when `events` is a perf buffer.
    var swiftbpfPerfEvents: UInt8 { get set }
    /// Sets the number of entries of `map` (for a ring buffer: its size in bytes).
    mutating func setMaxEntries(_ count: UInt32, for map: MapName) throws(BPFError)
    /// Whether `map` is created at load (a map no program uses can be left out).
    mutating func setAutocreate(_ enabled: Bool, for map: MapName) throws(BPFError)
    /// Where per-call state goes, for a probe that keeps it
    /// (`OpenCallStateProbe`): task storage, or a hash keyed by the task
    /// where the kernel has none. Nothing for other probes, which do not
    /// ask the kernel (`inTaskStorage` is evaluated only when needed).
    mutating func placeCallState(inTaskStorage: @autoclosure () -> Bool) throws(BPFError)
    /// For a probe that keeps per-call state only in programs that are not
    /// loaded (tracepoints standing in for tp_btf): neither map is made.
    mutating func dropCallState() throws(BPFError)
}

extension OpenTraceProbe where Self: ~Copyable {
    public mutating func placeCallState(inTaskStorage: @autoclosure () -> Bool) throws(BPFError) {}
    public mutating func dropCallState() throws(BPFError) {}

    /// For a probe that sees syscalls at tp_btf/sys_exit or, without
    /// kernel BTF, at their tracepoints (`OpenObject.chooseSyscallExitProgram`):
    /// loads the set this kernel attaches, and keeps per-call state only
    /// for the tracepoints (in task storage, or a hash before 5.12).
    /// Returns what was chosen, nil for a probe without the choice.
    @discardableResult
    public mutating func chooseSyscallPrograms() throws(BPFError) -> SyscallPrograms? {
        let chosen = object.chooseSyscallExitProgram()
        if chosen == .tpBTF {
            try dropCallState()
        } else {
            try placeCallState(inTaskStorage: Kernel.supports(.taskStorage))
        }
        return chosen
    }

    /// Makes `events` a ring buffer of `bytes` (`EventBuffer.ring`), or
    /// a perf buffer (`EventBuffer.perf`: the probe then builds records in
    /// `swiftbpf_scratch` and sends them with `bpf_perf_event_output`).
    /// The reader (`RingBuffer`) follows the map's type.
    public mutating func useEventBuffer(_ kind: EventBuffer, bytes: UInt32) throws(BPFError) {
        switch kind {
        case .ring:
            try setMaxEntries(bytes, for: .events)
            swiftbpfPerfEvents = 0
        case .perf:
            try object.makePerfEventArray(map: MapName.events.rawValue)
            try object.setValueSize(UInt32(SWIFTBPF_PERF_RECORD_MAX), map: MapName.swiftbpfScratch.rawValue)
            swiftbpfPerfEvents = 1
        }
    }
}

/// The maps and global of `DECLARE_CALL_STATE(T)`: a thread's state from a
/// call's entry to its return, in task storage (Linux 5.12 for tracepoints) or, where the
/// kernel has none, a hash keyed by the task.
public protocol CallStateMapNames: TraceMapNames {
    static var callState: Self { get }
    static var callStateHash: Self { get }
}

/// An opened probe that keeps per-call state (`DECLARE_CALL_STATE`).
public protocol OpenCallStateProbe: OpenTraceProbe, ~Copyable where MapName: CallStateMapNames {
    /// `call_state_in_hash`: nonzero makes the probe use `call_state_hash`.
    var callStateInHash: UInt8 { get set }
}

extension OpenCallStateProbe where Self: ~Copyable {
    /// Only the map the kernel can use is created.
    public mutating func placeCallState(inTaskStorage: @autoclosure () -> Bool) throws(BPFError) {
        let taskStorage = inTaskStorage()
        try setAutocreate(taskStorage, for: .callState)
        try setAutocreate(!taskStorage, for: .callStateHash)
        callStateInHash = taskStorage ? 0 : 1
    }

    public mutating func dropCallState() throws(BPFError) {
        try setAutocreate(false, for: .callState)
        try setAutocreate(false, for: .callStateHash)
    }
}

/// The maps of `stacks.bpf.h`: stacks counted in the kernel.
public protocol StackMaps: TraceMaps {
    /// `stack_traces`: the stack trace map (`BPF_MAP_TYPE_STACK_TRACE`).
    var stackTraces: Map { get }
    /// `stack_counts`: samples per stack key.
    var stackCounts: Map { get }
    /// `stack_gaps`: per CPU, why a stack is missing.
    var stackGaps: Map { get }
}

/// The names of the `StackMaps`, for sizing them before load.
public protocol StackMapNames: TraceMapNames {
    static var stackTraces: Self { get }
    static var stackCounts: Self { get }
}

/// A loaded probe that counts stacks in the kernel (`stacks.bpf.h`).
public protocol StackProbe: TraceProbe where Maps: StackMaps {}

/// An opened probe that counts stacks in the kernel; `stacks_cfg` says
/// which stacks to take.
public protocol OpenStackProbe: OpenTraceProbe, ~Copyable where MapName: StackMapNames, Loaded: StackProbe {
    associatedtype StacksConfig
    /// `stacks_cfg`: which stacks are taken, and for whom.
    var stacksCfg: StacksConfig { get set }
}
