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

    /// Fills in the names `workload`'s container and pod have in the
    /// runtime's state, and a bare kubelet layout's runtime.
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
            return Annotations(
                runtime: runtime,
                containerName: a["io.kubernetes.cri.container-name"] ?? a["io.kubernetes.container.name"],
                podName: a["io.kubernetes.cri.sandbox-name"] ?? a["io.kubernetes.pod.name"],
                podNamespace: a["io.kubernetes.cri.sandbox-namespace"] ?? a["io.kubernetes.pod.namespace"],
                podUID: a["io.kubernetes.cri.sandbox-uid"] ?? a["io.kubernetes.pod.uid"])
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
