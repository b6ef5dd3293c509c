// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import TestSupport
import Testing

/// Container and pod attribution from cgroup paths and runtime state, as
/// the runtimes and the kubelet lay them out (no privileges needed).
@Suite struct ContainerLayout {
    static let id = String(repeating: "ab12", count: 16)
    static let uid = "5f1c8a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
    static let slicedUID = uid.replacingOccurrences(of: "-", with: "_")

    @Test(arguments: [
        ("/libpod_parent/libpod-\(id)", Container.Runtime.podman),
        ("/machine.slice/libpod-\(id).scope", .podman),
        ("/machine.slice/libpod-\(id).scope/container", .podman),
        ("/system.slice/docker-\(id).scope", .docker),
        ("/docker/\(id)", .docker),
        ("/system.slice/crio-\(id).scope", .crio),
    ])
    func runtimesOutsideKubernetes(path: String, runtime: Container.Runtime) {
        let w = CgroupLayout.workload(ofPath: path)
        #expect(w.container == Container(runtime: runtime, id: Self.id))
        #expect(w.pod == nil)
    }

    @Test(arguments: [
        // systemd driver: burstable, besteffort, guaranteed
        ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(slicedUID).slice/cri-containerd-\(id).scope", Container.Runtime.containerd),
        ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(slicedUID).slice/crio-\(id).scope", .crio),
        ("/kubepods.slice/kubepods-pod\(slicedUID).slice/cri-containerd-\(id).scope", .containerd),
        // cgroupfs driver: the container's directory is its bare ID
        ("/kubepods/burstable/pod\(uid)/\(id)", .cri),
        ("/kubepods/pod\(uid)/\(id)", .cri),
        ("/kubepods/besteffort/pod\(uid)/crio-\(id)", .crio),
    ])
    func kubeletLayouts(path: String, runtime: Container.Runtime) {
        let w = CgroupLayout.workload(ofPath: path)
        #expect(w.container == Container(runtime: runtime, id: Self.id), "\(path)")
        #expect(w.pod == Pod(uid: Self.uid), "\(path)")
    }

    @Test(arguments: [
        "/", "/system.slice/ssh.service", "/user.slice/user-1000.slice/session-2.scope",
        "/libpod_parent/libpod-conmon-\(id)", "/system.slice/crio-conmon-\(id).scope",
        "/libpod_parent/libpod-\(id.dropLast())", "/docker/\(id.uppercased())",
        "/kubepods/burstable/podnot-a-uid/\(id)", "/elsewhere/pod\(uid)/\(id)",
    ])
    func notContainers(path: String) {
        let w = CgroupLayout.workload(ofPath: path)
        #expect(w.container == nil, "\(path)")
        #expect(w.pod == nil, "\(path)")
    }

    @Test func podSliceAloneIsAPod() {
        let w = CgroupLayout.workload(ofPath: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.slicedUID).slice")
        #expect(w.pod == Pod(uid: Self.uid) && w.container == nil)
    }

    /// A node root with the runtimes' state files, as they write them.
    static func node(_ files: [String: Any]) throws -> RuntimeState {
        let root = try TestEnvironment.temporaryDirectory()
        for (path, json) in files {
            let url = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }
        return RuntimeState(root: root)
    }

    @Test func containerdBundleNamesContainerAndPod() throws {
        let state = try Self.node([
            "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(Self.id)/config.json": ["ociVersion": "1.0.2", "annotations": [
                "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": "cart",
                "io.kubernetes.cri.sandbox-name": "cart-7d9f", "io.kubernetes.cri.sandbox-namespace": "shop",
                "io.kubernetes.cri.sandbox-uid": Self.uid,
            ], "linux": ["cgroupsPath": "/kubepods/burstable/pod\(Self.uid)/\(Self.id)"]],
        ])
        let w = state.workload(ofPath: "/kubepods/burstable/pod\(Self.uid)/\(Self.id)")
        #expect(w.container == Container(runtime: .containerd, id: Self.id, name: "cart"))
        #expect(w.pod == Pod(uid: Self.uid, name: "cart-7d9f", namespace: "shop"))
        #expect(state.knownContainers() == [Container(runtime: .containerd, id: Self.id, name: "cart")])
    }

