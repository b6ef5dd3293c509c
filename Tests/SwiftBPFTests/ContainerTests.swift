// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import TestSupport
import Testing

/// Container attribution and filters with real processes: in cgroups laid
/// out as the kubelet, containerd and CRI-O make them (with their state
/// files under a node root), and in a real podman container.
extension Privileged {
    @Suite struct Containers {
        init() throws { _ = try Privileged() }

        /// Starts a tool with the fake node's state as the host's.
        func start(_ tool: String, _ args: [String], node: FakeNode) throws -> ToolRun {
            let run = try ToolRun(tool, args, wrapper: ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(node.root)"])
            #expect(run.waitUntilAttached(), "\(tool) attached: \(run.stderr.text)")
            return run
        }

        @Test func kubeletLayoutsAreAttributedAndFilteredByNamespace() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-7d9f", container: "cart")
            let web = try node.pod(.containerdSystemd, namespace: "other", name: "web-1", container: "nginx")
            let shop = try start("mkdirtrace", ["--json", "--namespace", "shop"], node: node)
            let all = try start("mkdirtrace", ["-C"], node: node)
            // A pod of the namespace that starts after the tools did.
            let db = try node.pod(.crioCgroupfs, namespace: "shop", name: "db-0", container: "postgres")

            let inCart = try Helper(), inWeb = try Helper(), inDB = try Helper(), onHost = try Helper()
            try node.move(inCart.pid, to: cart.path)
            try node.move(inWeb.pid, to: web.path)
            try node.move(inDB.pid, to: db.path)
            for i in 0..<3 { #expect(inCart.run("mkdir \(dir)/cart\(i) 0755") == "ok 0") }
            for i in 0..<4 { #expect(inWeb.run("mkdir \(dir)/web\(i) 0755") == "ok 0") }
            for i in 0..<2 { #expect(inDB.run("mkdir \(dir)/db\(i) 0755") == "ok 0") }
            #expect(onHost.run("mkdir \(dir)/host 0755") == "ok 0")
            usleep(300_000)
            for run in [shop, all] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }

            let ours = shop.jsonLines.filter { ($0["path"] as? String)?.hasPrefix(dir) == true }
            let cartLines = ours.filter { ($0["path"] as? String)?.contains("/cart") == true }
            let dbLines = ours.filter { ($0["path"] as? String)?.contains("/db") == true }
            #expect(ours.count == 5, "3 in cart, 2 in db, none from web or the host: \(shop.stdout.text)")
            #expect(cartLines.count == 3 && dbLines.count == 2)
            for line in cartLines {
                #expect(line["container.id"] as? String == cart.id)
                #expect(line["container.name"] as? String == "cart")
                #expect(line["container.runtime"] as? String == "containerd")
                #expect(line["k8s.pod.name"] as? String == "cart-7d9f")
                #expect(line["k8s.pod.uid"] as? String == cart.uid)
                #expect(line["k8s.namespace.name"] as? String == "shop")
            }
            for line in dbLines {
                #expect(line["container.name"] as? String == "postgres")
                #expect(line["container.runtime"] as? String == "cri-o")
                #expect(line["k8s.pod.name"] as? String == "db-0")
                #expect(line["k8s.pod.uid"] as? String == db.uid)
            }

            // -C: the columns, for every pod and for the host.
            let text = all.stdout.text.split(separator: "\n")
            #expect(text.first?.hasPrefix("TIME     CONTAINER        POD                      PID") == true, "\(text.first ?? "")")
            let webRows = text.filter { $0.hasSuffix("\(dir)/web0") || $0.contains("\(dir)/web") }
            #expect(webRows.count == 4 && webRows.allSatisfy { $0.contains(" nginx ") && $0.contains(" other/web-1 ") }, "\(webRows)")
            let hostRow = text.first { $0.hasSuffix("\(dir)/host") }
            #expect(hostRow.map { $0.split(separator: " ", omittingEmptySubsequences: true)[1...2] == ["-", "-"] } == true, "\(hostRow ?? "no host row")")
        }

        /// Cgroups planted to borrow a pod's identity: one inside another
        /// pod's container, named like the victim's container, and the
        /// victim's whole layout rebuilt under a directory of its own.
        /// Only the victim's own process is counted as the victim.
        @Test func plantedCgroupsBorrowNoIdentity() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-7d9f", container: "cart")
            let web = try node.pod(.containerdSystemd, namespace: "other", name: "web-1", container: "nginx")
            let insideWeb = web.path + "/cri-containerd-\(cart.id).scope"
            let elsewhere = "/swiftbpf-planted-\(UInt32.random(in: 0...UInt32.max))" + cart.path
            try node.plant(insideWeb)
            try node.plant(elsewhere)
            let shop = try start("opensnoop", ["--json", "-x", "--pod", "shop/cart-7d9f"], node: node)
            let all = try start("opensnoop", ["--json", "-x"], node: node)
            let inCart = try Helper(), inWeb = try Helper(), planted = try Helper()
            try node.move(inCart.pid, to: cart.path)
            try node.move(inWeb.pid, to: insideWeb)
            try node.move(planted.pid, to: elsewhere)
            for (helper, name) in [(inCart, "cart"), (inWeb, "web"), (planted, "planted")] {
                for i in 0..<3 { #expect(helper.run("open \(dir)/\(name)\(i) 0") == "err 2") }
            }
            usleep(300_000)
            for run in [shop, all] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }

            let ours = shop.jsonLines.filter { ($0["path"] as? String)?.hasPrefix(dir) == true }
            #expect(ours.count == 3 && ours.allSatisfy { ($0["path"] as? String)?.contains("/cart") == true }, "\(shop.stdout.text)")
            let every = all.jsonLines.filter { ($0["path"] as? String)?.hasPrefix(dir) == true }
            let fromWeb = every.filter { ($0["path"] as? String)?.contains("/web") == true }
            let fromPlanted = every.filter { ($0["path"] as? String)?.contains("/planted") == true }
            #expect(fromWeb.count == 3 && fromWeb.allSatisfy {
                $0["container.id"] as? String == web.id && $0["container.name"] as? String == "nginx" && $0["k8s.pod.name"] as? String == "web-1"
            }, "\(fromWeb)")
            #expect(fromPlanted.count == 3 && fromPlanted.allSatisfy { $0["container.id"] == nil && $0["k8s.pod.uid"] == nil }, "\(fromPlanted)")
        }

