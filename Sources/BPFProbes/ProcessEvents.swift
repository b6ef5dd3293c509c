// SPDX-License-Identifier: BSD-2-Clause
// Swift views of the process-life tools' events (exitsnoop, sigsnoop,
// killsnoop, oomkill), read in place from ring-buffer records.

/// A `struct exit_event` from exitsnoop: a process (or thread) exited.
extension ExitEvent {
    /// Since the process (or, with threads, the thread) started.
    public var ageNanoseconds: UInt64 { ageNs }
    /// The exit code, when the process exited (not killed).
    public var exitCode: Int? { status & 0x7f == 0 ? Int(status >> 8 & 0xff) : nil }
    /// The signal that killed it, if one did.
    public var signal: Int32? { status & 0x7f == 0 ? nil : Int32(status & 0x7f) }
    /// It was killed and dumped core.
    public var dumpedCore: Bool { status & 0x80 != 0 }
}

/// A `struct signal_event` from sigsnoop or killsnoop: the sender is the task.
extension SignalEvent {
    public var targetPID: UInt32 { targetPid }
    public var signal: Int32 { sig }
    /// sigsnoop: si_code; killsnoop: which call (`killsnoop_call`).
    /// sigsnoop: the target thread's command name.
}

/// A `struct oom_event` from oomkill: the OOM killer chose a victim.
extension OomEvent {
    public var victimPID: UInt32 { victimPid }
    /// nil where the kernel does not give it.
    public var victimUID: UInt32? { hasMemory != 0 ? victimUid : nil }
    /// Memory figures in KiB, where the kernel gives them (Linux 6.8+).
    public var memory: (totalVM: UInt64, anonRSS: UInt64, fileRSS: UInt64, shmemRSS: UInt64, pageTables: UInt64, oomScoreAdj: Int32)? {
        guard hasMemory != 0 else { return nil }
        return (totalVmKb, anonRssKb, fileRssKb, shmemRssKb, pgtablesKb, oomScoreAdj)
    }
}
