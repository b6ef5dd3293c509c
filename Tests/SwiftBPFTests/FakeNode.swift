// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import TestSupport

/// A node's Kubernetes state, made by hand: cgroup directories named
/// as the kubelet and the runtime name them, and each container's
/// OCI bundle `config.json` where its runtime keeps it.
final class FakeNode {
    let root: String
    let hierarchy: CgroupHierarchy
    private var made: [String] = []

    init() throws {
        root = try TestEnvironment.temporaryDirectory()
        hierarchy = try CgroupHierarchy()
    }

    enum Runtime { case containerdSystemd, crioCgroupfs }

    /// Makes a pod with one container; returns the container's cgroup path.
    func pod(_ runtime: Runtime, namespace: String, name: String, container: String) throws -> (path: String, id: String, uid: String) {
        let uid = UUID().uuidString.lowercased()
        let id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        let dirs: [String], bundle: String, cgroupsPath: String, annotations: [String: String]
        switch runtime {
        case .containerdSystemd:
            let slice = "kubepods-burstable-pod\(uid.replacingOccurrences(of: "-", with: "_")).slice"
            dirs = ["/kubepods.slice", "/kubepods.slice/kubepods-burstable.slice",
                    "/kubepods.slice/kubepods-burstable.slice/\(slice)",
                    "/kubepods.slice/kubepods-burstable.slice/\(slice)/cri-containerd-\(id).scope"]
            bundle = "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)/config.json"
            cgroupsPath = "\(slice):cri-containerd:\(id)"
            annotations = ["io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": container,
                           "io.kubernetes.cri.sandbox-name": name, "io.kubernetes.cri.sandbox-namespace": namespace,
                           "io.kubernetes.cri.sandbox-uid": uid]
        case .crioCgroupfs:
            dirs = ["/kubepods", "/kubepods/besteffort", "/kubepods/besteffort/pod\(uid)",
                    "/kubepods/besteffort/pod\(uid)/crio-\(id)"]
            bundle = "run/containers/storage/overlay-containers/\(id)/userdata/config.json"
            cgroupsPath = dirs.last!
            annotations = ["io.kubernetes.container.name": container, "io.kubernetes.pod.name": name,
                           "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid]
        }
        // The runtime writes the bundle before it makes the cgroup.
        let url = URL(fileURLWithPath: root + "/" + bundle)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: ["ociVersion": "1.0.2", "annotations": annotations,
                                                      "linux": ["cgroupsPath": cgroupsPath]]).write(to: url)
        for dir in dirs where mkdir(hierarchy.mountPoint + dir, 0o755) == 0 { made.append(dir) }
        return (dirs.last!, id, uid)
    }

    /// A podman-style container cgroup whose runtime record gives no name
    /// (so it is known by its short ID only), made now and removed by
    /// `remove`.
    func bareContainer() -> String {
        let id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        let path = "/libpod-\(id)"
        let record = URL(fileURLWithPath: root + "/var/lib/containers/storage/overlay-containers/\(id)/userdata/config.json")
        guard (try? FileManager.default.createDirectory(at: record.deletingLastPathComponent(), withIntermediateDirectories: true)) != nil,
              (try? JSONSerialization.data(withJSONObject: ["linux": ["cgroupsPath": path]]).write(to: record)) != nil else { return "" }
        guard mkdir(hierarchy.mountPoint + path, 0o755) == 0 else { return "" }
        made.append(path)
        return path
    }

    /// Makes `path` and any directory above it that is missing, as a
    /// tenant with a writable cgroupfs can below its own cgroup.
    func plant(_ path: String) throws {
        var walked = ""
        for component in path.split(separator: "/") {
            walked += "/" + component
            if mkdir(hierarchy.mountPoint + walked, 0o755) == 0 { made.append(walked) }
        }
        var info = stat()
        guard stat(hierarchy.mountPoint + path, &info) == 0 else { throw POSIXError(.ENOENT) }
    }

    func remove(_ path: String) -> Bool {
        guard rmdir(hierarchy.mountPoint + path) == 0 else { return false }
        made.removeAll { $0 == path }
        return true
    }

    func move(_ pid: Int32, to path: String) throws {
        try "\(pid)".write(toFile: hierarchy.mountPoint + path + "/cgroup.procs", atomically: false, encoding: .utf8)
    }

    deinit {
        for dir in made.reversed() { rmdir(hierarchy.mountPoint + dir) }
    }
}