        @Test func podFilterAndUnknownNames() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-7d9f", container: "cart")
            let run = try start("opensnoop", ["--json", "-x", "--pod", "shop/cart-7d9f"], node: node)
            let inCart = try Helper(), onHost = try Helper()
            try node.move(inCart.pid, to: cart.path)
            for i in 0..<4 { #expect(inCart.run("open \(dir)/missing\(i) 0") == "err 2") }
            #expect(onHost.run("open \(dir)/missing-host 0") == "err 2")
            usleep(300_000)
            run.signal(SIGINT)
            #expect(run.finish() == 0)
            let ours = run.jsonLines.filter { ($0["path"] as? String)?.hasPrefix(dir) == true }
            #expect(ours.count == 4 && ours.allSatisfy { $0["k8s.pod.name"] as? String == "cart-7d9f" && $0["errno"] as? String == "ENOENT" },
                    "\(run.stdout.text)")

            for args in [["--container", "no-such-container"], ["--pod", "shop/nope"], ["--namespace", "nowhere"]] {
                let bad = try ToolRun.complete("mkdirtrace", args, wrapper: ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(node.root)"])
                #expect(bad.status == 2, "\(args): \(bad.stderr)")
                #expect(bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains("no container or pod matches \(args.joined(separator: " "))")
                        && bad.stderr.contains("cart"), "\(bad.stderr)")
            }
            // Tools that count in the kernel have no columns to add.
            let counting = try ToolRun.complete("syscount", ["-C"])
            #expect(counting.status == 2 && counting.stderr.contains("-C adds columns"), "\(counting.stderr)")
        }

        // MARK: podman

        /// A local busybox image (no registry here): `tar | podman import`.
        static func podmanImage() throws -> String {
            let image = "localhost/swiftbpf-busybox:test"
            if (try? Command.run(["podman", "image", "exists", image]))?.status == 0 { return image }
            let dir = try TestEnvironment.temporaryDirectory()
            for sub in ["bin", "tmp"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: dir + "/bin/busybox")
            for applet in ["sh", "mkdir", "cat", "sleep"] {
                try FileManager.default.createSymbolicLink(atPath: dir + "/bin/" + applet, withDestinationPath: "busybox")
            }
            let made = try Command.run(["sh", "-c", "tar -C '\(dir)' -c . | podman import - \(image)"])
            try #require(made.status == 0, "podman import: \(made.output)")
            return image
        }

        static let podman = ["podman", "--runtime", "runc"]
        /// No CAP_SYS_RESOURCE here, so lower limits; no network plugins needed.
        static let limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000", "--network", "none"]

        @Test(.enabled(if: !TestEnvironment.inKernelLane, "podman runs on the host; the lane's guest boots the host's root read-only"))
        func podmanContainerStartedAfterTheToolIsTracedAlone() throws {
            let image = try Self.podmanImage()
            let name = "swbpf-web-\(UInt32.random(in: 0...UInt32.max))"
            let create = try Command.run(Self.podman + ["create", "--name", name] + Self.limits
                                         + [image, "sh", "-c", "mkdir /tmp/d1 /tmp/d2; cat /nope1; cat /nope2; cat /nope3; true"])
            try #require(create.status == 0, "podman create: \(create.output)")
            let id = create.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
            defer { _ = try? Command.run(Self.podman + ["rm", "-f", name]) }

            // Created, not started: known to podman, so the name is accepted.
            let opens = try ToolRun("opensnoop", ["--json", "-x", "--container", name, "--container-pids"])
            let mkdirs = try ToolRun("mkdirtrace", ["-C", "--container-pids"])
            #expect(opens.waitUntilAttached() && mkdirs.waitUntilAttached(), "\(opens.stderr.text) \(mkdirs.stderr.text)")
            let onHost = try Helper()
            #expect(onHost.run("open /nope-host 0") == "err 2")
            let started = try Command.run(Self.podman + ["start", "-a", name])
            #expect(started.status == 0, "podman start: \(started.output)")
            usleep(300_000)
            for run in [opens, mkdirs] { run.signal(SIGINT); #expect(run.finish() == 0, "\(run.stderr.text)") }

            let lines = opens.jsonLines
            #expect(!lines.isEmpty && lines.allSatisfy { $0["container.name"] as? String == name && $0["container.id"] as? String == id
                && $0["container.runtime"] as? String == "podman" }, "only \(name)'s opens: \(opens.stdout.text)")
            let nopes = lines.compactMap { $0["path"] as? String }.filter { $0.hasPrefix("/nope") }
            #expect(nopes == ["/nope1", "/nope2", "/nope3"], "\(opens.stdout.text)")
            // --container-pids: each cat is a child of the container's sh
            // (its PID 1), so its own namespace numbers it small.
            for line in lines where (line["path"] as? String)?.hasPrefix("/nope") == true {
                let nsPID = line["ns_pid"] as? Int ?? 0, pid = line["pid"] as? Int ?? 0
                #expect((2..<100).contains(nsPID) && line["ns_tid"] as? Int == nsPID && pid != nsPID, "\(line)")
            }
            // mkdir is a child of sh (PID 1 in the container) too.
            let rows = mkdirs.stdout.text.split(separator: "\n").filter { $0.hasSuffix(" /tmp/d1") || $0.hasSuffix(" /tmp/d2") }
            let columns = rows.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(mkdirs.stdout.text.hasPrefix("TIME     CONTAINER        POD                      NSPID   PID"), "\(mkdirs.stdout.text.prefix(200))")
            #expect(rows.count == 2 && columns.allSatisfy { $0[1] == Substring(name) && (2..<100).contains(Int($0[3]) ?? 0) && $0[3] != $0[4] },
                    "\(mkdirs.stdout.text)")
        }
    }
}
