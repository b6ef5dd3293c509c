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
            var uts = utsname()
            uname(&uts)
            let machine = withUnsafeBytes(of: uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let name = "swift-bpf-\(version)-\(machine)-linux"
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

        /// Another package's file of a tool's name is not replaced; a
        /// relative PREFIX is refused; a list that names files outside what
        /// the release installs (or outside the root, by `..` or through a
        /// link) removes none of them.
        @Test func installAndUninstallKeepToOwnFiles() throws {
            let (_, tree) = try Self.unpackedDist()
            let script = Self.root + "/scripts/release.sh"
            let destdir = try TestEnvironment.temporaryDirectory()
            let prefix = destdir + "/usr/local"
            try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
            try "#!/bin/sh\necho bcc\n".write(toFile: prefix + "/bin/execsnoop", atomically: true, encoding: .utf8)
            let refused = try Command.run([script, "install", tree, destdir, "/usr/local"])
            #expect(refused.status == 1 && refused.output.contains("bin/execsnoop exists and is not swift-bpf's"), "\(refused.output)")
            #expect(try String(contentsOfFile: prefix + "/bin/execsnoop", encoding: .utf8) == "#!/bin/sh\necho bcc\n")
            #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/swiftbpf"))
            let relative = try Command.run([script, "install", tree, destdir, "usr/local"])
            #expect(relative.status == 2 && relative.output.contains("PREFIX must be an absolute path"), "\(relative.output)")

            try FileManager.default.removeItem(atPath: prefix + "/bin/execsnoop")
            #expect(try Command.run([script, "install", tree, destdir, "/usr/local"]).status == 0)
            // Installed twice: the second replaces the first.
            #expect(try Command.run([script, "install", tree, destdir, "/usr/local"]).status == 0)
            // A tampered list: a file outside the root, one inside it that
            // the release never installs, and one reached through a link.
            let outside = try TestEnvironment.temporaryDirectory()
            try "keep\n".write(toFile: outside + "/victim", atomically: true, encoding: .utf8)
            try "keep\n".write(toFile: prefix + "/bin/../victim", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: prefix + "/share/man/man8/sub", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: prefix + "/share/zsh/site-functions/_out", withDestinationPath: outside)
            let list = prefix + "/share/swift-bpf/installed-files"
            let tampered = try String(contentsOfFile: list, encoding: .utf8)
                + "../../../../\(outside)/victim\n\(outside)/victim\nvictim\nbin/../victim\nshare/zsh/site-functions/_out/victim\nshare/man/man8/sub\n"
            try tampered.write(toFile: list, atomically: true, encoding: .utf8)
            let uninstall = try Command.run([script, "uninstall", destdir, "/usr/local"])
            #expect(uninstall.status == 0, "\(uninstall.output)")
            #expect(FileManager.default.fileExists(atPath: outside + "/victim") && FileManager.default.fileExists(atPath: prefix + "/victim"))
            #expect(FileManager.default.fileExists(atPath: prefix + "/share/man/man8/sub"))
            #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/swiftbpf") && !FileManager.default.fileExists(atPath: prefix + "/share/man/man8/mkdirtrace.8"))
        }
    }
}
