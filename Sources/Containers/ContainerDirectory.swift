// SPDX-License-Identifier: BSD-2-Clause
import Foundation

/// cgroup ID → the workload it belongs to, cached. A miss asks the kernel
/// for the cgroup's path and the runtimes' state for names; a container
/// whose runtime has not written its record yet is asked again after a
/// second. Safe to use from any thread.
public final class ContainerDirectory: @unchecked Sendable {
    public let hierarchy: CgroupHierarchy
    public let state: RuntimeState
    /// Entries kept at most; past it the cache starts again (a node that
    /// churns through containers must not grow the tool without bound).
    public let capacity: Int

    struct Entry {
        var workload: Workload
        var path: String?
        /// When an unnamed container should be looked up again.
        var retryAt: UInt64
    }

    private let lock = NSLock()
    private var entries: [UInt64: Entry] = [:]

    public init(hierarchy: CgroupHierarchy, state: RuntimeState, capacity: Int = 65_536) {
        self.hierarchy = hierarchy
        self.state = state
        self.capacity = capacity
    }

    /// The node's hierarchy, with the runtimes' state under
    /// `$SWIFTBPF_HOST_ROOT` (default `/`; a DaemonSet mounts the node's
    /// state elsewhere) and the node's cgroup v2 hierarchy at
    /// `$SWIFTBPF_CGROUP_MOUNT` when set (a pod in a cgroup namespace of
    /// its own sees the node's hierarchy only where it mounts it).
    public static func forThisNode() throws(CgroupHierarchy.Failure) -> ContainerDirectory {
        let env = ProcessInfo.processInfo.environment
        return ContainerDirectory(hierarchy: try CgroupHierarchy(mountPoint: env["SWIFTBPF_CGROUP_MOUNT"]),
                                  state: RuntimeState(root: env["SWIFTBPF_HOST_ROOT"] ?? "/"))
    }

    /// The workload of the cgroup with this ID (empty for a host cgroup,
    /// or one that no longer exists).
    public func workload(ofCgroup id: UInt64) -> Workload {
        // Called for every event: the clock is read only for an entry
        // waiting to be asked again.
        lock.lock()
        let cached = entries[id]
        lock.unlock()
        if let cached, cached.retryAt == 0 || cached.retryAt > Self.now() { return cached.workload }
        let entry = resolve(path: cached?.path ?? hierarchy.path(of: id), now: Self.now())
        store(entry, for: id)
        return entry.workload
    }

    /// Learns a cgroup from its path (as the `cgroup_mkdir` tracepoint
    /// gives it), so it can be named even after it is gone.
    public func learn(cgroup id: UInt64, path: String) {
        store(resolve(path: path, now: Self.now()), for: id)
    }

    /// Caches an entry; a full cache starts again.
    private func store(_ entry: Entry, for id: UInt64) {
        lock.lock()
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[id] = entry
        lock.unlock()
    }

    /// Drops what is cached for a cgroup (it was removed).
    public func forget(cgroup id: UInt64) {
        lock.lock()
        entries[id] = nil
        lock.unlock()
    }

    /// Every cgroup now, with its workload; fills the cache.
    public func all() -> [(id: UInt64, path: String, workload: Workload)] {
        let now = Self.now()
        let found = hierarchy.all().map { ($0.id, $0.path, resolve(path: $0.path, now: now)) }
        lock.lock()
        for (id, _, entry) in found where entries.count < capacity { entries[id] = entry }
        lock.unlock()
        return found.map { ($0.0, $0.1, $0.2.workload) }
    }

    func resolve(path: String?, now: UInt64) -> Entry {
        guard let path else { return Entry(workload: Workload(), path: nil, retryAt: 0) }
        let workload = state.workload(ofPath: path)
        // Asked again later: a container not named yet, or a path that
        // claims a container no record confirms yet (a runtime writes its
        // record first, but a tool may look in between).
        let claimed = CgroupLayout.workload(ofPath: path).container != nil
        let unsettled = workload.container.map { $0.name == nil } ?? claimed
        return Entry(workload: workload, path: path, retryAt: unsettled ? now + 1_000_000_000 : 0)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Which workloads the `--container`, `--pod` and `--namespace` flags
/// select: any of the containers, any of the pods, any of the namespaces;
/// the kinds given must all match.
public struct WorkloadSelector: Sendable, Hashable {
    /// Container names or IDs (a prefix of 4 or more hex digits will do).
    public var containers: [String]
    /// Pods as `NAMESPACE/NAME`, or `NAME` in any namespace.
    public var pods: [String]
    public var namespaces: [String]

    public init(containers: [String] = [], pods: [String] = [], namespaces: [String] = []) {
        self.containers = containers
        self.pods = pods
        self.namespaces = namespaces
    }

    public var isEmpty: Bool { containers.isEmpty && pods.isEmpty && namespaces.isEmpty }

    public func matches(_ w: Workload) -> Bool {
        if isEmpty { return true }
        if !containers.isEmpty {
            guard let c = w.container else { return false }
            let hit = containers.contains { want in
                c.name == want || c.id == want || (want.utf8.count >= 4 && c.id.hasPrefix(want))
            }
            if !hit { return false }
        }
        if !pods.isEmpty {
            guard let p = w.pod, let name = p.name else { return false }
            let hit = pods.contains { want in
                if let slash = want.firstIndex(of: "/") {
                    return p.namespace == String(want[..<slash]) && name == String(want[want.index(after: slash)...])
                }
                return name == want
            }
            if !hit { return false }
        }
        if !namespaces.isEmpty {
            guard let ns = w.pod?.namespace, namespaces.contains(ns) else { return false }
        }
        return true
    }

    /// What the flags asked for, for messages: `--container web --pod default/api`.
    public var description: String {
        (containers.map { "--container \($0)" } + pods.map { "--pod \($0)" } + namespaces.map { "--namespace \($0)" })
            .joined(separator: " ")
    }
}