    @Test func crioBundleNamesContainerAndPod() throws {
        let state = try Self.node([
            "run/containers/storage/overlay-containers/\(Self.id)/userdata/config.json": ["annotations": [
                "io.kubernetes.container.name": "postgres", "io.kubernetes.pod.name": "db-0",
                "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.uid": Self.uid,
            ], "linux": ["cgroupsPath": "kubepods-besteffort-pod\(Self.slicedUID).slice:crio:\(Self.id)"]],
        ])
        let w = state.workload(ofPath: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(Self.slicedUID).slice/crio-\(Self.id).scope")
        #expect(w.container == Container(runtime: .crio, id: Self.id, name: "postgres"))
        #expect(w.pod == Pod(uid: Self.uid, name: "db-0", namespace: "shop"))
    }

    @Test func podmanAndDockerRecordsNameContainers() throws {
        let other = String(repeating: "cd34", count: 16)
        let state = try Self.node([
            "var/lib/containers/storage/overlay-containers/containers.json": [["id": Self.id, "names": ["web"]]],
            // podman's own bundle carries no names; its record does
            "var/lib/containers/storage/overlay-containers/\(Self.id)/userdata/config.json": [
                "annotations": ["io.container.manager": "libpod"], "linux": ["cgroupsPath": "/libpod_parent/libpod-\(Self.id)"]],
            "var/lib/docker/containers/\(other)/config.v2.json": ["ID": other, "Name": "/cache"],
            "run/containerd/io.containerd.runtime.v2.task/moby/\(other)/config.json": ["linux": ["cgroupsPath": "system.slice:docker:\(other)"]],
        ])
        #expect(state.workload(ofPath: "/libpod_parent/libpod-\(Self.id)").container?.name == "web")
        #expect(state.workload(ofPath: "/system.slice/docker-\(other).scope").container?.name == "cache")
        #expect(Set(state.knownContainers()) == [Container(runtime: .podman, id: Self.id, name: "web"),
                                                 Container(runtime: .docker, id: other, name: "cache")])
    }

    /// No runtime records the container: the path alone names nothing, not
    /// even an ID (anyone with a delegated subtree can write that path).
    /// A record without names gives the ID alone.
    @Test func noRecordMeansNoContainer() throws {
        let bare = try Self.node([:])
        #expect(bare.workload(ofPath: "/kubepods/pod\(Self.uid)/\(Self.id)").container == nil)
        #expect(bare.workload(ofPath: "/system.slice/docker-\(Self.id).scope").isEmpty)
        let unnamed = try Self.node([
            "var/lib/containers/storage/overlay-containers/\(Self.id)/userdata/config.json": ["linux": ["cgroupsPath": "/libpod_parent/libpod-\(Self.id)"]],
        ])
        let w = unnamed.workload(ofPath: "/libpod_parent/libpod-\(Self.id)")
        #expect(w.container?.name == nil && w.container?.shortID == String(Self.id.prefix(12)))
    }

    /// CRI-O copies a pod's annotations into its bundles: containerd's keys
    /// written there by a tenant name nothing.
    @Test func eachRuntimeReadsItsOwnKeysOnly() throws {
        let state = try Self.node([
            "run/containers/storage/overlay-containers/\(Self.id)/userdata/config.json": ["annotations": [
                "io.kubernetes.cri.container-name": "vault", "io.kubernetes.cri.sandbox-name": "vault-0",
                "io.kubernetes.cri.sandbox-namespace": "secrets",
                "io.kubernetes.container.name": "POD", "io.kubernetes.pod.name": "tenant-1", "io.kubernetes.pod.namespace": "tenant",
            ], "linux": ["cgroupsPath": "/kubepods/besteffort/pod\(Self.uid)/crio-\(Self.id)"]],
        ])
        let w = state.workload(ofPath: "/kubepods/besteffort/pod\(Self.uid)/crio-\(Self.id)")
        #expect(w.container?.name == "POD" && w.pod?.name == "tenant-1" && w.pod?.namespace == "tenant", "\(w)")
    }

    @Test(arguments: [
        ("/libpod_parent/libpod-\(id)", "/libpod_parent/libpod-\(id)"),
        ("/kubepods//burstable/pod\(uid)/\(id)/", "/kubepods/burstable/pod\(uid)/\(id)"),
        ("machine.slice:libpod:\(id)", "/machine.slice/libpod-\(id).scope"),
        ("kubepods-burstable-pod\(slicedUID).slice:cri-containerd:\(id)",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(slicedUID).slice/cri-containerd-\(id).scope"),
        (":docker:\(id)", "/system.slice/docker-\(id).scope"),
        ("-.slice:crio:\(id)", "/crio-\(id).scope"),
    ])
    func ociCgroupsPaths(oci: String, path: String) {
        #expect(RuntimeState.cgroupPath(ociCgroupsPath: oci) == path)
    }

    @Test(arguments: ["", "relative/path", "/a/../b", "a.slice:x", "notaslice:p:n", "a--b.slice:p:n", "a.slice:p:", "a.slice:p/q:n"])
    func badOCICgroupsPaths(oci: String) {
        #expect(RuntimeState.cgroupPath(ociCgroupsPath: oci) == nil)
    }

    /// A tenant that can write its cgroupfs names a sub-cgroup like another
    /// container (or makes that layout where it has a delegated subtree):
    /// the victim's name and pod are never borrowed.
    @Test func plantedCgroupsBorrowNothing() throws {
        let victim = Self.id, tenant = String(repeating: "ef56", count: 16)
        let tenantUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        let state = try Self.node([
            "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(victim)/config.json": ["annotations": [
                "io.kubernetes.cri.container-name": "vault", "io.kubernetes.cri.sandbox-name": "vault-0",
                "io.kubernetes.cri.sandbox-namespace": "secrets", "io.kubernetes.cri.sandbox-uid": Self.uid,
            ], "linux": ["cgroupsPath": "kubepods-pod\(Self.slicedUID).slice:cri-containerd:\(victim)"]],
            "run/containerd/io.containerd.runtime.v2.task/k8s.io/\(tenant)/config.json": ["annotations": [
                "io.kubernetes.cri.container-name": "app", "io.kubernetes.cri.sandbox-name": "app-1",
                "io.kubernetes.cri.sandbox-namespace": "tenant", "io.kubernetes.cri.sandbox-uid": tenantUID,
            ], "linux": ["cgroupsPath": "kubepods-pod\(tenantUID.replacingOccurrences(of: "-", with: "_")).slice:cri-containerd:\(tenant)"]],
        ])
        let tenantPath = "/kubepods.slice/kubepods-pod\(tenantUID.replacingOccurrences(of: "-", with: "_")).slice/cri-containerd-\(tenant).scope"
        let victimPath = "/kubepods.slice/kubepods-pod\(Self.slicedUID).slice/cri-containerd-\(victim).scope"
        #expect(state.workload(ofPath: victimPath).container?.name == "vault")
        // Inside the tenant's container: the tenant's, whatever it is named.
        for planted in ["/cri-containerd-\(victim).scope", "/kubepods-pod\(Self.slicedUID).slice/cri-containerd-\(victim).scope",
                        "/docker/\(victim)", "/a/b/libpod-\(victim)"] {
            let w = state.workload(ofPath: tenantPath + planted)
            #expect(w.container?.id == tenant && w.container?.name == "app" && w.pod?.name == "app-1", "\(planted): \(w)")
        }
        // The victim's layout rebuilt elsewhere (a delegated subtree): nobody's.
        for planted in ["/user.slice/user-1000.slice/user@1000.service" + victimPath, "/tenant" + victimPath,
                        "/kubepods.slice/kubepods-pod\(Self.slicedUID).slice/extra/cri-containerd-\(victim).scope"] {
            #expect(state.workload(ofPath: planted).isEmpty, "\(planted)")
        }
    }

    @Test func selectorsCombineKindsWithAnd() {
        let cart = Workload(container: Container(runtime: .containerd, id: Self.id, name: "cart"),
                            pod: Pod(uid: Self.uid, name: "cart-7d9f", namespace: "shop"))
        let host = Workload()
        #expect(WorkloadSelector(containers: ["cart"]).matches(cart))
        #expect(WorkloadSelector(containers: [String(Self.id.prefix(6))]).matches(cart))
        #expect(!WorkloadSelector(containers: ["ab"]).matches(cart), "prefixes under 4 digits are names only")
        #expect(WorkloadSelector(pods: ["shop/cart-7d9f"]).matches(cart))
        #expect(WorkloadSelector(pods: ["cart-7d9f"]).matches(cart))
        #expect(!WorkloadSelector(pods: ["other/cart-7d9f"]).matches(cart))
        #expect(WorkloadSelector(namespaces: ["prod", "shop"]).matches(cart))
        #expect(!WorkloadSelector(containers: ["cart"], namespaces: ["prod"]).matches(cart))
        #expect(!WorkloadSelector(containers: ["cart"]).matches(host))
        #expect(WorkloadSelector().matches(host))
    }
}
