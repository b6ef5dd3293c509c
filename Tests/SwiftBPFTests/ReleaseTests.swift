// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// The one program and the release built from it: `swiftbpf TOOL` traces
/// as the tool does, the tarball (`make dist`, which `make test` runs
/// first) runs on a root holding only busybox and the C library, and
/// `scripts/release.sh install`/`uninstall` put in and take out exactly
/// the same files.
extension Privileged {
    @Suite(.enabled(if: !TestEnvironment.inKernelLane, "the release is built on the host"))
    struct Release {
        init() throws { _ = try Privileged() }

        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        static var version: String {
            ((try? String(contentsOfFile: root + "/VERSION", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The tarball, unpacked into a fresh directory: its top directory.
        static func unpackedDist() throws -> (tarball: String, tree: String) {
            let name = "swift-bpf-\(version)-x86_64-linux"
            let tarball = root + "/.build/dist/\(name).tar.gz"
            try #require(FileManager.default.fileExists(atPath: tarball), "no \(tarball): `make dist` builds it (make test does first)")
            let dir = try TestEnvironment.temporaryDirectory()
            let untar = try Command.run(["tar", "-xzf", tarball, "-C", dir])
            try #require(untar.status == 0, "\(untar.output)")
            return (tarball, dir + "/" + name)
        }

        /// `swiftbpf mkdirtrace`, the first argument naming the tool.
        @Test func theOneProgramTracesAsTheToolDoes() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let tool = try ToolRun("swiftbpf", ["mkdirtrace", "--json", "-p", "\(helper.pid)"])
            #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
            helper.run("mkdir \(dir)/one 750")
            helper.run("mkdir \(dir)/one 700")
            #expect(tool.stdout.wait(for: "EEXIST"))
            tool.signal(SIGINT)
            #expect(tool.finish() == 0, "\(tool.stderr.text)")
            let lines = tool.jsonLines
            #expect(lines.count == 2 && lines.allSatisfy { $0["pid"] as? Int == Int(helper.pid) && $0["path"] as? String == "\(dir)/one" }, "\(lines)")
            #expect(lines.map { $0["mode"] as? String } == ["0750", "0700"] && lines.last?["errno"] as? String == "EEXIST", "\(lines)")
            #expect(tool.stderr.text.contains("mkdirtrace: 2 events, 0 lost"), "\(tool.stderr.text)")
        }

        /// The tarball's layout: the program, a link per tool, a man page
        /// and three completions per tool, LICENSE and README.
        @Test func theTarballHoldsTheProgramLinksPagesAndCompletions() throws {
            let (_, tree) = try Self.unpackedDist()
            let fm = FileManager.default
            let binary = tree + "/bin/swiftbpf"
            let size = (try fm.attributesOfItem(atPath: binary)[.size] as? Int) ?? 0
            #expect(size > 0 && size < 90 << 20, "swiftbpf is \(size >> 20) MB stripped (target: under 90)")
            for tool in AllTools.all {
                #expect((try? fm.destinationOfSymbolicLink(atPath: tree + "/bin/" + tool)) == "swiftbpf", "bin/\(tool)")
                let page = (try? String(contentsOfFile: tree + "/share/man/man8/\(tool).8", encoding: .utf8)) ?? ""
                #expect(page.contains(".Dt \(tool.uppercased()) 8") && page.contains(".Nm \(tool)"), "\(tool).8: \(page.prefix(160))")
                let bash = (try? String(contentsOfFile: tree + "/share/bash-completion/completions/\(tool)", encoding: .utf8)) ?? ""
                #expect(bash.contains("complete") && bash.contains(tool), "bash completion of \(tool)")
                #expect(fm.fileExists(atPath: tree + "/share/zsh/site-functions/_\(tool)"), "zsh completion of \(tool)")
                #expect(fm.fileExists(atPath: tree + "/share/fish/vendor_completions.d/\(tool).fish"), "fish completion of \(tool)")
            }
            #expect(fm.fileExists(atPath: tree + "/share/man/man8/swiftbpf.8"))
            #expect(fm.fileExists(atPath: tree + "/LICENSE") && fm.fileExists(atPath: tree + "/README.md"))
            // Only the C library is loaded: the Swift runtime, libbpf, libelf,
            // zlib and libcrypt are linked in.
            let needed = try Command.run(["sh", "-c", "readelf -d '\(binary)' | sed -n 's/.*Shared library: \\[\\(.*\\)\\]/\\1/p'"])
            let libraries = needed.output.split(separator: "\n").map(String.init)
            let glibc: Set<String> = ["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2", "libutil.so.1"]
            #expect(!libraries.isEmpty && libraries.allSatisfy { glibc.contains($0) }, "\(libraries)")
        }

        /// The tarball on a root holding only busybox and the C library
        /// (glibc's files, and libgcc_s, which glibc loads as a thread
        /// exits), /proc and /sys bound in: mkdirtrace traces a mkdir made
        /// inside, and says its version.
        @Test func theTarballRunsOnARootWithOnlyBusyboxAndTheCLibrary() throws {
            let (_, tree) = try Self.unpackedDist()
            let root = try TestEnvironment.temporaryDirectory()
            let copy = try Command.run(["sh", "-c", """
                set -e
                cp -a '\(tree)/bin' '\(root)/bin'
                cp /bin/busybox '\(root)/bin/busybox'
                for a in sh mkdir; do ln -s busybox '\(root)/bin/'$a; done
                mkdir -p '\(root)/proc' '\(root)/sys' '\(root)/tmp'
                dpkg -L libc6 libgcc-s1 | grep -E '/lib(64)?/.*\\.so[.0-9]*$' | while read -r f; do cp --parents -L "$f" '\(root)/'; done
                """])
            try #require(copy.status == 0, "\(copy.output)")
            let version = try Command.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --rbind /proc '\(root)/proc' && exec chroot '\(root)' /bin/mkdirtrace --version"])
            #expect(version.status == 0 && version.output.hasPrefix("mkdirtrace \(Self.version) (commit "), "\(version.output)")
            let tool = try ToolRun(absolute: "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c",
                "mount --rbind /proc '\(root)/proc' && mount --rbind /sys '\(root)/sys' && exec chroot '\(root)' /bin/mkdirtrace --json -c mkdir"])
            #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
            let made = try Command.run(["chroot", root, "/bin/mkdir", "/tmp/inside"])
            #expect(made.status == 0, "\(made.output)")
            #expect(tool.stdout.wait(for: "/tmp/inside"), "\(tool.stderr.text)")
            tool.signal(SIGINT)
            #expect(tool.finish() == 0, "\(tool.stderr.text)")
            let lines = tool.jsonLines.filter { $0["path"] as? String == "/tmp/inside" }
            #expect(lines.count == 1 && lines.first?["comm"] as? String == "mkdir" && lines.first?["ret"] as? Int == 0, "\(tool.jsonLines)")
        }

        /// install copies the tree and lists it; uninstall removes exactly
        /// that list, and leaves what was there before.
        @Test func installAndUninstallTouchExactlyTheirFiles() throws {
            let (_, tree) = try Self.unpackedDist()
            let destdir = try TestEnvironment.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: destdir + "/usr/local/bin", withIntermediateDirectories: true)
            try "mine\n".write(toFile: destdir + "/usr/local/bin/other", atomically: true, encoding: .utf8)
            let before = try Command.run(["sh", "-c", "cd '\(destdir)' && find . ! -type d | sort"]).output

            let install = try Command.run([Self.root + "/scripts/release.sh", "install", tree, destdir, "/usr/local"])
            #expect(install.status == 0, "\(install.output)")
            let prefix = destdir + "/usr/local"
            let run = try Command.run([prefix + "/bin/execsnoop", "--version"])
            #expect(run.status == 0 && run.output.hasPrefix("execsnoop \(Self.version) "), "\(run.output)")
            let listed = try String(contentsOfFile: prefix + "/share/swift-bpf/installed-files", encoding: .utf8).split(separator: "\n").map(String.init)
            let shipped = try Command.run(["sh", "-c", "cd '\(tree)' && find bin share ! -type d | sort"]).output.split(separator: "\n").map(String.init)
            #expect(Set(listed) == Set(shipped + ["share/swift-bpf/installed-files"]), "\(Set(listed).symmetricDifference(shipped))")
            #expect(listed.contains("share/man/man8/mkdirtrace.8") && listed.contains("bin/mkdirtrace") && listed.contains("share/zsh/site-functions/_tcplife"))

            let uninstall = try Command.run([Self.root + "/scripts/release.sh", "uninstall", destdir, "/usr/local"])
            #expect(uninstall.status == 0 && uninstall.output.contains("removed \(listed.count - 1) files"), "\(uninstall.output)")
            let after = try Command.run(["sh", "-c", "cd '\(destdir)' && find . ! -type d | sort"]).output
            #expect(after == before, "left: \(after)")
            let again = try Command.run([Self.root + "/scripts/release.sh", "uninstall", destdir, "/usr/local"])
            #expect(again.status == 1 && again.output.contains("nothing installed"), "\(again.output)")
        }
    }
}
