// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import PackagePlugin

/// Compiles the `*.bpf.c` files that sit beside a C target's headers into
/// CO-RE BPF objects and generates one Swift skeleton per object, with the
/// object embedded, for the Swift target that applies this plugin.
///
/// Convention: every C target the Swift target depends on is searched for
/// `*.bpf.c` files; its headers (the event structs) are visible to both the
/// BPF compiler and Swift, so the layout is defined once.
@main
struct BPFProbeCompiler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let probeTargets = target.dependencies.compactMap { dependency -> ClangSourceModuleTarget? in
            if case .target(let t) = dependency { return t as? ClangSourceModuleTarget }
            return nil
        }
        let work = context.pluginWorkDirectoryURL
        let sh = URL(fileURLWithPath: "/bin/sh")
        let generator = try context.tool(named: "bpf-skeleton").url
        // Build commands get a minimal environment.
        let inheritedPath = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let path = [inheritedPath, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/opt/swift/usr/bin"]
            .filter { !$0.isEmpty }.joined(separator: ":")
        let environment = ["PATH": path]
        // swift-bpf's public probe headers (swiftbpf.bpf.h), from this
        // package's own checkout, for probes in any package.
        let publicHeaders = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "probes/include")
        let publicHeaderFiles = ["swiftbpf.bpf.h", "swiftbpf.h"].map { publicHeaders.appending(path: $0) }

        // vmlinux.h, vendored per architecture (probes/vmlinux/ARCH, see
        // `make vmlinux`): CO-RE relocates each field at load time, so the
        // build host's kernel plays no part.
        let vmlinuxDir = publicHeaders.deletingLastPathComponent().appending(path: "vmlinux/\(Self.architecture)")
        let vmlinux = vmlinuxDir.appending(path: "vmlinux.h")
        var commands: [Command] = []

        for probeTarget in probeTargets {
            let dir = probeTarget.directoryURL
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            let sources = files.filter { $0.hasSuffix(".bpf.c") }.sorted()
            if sources.isEmpty { continue }
            let headers = files.filter { $0.hasSuffix(".h") }.map { dir.appending(path: $0) }
            Self.noteHeaders(files.filter { $0.hasSuffix(".h") }, of: dir, record: work.appending(path: "\(probeTarget.name).headers"))
            var objects: [URL] = []
            for source in sources {
                let name = String(source.dropLast(".bpf.c".count))
                let sourceURL = dir.appending(path: source)
                let object = work.appending(path: "\(name).bpf.o")
                let swiftFile = work.appending(path: "\(name).skeleton.swift")
                objects.append(object)
                // The compiler's dependency file (-MD) from the last build
                // names every header this probe includes, from any
                // directory; before the first build, every header it could.
                let included = Self.dependencies(of: object) ?? (headers + publicHeaderFiles + [vmlinux])
                commands.append(.buildCommand(
                    displayName: "Compiling BPF probe \(source)",
                    executable: sh,
                    arguments: ["-c", compileScript, "bpf-compile", sourceURL.path, object.path,
                                vmlinuxDir.path, dir.path, publicHeaders.path],
                    environment: environment,
                    inputFiles: [sourceURL] + included,
                    outputFiles: [object]
                ))
                commands.append(.buildCommand(
                    displayName: "Generating BPF skeleton for \(name)",
                    executable: generator,
                    arguments: ["--object", object.path, "--name", name,
                                "--module", probeTarget.name, "--headers", dir.path, "--public-headers", publicHeaders.path,
                                "--output", swiftFile.path],
                    inputFiles: [object],
                    outputFiles: [swiftFile]
                ))
            }
            // One file of event views for the target's event structs (those
            // that start with a `struct task_info`), from every object's BTF.
            let views = work.appending(path: "\(probeTarget.name).views.swift")
            commands.append(.buildCommand(
                displayName: "Generating event views for \(probeTarget.name)",
                executable: generator,
                arguments: ["--views", "--module", probeTarget.name, "--headers", dir.path, "--public-headers", publicHeaders.path,
                            "--output", views.path]
                    + objects.flatMap { ["--object", $0.path] },
                inputFiles: objects,
                outputFiles: [views]
            ))
        }
        return commands
    }

    #if arch(x86_64)
    static let architecture = "x86"
    #elseif arch(arm64)
    static let architecture = "arm64"
    #else
    static let architecture = "unsupported"
    #endif

    /// Clang's module cache does not notice a header added to (or taken
    /// from) a module's umbrella directory: the module built before is
    /// reused without it. When the probe target's headers change, its
    /// module map's time is brought forward, which clang does check, so
    /// the module is built again with the new tool's header.
    static func noteHeaders(_ names: [String], of dir: URL, record: URL) {
        let list = names.sorted().joined(separator: "\n")
        let previous = try? String(contentsOf: record, encoding: .utf8)
        guard previous != list else { return }
        let moduleMap = dir.appending(path: "module.modulemap").path
        if previous != nil, FileManager.default.fileExists(atPath: moduleMap) {
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: moduleMap)
        }
        try? list.write(to: record, atomically: true, encoding: .utf8)
    }

    /// The files a make-style dependency file (`clang -MD`) beside
    /// `object` names; nil when there is none yet.
    static func dependencies(of object: URL) -> [URL]? {
        guard let text = try? String(contentsOf: URL(fileURLWithPath: object.path + ".d"), encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        // "target: dep dep \<newline> dep ..."; the paths here have no spaces.
        let deps = text[text.index(after: colon)...]
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\\" })
            .map { URL(fileURLWithPath: String($0)) }
        // A header since removed (or moved) is no input; the next compile says.
        guard !deps.isEmpty, deps.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) else { return nil }
        return deps
    }
}

/// $1 source, $2 object, $3 vmlinux.h directory, $4 probe headers directory,
/// $5 swift-bpf's public probe headers. Writes $2.d, the headers included.
/// DWARF is stripped afterwards: BTF (.BTF, .BTF.ext) is all libbpf needs,
/// and the embedded object shrinks about tenfold.
private let compileScript = #"""
set -e
src="$1"; obj="$2"; vmdir="$3"; incdir="$4"; pubdir="$5"
clang="${BPF_CLANG:-}"
if [ -z "$clang" ]; then
  for c in clang /opt/swift/usr/bin/clang clang-16 clang-15 clang-14; do
    if command -v "$c" >/dev/null 2>&1; then clang="$(command -v "$c")"; break; fi
  done
fi
if [ -z "$clang" ]; then
  echo "error: no clang with the BPF target found; set BPF_CLANG or install clang" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=x86 ;; aarch64) arch=arm64 ;; s390x) arch=s390 ;; ppc64le) arch=powerpc ;;
  riscv64) arch=riscv ;; *) arch="$(uname -m)" ;;
esac
if [ ! -r "$vmdir/vmlinux.h" ]; then
  echo "error: no vendored vmlinux.h for this architecture ($vmdir); generate it on such a machine with 'make vmlinux'" >&2
  exit 1
fi
"$clang" -target bpf -O2 -g -Wall -Wno-unused-function -D__TARGET_ARCH_$arch \
  -I"$vmdir" -I"$incdir" -I"$pubdir" -MD -MF "$obj.d.tmp" -MT "$obj" -c "$src" -o "$obj.tmp"
mv "$obj.d.tmp" "$obj.d"
objcopy="$(dirname "$clang")/llvm-objcopy"
if [ -x "$objcopy" ]; then
  "$objcopy" --strip-debug "$obj.tmp" "$obj"
  rm -f "$obj.tmp"
else
  mv "$obj.tmp" "$obj"
fi
"""#
