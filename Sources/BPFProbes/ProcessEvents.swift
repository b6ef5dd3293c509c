// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the process-life tools' events (exitsnoop, sigsnoop,
// killsnoop, oomkill), read in place from ring-buffer records.

/// A `struct exit_event` from exitsnoop: a process (or thread) exited.
public struct ExitEvent: TaskEvent {
    let record: RecordReader<exit_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<exit_event>(bytes, minimumSize: MemoryLayout<exit_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    /// Since the process (or, with threads, the thread) started.
    public var ageNanoseconds: UInt64 { record(\.age_ns) }
    /// The status as wait(2) reports it.
    public var status: UInt32 { record(\.exit_code) }
    /// The exit code, when the process exited (not killed).
    public var exitCode: Int? { status & 0x7f == 0 ? Int(status >> 8 & 0xff) : nil }
    /// The signal that killed it, if one did.
    public var signal: Int32? { status & 0x7f == 0 ? nil : Int32(status & 0x7f) }
    /// It was killed and dumped core.
    public var dumpedCore: Bool { status & 0x80 != 0 }
}

/// A `struct signal_event` from sigsnoop or killsnoop: the sender is the task.
public struct SignalEvent: TaskEvent {
    let record: RecordReader<signal_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<signal_event>(bytes, minimumSize: MemoryLayout<signal_event>.size) else { return nil }
        record = r
    }

    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var targetPID: UInt32 { record(\.target_pid) }
    public var signal: Int32 { record(\.sig) }
    /// sigsnoop: the kernel's TRACE_SIGNAL_* verdict; killsnoop: the
    /// syscall's return (0 or -errno).
    public var result: Int32 { record(\.result) }
    /// sigsnoop: si_code; killsnoop: which call (`killsnoop_call`).
    public var code: Int32 { record(\.code) }
    /// sigsnoop: the target thread's command name.
    public var targetComm: UnsafeRawBufferPointer { record.string(\.target_comm) }
}

/// A `struct oom_event` from oomkill: the OOM killer chose a victim.
public struct OOMEvent: TaskEvent {
    let record: RecordReader<oom_event>

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let r = RecordReader<oom_event>(bytes, minimumSize: MemoryLayout<oom_event>.size) else { return nil }
        record = r
    }

    /// The task whose allocation found no memory (often the victim).
    public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }
    public var victimPID: UInt32 { record(\.victim_pid) }
    /// The victim's command name; empty where the kernel does not give it (before 6.8).
    public var victimComm: UnsafeRawBufferPointer { record.string(\.victim_comm) }
    /// nil where the kernel does not give it.
    public var victimUID: UInt32? { record(\.has_memory) != 0 ? record(\.victim_uid) : nil }
    /// Memory figures in KiB, where the kernel gives them (Linux 6.8+).
    public var memory: (totalVM: UInt64, anonRSS: UInt64, fileRSS: UInt64, shmemRSS: UInt64, pageTables: UInt64, oomScoreAdj: Int32)? {
        guard record(\.has_memory) != 0 else { return nil }
        return (record(\.total_vm_kb), record(\.anon_rss_kb), record(\.file_rss_kb), record(\.shmem_rss_kb), record(\.pgtables_kb), record(\.oom_score_adj))
    }
}
