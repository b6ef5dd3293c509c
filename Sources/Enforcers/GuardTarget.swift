// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Containers
import Foundation
import BPFProbes
import ToolSupport

/// Where an enforcer goes: a container's cgroup, a pod's, or a cgroup v2
/// directory (`--container`, `--pod [--namespace]`, `--cgroup`); for the
/// ones that may guard the whole host, none of them.
public struct GuardTarget: ParsableArguments {
    public init() {}

    @Option(name: .long, help: ArgumentHelp("The container, by name or ID (a running one).", valueName: "name|id"))
    public var container: String?

    @Option(name: .long, help: ArgumentHelp("The Kubernetes pod, by name (or namespace/name).", valueName: "name"))
    public var pod: String?

    @Option(name: .long, help: ArgumentHelp("The pod's namespace.", valueName: "namespace"))
    public var namespace: String?

    @Option(name: .long, help: ArgumentHelp("A cgroup v2 directory (a path under the hierarchy, or relative to its root).", valueName: "path"))
    public var cgroup: String?

    public func validate() throws {
        let given = [container != nil, pod != nil, cgroup != nil].filter { $0 }.count
        guard given <= 1 else { throw ValidationError("say which workload: one of --container, --pod or --cgroup") }
        if namespace != nil && pod == nil { throw ValidationError("--namespace goes with --pod") }
    }

    /// Whether a workload was named (else: the whole host, where allowed).
    public var isGiven: Bool { container != nil || pod != nil || cgroup != nil }

    /// For the tools that need one: a usage error without it.
    public func requireGiven() throws {
        guard isGiven else { throw ValidationError("say which workload: one of --container, --pod or --cgroup") }
    }

    /// The cgroup v2 directory, as a path under the hierarchy and as the
    /// user knows it.
    public struct Resolved: Sendable {
        public var directory: String
        public var description: String
    }

    public func resolve() throws -> Resolved {
        let hierarchy: CgroupHierarchy
        do {
            hierarchy = try CgroupHierarchy(mountPoint: ProcessInfo.processInfo.environment["SWIFTBPF_CGROUP_MOUNT"])
        } catch {
            throw ValidationError("\(error); egressguard attaches to a cgroup v2 directory (Linux 4.10+ with cgroup2 mounted)")
        }
        if let cgroup {
            let full = cgroup.hasPrefix(hierarchy.mountPoint + "/") || cgroup == hierarchy.mountPoint ? cgroup : hierarchy.mountPoint + (cgroup.hasPrefix("/") ? cgroup : "/" + cgroup)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--cgroup \(cgroup): no such cgroup v2 directory under \(hierarchy.mountPoint)")
            }
            return Resolved(directory: full, description: "cgroup \(String(full.dropFirst(hierarchy.mountPoint.count)).isEmpty ? "/" : String(full.dropFirst(hierarchy.mountPoint.count)))")
        }
        let selector: WorkloadSelector
        let asked: String
        if let container {
            selector = WorkloadSelector(containers: [container])
            asked = "--container \(container)"
        } else {
            let pod = self.pod ?? ""
            let name = namespace.map { "\($0)/\(pod)" } ?? pod
            selector = WorkloadSelector(pods: [name])
            asked = "--pod \(name)"
        }
        let directory = ContainerDirectory(hierarchy: hierarchy, state: RuntimeState(root: ProcessInfo.processInfo.environment["SWIFTBPF_HOST_ROOT"] ?? "/"))
        let all = directory.all()
        let matched = all.filter { selector.matches($0.workload) }
        // The topmost cgroups of what matched (a container may have
        // sub-cgroups; a pod's containers are below the pod's).
        let top = matched.filter { m in !matched.contains { other in other.path != m.path && m.path.hasPrefix(other.path + "/") } }
        guard let first = top.first else {
            let running = Set(all.compactMap { $0.workload.container.map { $0.name ?? $0.shortID } }).sorted()
            throw ValidationError("no running container or pod matches \(asked)" + (running.isEmpty ? " (no containers are running)" : " (running: \(running.prefix(10).joined(separator: ", ")))"))
        }
        guard top.count == 1 else {
            throw ValidationError("\(asked) matches \(top.count) cgroups (\(top.map(\.path).prefix(4).joined(separator: ", "))); name one, or use --cgroup")
        }
        // Named as found (a pod asked for by name alone says its namespace).
        let found = first.workload
        let description = container != nil ? "container \(found.container?.name ?? container!)"
            : "pod \(found.pod.map { "\($0.namespace ?? "?")/\($0.name ?? "?")" } ?? asked)"
        return Resolved(directory: hierarchy.mountPoint + first.path, description: description)
    }
}

