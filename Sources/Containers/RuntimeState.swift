// SPDX-License-Identifier: BSD-2-Clause
import Foundation

/// Names for containers and pods, read from the runtimes' own state on the
/// node, with no API client: the OCI bundles' `config.json` (containerd,
/// CRI-O), podman's and docker's container records. `root` is where the
/// node's filesystem is (`/`, or where a DaemonSet mounts it).
public struct RuntimeState: Sendable {
    public var root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? root : root + "/"
    }

    /// The workload of the cgroup at `path` (from the hierarchy's root).
    ///
    /// A cgroup path is only a claim: a workload that can write its own
    /// cgroupfs can make a sub-cgroup named like any container or pod. So
    /// the claim is taken from the outermost directories only, and a
    /// container is named (its name, its pod's name and namespace) only
    /// when the runtime's own record of that container's cgroup, the
    /// `linux.cgroupsPath` of its OCI bundle, is the path's directory. A
    /// path whose container no runtime records there (elsewhere, or not
    /// at all) is attributed to nothing: not even its ID is taken from the
    /// path. A pod's own cgroup (no container) keeps the pod's UID from
    /// the path, with no names.
    public func workload(ofPath path: String) -> Workload {
        let (claimed, scope) = CgroupLayout.workloadAndScope(ofPath: path)
        guard let container = claimed.container else { return claimed }
        guard let recorded = recordedCgroup(of: container.id), recorded == scope else { return Workload() }
        return named(claimed)
    }

    /// Where the runtime put the container's cgroup, from the OCI bundle it
    /// gave runc: `/a/b/c` (cgroupfs driver) or `slice:prefix:name`
    /// (systemd driver, `/a.slice/a-b.slice/prefix-name.scope`). Bundles:
    /// podman's and CRI-O's (containers/storage), containerd's (per
    /// namespace, docker's `moby` among them), docker's own containerd's.
    public func recordedCgroup(of id: String) -> String? {
        guard CgroupLayout.isContainerID(Substring(id)) else { return nil }
        var candidates = [
            "var/lib/containers/storage/overlay-containers/\(id)/userdata/config.json",
            "run/containers/storage/overlay-containers/\(id)/userdata/config.json",
        ]
        for tasks in ["run/containerd/io.containerd.runtime.v2.task", "run/docker/containerd/daemon/io.containerd.runtime.v2.task"] {
            for namespace in (try? FileManager.default.contentsOfDirectory(atPath: root + tasks)) ?? [] {
                candidates.append("\(tasks)/\(namespace)/\(id)/config.json")
            }
        }
        for path in candidates {
            guard let json = readJSON(path) as? [String: Any], let linux = json["linux"] as? [String: Any],
                  let cgroupsPath = linux["cgroupsPath"] as? String else { continue }
            return Self.cgroupPath(ociCgroupsPath: cgroupsPath)
        }
        return nil
    }

    /// An OCI `linux.cgroupsPath` as a path in the hierarchy, as runc reads
    /// it; nil for a form it would refuse.
    public static func cgroupPath(ociCgroupsPath s: String) -> String? {
        if s.hasPrefix("/") {
            let parts = s.split(separator: "/")
            guard !parts.contains(where: { $0 == "." || $0 == ".." }) else { return nil }
            return "/" + parts.joined(separator: "/")
        }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[2].isEmpty, !parts.contains(where: { $0.contains("/") }) else { return nil }
        let slice = parts[0].isEmpty ? "system.slice" : parts[0]
        guard slice.hasSuffix(".slice") else { return nil }
        // systemd nests a-b-c.slice in a.slice/a-b.slice; -.slice is the root.
        var path = ""
        let base = slice.dropLast(".slice".count)
        if base != "-" {
            var prefix = ""
            for word in base.split(separator: "-", omittingEmptySubsequences: false) {
                guard !word.isEmpty else { return nil }
                prefix += prefix.isEmpty ? word : "-" + word
                path += "/" + prefix + ".slice"
            }
        }
        let name = parts[2]
        let unit = name.hasSuffix(".slice") ? String(name) : (parts[1].isEmpty ? "\(name).scope" : "\(parts[1])-\(name).scope")
        return path + "/" + unit
    }

    /// Fills in the names `workload`'s container and pod have in the
    /// runtime's state, and a bare kubelet layout's runtime. It trusts the
    /// workload: `workload(ofPath:)` checks a cgroup path first.
    public func named(_ workload: Workload) -> Workload {
        guard var container = workload.container else { return workload }
        var pod = workload.pod
        let annotations = bundleAnnotations(container)
        if let annotations {
            if container.runtime == .cri { container.runtime = annotations.runtime }
            container.name = annotations.containerName ?? container.name
            if pod != nil || annotations.podName != nil {
                var p = pod ?? Pod(uid: annotations.podUID ?? "")
                p.name = annotations.podName ?? p.name
                p.namespace = annotations.podNamespace ?? p.namespace
                if p.uid.isEmpty, let uid = annotations.podUID { p.uid = uid }
                pod = p
            }
        }
        if container.name == nil {
            switch container.runtime {
            case .podman: container.name = podmanName(container.id)
            case .docker: container.name = dockerName(container.id)
            default: break
            }
        }
        return Workload(container: container, pod: pod)
    }

    struct Annotations {
        var runtime: Container.Runtime
        var containerName: String?
        var podName: String?
        var podNamespace: String?
        var podUID: String?
    }

    /// The CRI annotations in the container's OCI bundle: containerd's
    /// (`io.kubernetes.cri.*`) or CRI-O's (`io.kubernetes.pod.*`,
    /// `io.kubernetes.container.name`).
    func bundleAnnotations(_ c: Container) -> Annotations? {
        var candidates: [(String, Container.Runtime)] = [
            ("run/containers/storage/overlay-containers/\(c.id)/userdata/config.json", .crio),
        ]
        let tasks = "run/containerd/io.containerd.runtime.v2.task"
        for namespace in (try? FileManager.default.contentsOfDirectory(atPath: root + tasks)) ?? [] {
            candidates.append(("\(tasks)/\(namespace)/\(c.id)/config.json", .containerd))
        }
        for (path, runtime) in candidates {
            guard let json = readJSON(path) as? [String: Any], let a = json["annotations"] as? [String: String] else { continue }
            if a["io.container.manager"] == "libpod" { return nil }  // podman's bundle: names are in its records
            // Each runtime's own keys only: CRI-O copies a pod's own
            // annotations into its bundles, so a tenant can write
            // containerd's keys there.
            switch runtime {
            case .crio:
                return Annotations(runtime: runtime, containerName: a["io.kubernetes.container.name"],
                                   podName: a["io.kubernetes.pod.name"], podNamespace: a["io.kubernetes.pod.namespace"],
                                   podUID: a["io.kubernetes.pod.uid"])
            default:
                return Annotations(runtime: runtime, containerName: a["io.kubernetes.cri.container-name"],
                                   podName: a["io.kubernetes.cri.sandbox-name"], podNamespace: a["io.kubernetes.cri.sandbox-namespace"],
                                   podUID: a["io.kubernetes.cri.sandbox-uid"])
            }
        }
        return nil
    }

    /// Every container the runtimes' records on the node know, running or
    /// not (podman's and docker's keep stopped ones; a CRI runtime's OCI
    /// bundles exist while the container runs), with what names they have.
    public func knownContainers() -> [Container] {
        var out: [Container] = []
        for entry in readJSON("var/lib/containers/storage/overlay-containers/containers.json") as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? String else { continue }
            out.append(Container(runtime: .podman, id: id, name: (entry["names"] as? [String])?.first))
        }
        for id in (try? FileManager.default.contentsOfDirectory(atPath: root + "var/lib/docker/containers")) ?? [] {
            out.append(Container(runtime: .docker, id: id, name: dockerName(id)))
        }
        let tasks = "run/containerd/io.containerd.runtime.v2.task"
        var bundles: [String] = []
        for namespace in (try? FileManager.default.contentsOfDirectory(atPath: root + tasks)) ?? [] {
            bundles += (try? FileManager.default.contentsOfDirectory(atPath: root + tasks + "/" + namespace)) ?? []
        }
        bundles += (try? FileManager.default.contentsOfDirectory(atPath: root + "run/containers/storage/overlay-containers")) ?? []
        for id in bundles where CgroupLayout.isContainerID(Substring(id)) && !out.contains(where: { $0.id == id }) {
            let probe = Container(runtime: .cri, id: id)
            guard let a = bundleAnnotations(probe) else { continue }
            out.append(Container(runtime: a.runtime, id: id, name: a.containerName))
        }
        return out
    }

    /// Rootful podman's container records (containers/storage).
    func podmanName(_ id: String) -> String? {
        guard let list = readJSON("var/lib/containers/storage/overlay-containers/containers.json") as? [[String: Any]] else { return nil }
        let entry = list.first { $0["id"] as? String == id }
        return (entry?["names"] as? [String])?.first
    }

    /// Docker's record of the container (`"Name": "/web"`).
    func dockerName(_ id: String) -> String? {
        guard let json = readJSON("var/lib/docker/containers/\(id)/config.v2.json") as? [String: Any],
              let name = json["Name"] as? String else { return nil }
        return name.hasPrefix("/") ? String(name.dropFirst()) : name
    }

    func readJSON(_ path: String) -> Any? {
        guard let data = FileManager.default.contents(atPath: root + path) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }
}
