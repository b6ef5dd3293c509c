// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Containers
import SwiftBPF

/// The container filter (`--container`, `--pod`, `--namespace`): decides,
/// per cgroup ID, whether its tasks are traced, and tells the kernel
/// (`cgroup_verdicts` in swiftbpf.bpf.h), so decided cgroups are filtered
/// there. Every cgroup that exists at start is decided before attaching.
/// Used from the session's queue after set-up.
@usableFromInline
final class WorkloadGate: @unchecked Sendable {
    let directory: ContainerDirectory
    let selector: WorkloadSelector
    /// The probe counts only decided cgroups (tools that count in the kernel).
    let decidedOnly: Bool
    private var decided: [UInt64: Bool] = [:]
    private var verdicts: TypedMap<UInt64, UInt8>?

    /// Decides every cgroup of the node now. A `--container` that no
    /// runtime on the node knows (running or stopped), or a `--pod` or
    /// `--namespace` that no running pod has, is a usage error that lists
    /// what there is; a known container that starts later is traced.
    init(directory: ContainerDirectory, selector: WorkloadSelector, decidedOnly: Bool) throws {
        self.directory = directory
        self.selector = selector
        self.decidedOnly = decidedOnly
        let all = directory.all()
        for (id, _, workload) in all { decided[id] = selector.matches(workload) }
        // A container the runtime knows but has not started may start later.
        let stopped = selector.pods.isEmpty && selector.namespaces.isEmpty
            && directory.state.knownContainers().contains { selector.matches(Workload(container: $0)) }
        guard decided.values.contains(true) || stopped else {
            let containers = Set(all.compactMap { $0.workload.container.map { $0.name ?? $0.shortID } }).sorted()
            let pods = Set(all.compactMap { w in w.workload.pod?.name.map { "\(w.workload.pod?.namespace ?? "?")/\($0)" } }).sorted()
            var known = containers.isEmpty ? "no containers found on this node" : "containers: " + containers.joined(separator: ", ")
            if !pods.isEmpty { known += "; pods: " + pods.joined(separator: ", ") }
            throw ValidationError("no container or pod matches \(selector.description) (\(known))")
        }
    }

    /// Writes every decision into the probe's map, after load.
    func share(with map: Map) throws(BPFError) {
        let typed = try map.typed(UInt64.self, UInt8.self)
        for (id, selected) in decided { try typed.update(id, selected ? 1 : 0) }
        verdicts = typed
    }

    /// Whether an event of this cgroup is shown, deciding it (and telling
    /// the kernel) the first time.
    @usableFromInline
    func admits(cgroup id: UInt64) -> Bool {
        if let known = decided[id] { return known }
        return decide(id, directory.workload(ofCgroup: id))
    }

    /// Decides the cgroups made since the last look (tools that count in
    /// the kernel, which leaves undecided cgroups out).
    func decideNewCgroups() {
        for (id, _, workload) in directory.all() where decided[id] == nil { _ = decide(id, workload) }
    }

    private func decide(_ id: UInt64, _ workload: Workload) -> Bool {
        let selected = selector.matches(workload)
        // A container its runtime has not named yet may still match by
        // name: leave it undecided, to be asked again.
        if !selected, !selector.containers.isEmpty, let c = workload.container, c.name == nil { return false }
        // The kernel's map forgets least recently used entries; so does this.
        if decided.count >= 65_536 { decided.removeAll(keepingCapacity: true) }
        decided[id] = selected
        try? verdicts?.update(id, selected ? 1 : 0)
        return selected
    }
}
