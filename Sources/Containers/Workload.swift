// SPDX-License-Identifier: BSD-2-Clause

/// A Kubernetes pod, as far as this node can tell.
public struct Pod: Sendable, Hashable {
    /// The pod's UID, from its cgroup (`kubepods-...-pod<uid>.slice`).
    public var uid: String
    /// From the runtime's state on the node; nil when it has none.
    public var name: String?
    public var namespace: String?

    public init(uid: String, name: String? = nil, namespace: String? = nil) {
        self.uid = uid
        self.name = name
        self.namespace = namespace
    }
}

/// A container, named from its cgroup and its runtime's state on the node.
public struct Container: Sendable, Hashable {
    /// OpenTelemetry's `container.runtime` values.
    public enum Runtime: String, Sendable {
        case podman, docker, containerd, crio = "cri-o"
        /// A kubelet cgroupfs layout whose runtime no state file names.
        case cri
    }

    public var runtime: Runtime
    /// The full ID (64 hex digits).
    public var id: String
    /// The container's name (for Kubernetes, the container's name in its
    /// pod); nil when the runtime's state does not say.
    public var name: String?

    public init(runtime: Runtime, id: String, name: String? = nil) {
        self.runtime = runtime
        self.id = id
        self.name = name
    }

    /// The 12-digit ID that `docker ps` and `podman ps` show.
    public var shortID: String { String(id.prefix(12)) }
}

/// What a cgroup belongs to: a container, a pod, both, or neither (a
/// host service, a user session).
public struct Workload: Sendable, Hashable {
    public var container: Container?
    public var pod: Pod?

    public init(container: Container? = nil, pod: Pod? = nil) {
        self.container = container
        self.pod = pod
    }

    public var isEmpty: Bool { container == nil && pod == nil }
}

/// The container and pod a cgroup path names, by the layouts that real
/// runtimes and the kubelet create:
/// - podman: `libpod-<id>` (cgroupfs) or `libpod-<id>.scope` (systemd);
/// - docker: `docker-<id>.scope`, or `/docker/<id>` with cgroupfs;
/// - containerd (CRI): `cri-containerd-<id>.scope`;
/// - CRI-O: `crio-<id>.scope` or `crio-<id>`;
/// - the kubelet's pods: `kubepods[-burstable|-besteffort]-pod<uid>.slice`
///   (systemd driver), or `/kubepods[/burstable|/besteffort]/pod<uid>/<id>`
///   (cgroupfs driver, where the container's directory is its bare ID).
/// Conmon's own cgroups (`libpod-conmon-…`, `crio-conmon-…`) are not the
/// container.
///
/// The outermost match wins, and nothing below a container is read: a
/// container may make sub-cgroups and name them as it likes (one named
/// like another container's, or like a pod), so only the runtime's
/// directories above it are trusted. This is what the path *claims*;
/// `RuntimeState.workload(ofPath:)` checks the claim against the
/// runtime's record of the container's cgroup.
public enum CgroupLayout {
    public static func workload(ofPath path: String) -> Workload {
        workloadAndScope(ofPath: path).workload
    }

    /// The claim, and the path of the cgroup that makes it (the
    /// container's directory, or the pod's when there is no container).
    static func workloadAndScope(ofPath path: String) -> (workload: Workload, scope: String) {
        var result = Workload()
        var previous: Substring = ""
        var underKubepods = false
        var walked = ""
        var scope = ""
        for component in path.split(separator: "/") {
            walked += "/" + component
            if component == "kubepods" || component.hasPrefix("kubepods.") || component.hasPrefix("kubepods-") { underKubepods = true }
            if result.pod == nil, let uid = podUID(component, underKubepods: underKubepods) {
                result.pod = Pod(uid: uid)
                scope = walked
            } else if let container = container(component, parent: previous, underKubepods: underKubepods, inPod: result.pod != nil) {
                result.container = container
                return (result, walked)
            }
            previous = component
        }
        return (result, scope)
    }

    static func podUID(_ c: Substring, underKubepods: Bool) -> String? {
        guard underKubepods else { return nil }
        var name = c
        if name.hasSuffix(".slice") {
            // kubepods-burstable-pod<uid with _ for ->.slice
            name = name.dropLast(".slice".count)
            guard let range = name.range(of: "-pod", options: .backwards) else { return nil }
            let uid = name[range.upperBound...].replacingOccurrences(of: "_", with: "-")
            return isUID(uid) ? uid : nil
        }
        guard name.hasPrefix("pod") else { return nil }
        let uid = String(name.dropFirst(3))
        return isUID(uid) ? uid : nil
    }

    static func container(_ c: Substring, parent: Substring, underKubepods: Bool, inPod: Bool) -> Container? {
        let patterns: [(prefix: String, runtime: Container.Runtime)] = [
            ("libpod-", .podman), ("docker-", .docker), ("cri-containerd-", .containerd), ("crio-", .crio),
        ]
        for p in patterns where c.hasPrefix(p.prefix) {
            var id = c.dropFirst(p.prefix.count)
            if id.hasSuffix(".scope") { id = id.dropLast(".scope".count) }
            if isContainerID(id) { return Container(runtime: p.runtime, id: String(id)) }
        }
        if isContainerID(c) {
            if parent == "docker" { return Container(runtime: .docker, id: String(c)) }
            if underKubepods && inPod { return Container(runtime: .cri, id: String(c)) }
        }
        return nil
    }

    static func isContainerID(_ s: Substring) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// 8-4-4-4-12 hex digits.
    static func isUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12]
            && parts.allSatisfy { $0.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) } }
    }
}
