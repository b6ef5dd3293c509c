// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Containers
import Foundation
import ProbeEvents
import SwiftBPF

/// The flags every tracing tool shares, with the same letters in every tool.
/// Filters are evaluated in the kernel: they are written into the probe's
/// read-only `filter` before load (and the cgroup into its map after load).
public struct TraceOptions: ParsableArguments, Sendable {
    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Trace only this process (PID).", valueName: "pid"))
    public var pid: Int32?

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("Trace only this thread (TID).", valueName: "tid"))
    public var tid: Int32?

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("Trace only tasks whose command name is exactly this (15 characters at most).", valueName: "comm"))
    public var comm: String?

    @Option(name: [.customShort("u"), .long], help: ArgumentHelp("Trace only this user (UID or user name).", valueName: "uid"))
    public var uid: String?

    @Option(name: .long, help: ArgumentHelp("Trace only tasks in this cgroup v2 directory (e.g. /sys/fs/cgroup/system.slice).", valueName: "path"))
    public var cgroup: String?

    @Flag(name: [.customShort("x"), .long], help: "Show only calls that failed.")
    public var failed = false

    @Flag(name: [.customShort("T"), .long], help: "Show time as seconds since tracing started instead of the wall clock.")
    public var timestamp = false

    @Flag(name: .long, help: "Print one JSON object per line (fields in docs/flags.md).")
    public var json = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    public var duration: Double?

    @Option(name: .long, help: ArgumentHelp("Ring buffer size in KiB: a power of two, at least 4.", valueName: "KiB"))
    public var bufferSize: UInt32 = 8192

    @Option(name: .long, help: ArgumentHelp("Relocate against this BTF file instead of the kernel's /sys/kernel/btf/vmlinux (for a kernel without one; also SWIFTBPF_BTF).", valueName: "file"))
    public var btf: String?

    @Flag(name: .long, help: "Say which fallbacks this kernel needed (BTF, per-call state, event buffer, program variants) and print libbpf's diagnostics, on standard error.")
    public var verbose = false

    @Flag(name: [.customShort("C"), .long], help: "Add CONTAINER and POD columns (JSON always carries them when known).")
    public var containers = false

    @Flag(name: .customLong("container-pids"), help: "Add an NSPID column: the PID as the process's own PID namespace (its container) sees it.")
    public var containerPIDs = false

    @Option(name: .long, help: ArgumentHelp("Trace only this container, by name or ID (repeatable).", valueName: "name|id"))
    public var container: [String] = []

    @Option(name: .long, help: ArgumentHelp("Trace only this Kubernetes pod (repeatable).", valueName: "namespace/name"))
    public var pod: [String] = []

    @Option(name: .long, help: ArgumentHelp("Trace only pods of this Kubernetes namespace (repeatable).", valueName: "namespace"))
    public var namespace: [String] = []

    /// What `--container`, `--pod` and `--namespace` select.
    public var workloads: WorkloadSelector { WorkloadSelector(containers: container, pods: pod, namespaces: namespace) }

    public init() {}

    public mutating func validate() throws {
        if let btf, access(btf, R_OK) != 0 { throw ValidationError("--btf \(btf): \(String(cString: strerror(errno)))") }
        if let pid, pid <= 0 { throw ValidationError("PID must be positive, got \(pid)") }
        if let tid, tid <= 0 { throw ValidationError("TID must be positive, got \(tid)") }
        if let pid, kill(pid, 0) != 0 && errno == ESRCH { throw ValidationError("no process with PID \(pid)") }
        if let comm {
            if comm.isEmpty { throw ValidationError("--comm needs a name") }
            if comm.utf8.count >= Int(TASK_COMM_LEN) {
                throw ValidationError("--comm '\(comm)' is longer than the kernel's 15-byte command names")
            }
        }
        if let uid, resolvedUID == nil { throw ValidationError("no user '\(uid)' (give a UID or a user name)") }
        if let cgroup {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: cgroup, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--cgroup \(cgroup): no such cgroup directory")
            }
        }
        for p in pod where p.isEmpty || p.hasPrefix("/") || p.hasSuffix("/") || p.split(separator: "/").count > 2 {
            throw ValidationError("--pod '\(p)': give NAMESPACE/NAME, or NAME")
        }
        if container.contains(where: \.isEmpty) || namespace.contains(where: \.isEmpty) {
            throw ValidationError("--container and --namespace need a value")
        }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be a positive number of seconds") }
        if bufferSize < 4 || bufferSize.nonzeroBitCount != 1 || bufferSize > 1 << 20 {
            throw ValidationError("--buffer-size must be a power of two from 4 to 1048576 KiB, got \(bufferSize)")
        }
    }

    var resolvedUID: UInt32? {
        guard let uid else { return nil }
        if let n = UInt32(uid), n != UInt32.max { return n }
        guard let pw = getpwnam(uid) else { return nil }
        return pw.pointee.pw_uid
    }

    /// The kernel-side filter these flags describe.
    public var filter: trace_filter {
        var f = trace_filter()
        f.pid = UInt32(pid ?? 0)
        f.tid = UInt32(tid ?? 0)
        f.uid = resolvedUID ?? UInt32.max
        f.failed_only = failed ? 1 : 0
        f.use_cgroup = cgroup == nil ? 0 : 1
        f.use_workloads = workloads.isEmpty ? 0 : 1
        f.ns_pids = containerPIDs ? 1 : 0
        if let comm {
            f.use_comm = 1
            withUnsafeMutableBytes(of: &f.comm) { raw in
                for (i, b) in comm.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
            }
        }
        return f
    }

    /// The ring buffer size in bytes.
    public var bufferBytes: UInt32 { bufferSize * 1024 }

    /// Points the probe's `cgroup_filter` map at `--cgroup`, after load.
    public func applyCgroup(to map: Map) throws(BPFError) {
        guard let cgroup else { return }
        let fd = open(cgroup, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else {
            throw BPFError(.notFound, "cannot open cgroup \(cgroup): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try map.typed(UInt32.self, UInt32.self).update(0, UInt32(bitPattern: fd))
    }
}
