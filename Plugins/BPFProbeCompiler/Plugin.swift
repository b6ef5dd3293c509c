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
        // Build commands get a minimal environment; bpftool lives in sbin.
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

        // The header is written beside a stamp file: SwiftPM warns about .h
        // outputs of build commands, so the stamp is the declared output.
        let vmlinux = work.appending(path: "include/vmlinux.stamp")
        var commands: [Command] = []
        var needsVmlinux = false

        for probeTarget in probeTargets {
            let dir = probeTarget.directoryURL
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            let sources = files.filter { $0.hasSuffix(".bpf.c") }.sorted()
            if sources.isEmpty { continue }
            needsVmlinux = true
            let headers = files.filter { $0.hasSuffix(".h") }.map { dir.appending(path: $0) }
            for source in sources {
                let name = String(source.dropLast(".bpf.c".count))
                let sourceURL = dir.appending(path: source)
                let object = work.appending(path: "\(name).bpf.o")
                let swiftFile = work.appending(path: "\(name).skeleton.swift")
                commands.append(.buildCommand(
                    displayName: "Compiling BPF probe \(source)",
                    executable: sh,
                    arguments: ["-c", compileScript, "bpf-compile", sourceURL.path, object.path,
                                vmlinux.deletingLastPathComponent().path, dir.path, publicHeaders.path],
                    environment: environment,
                    inputFiles: [sourceURL, vmlinux] + headers + publicHeaderFiles,
                    outputFiles: [object]
                ))
                commands.append(.buildCommand(
                    displayName: "Generating BPF skeleton for \(name)",
                    executable: generator,
                    arguments: ["--object", object.path, "--name", name,
                                "--module", probeTarget.name, "--headers", dir.path, "--output", swiftFile.path],
                    inputFiles: [object],
                    outputFiles: [swiftFile]
                ))
            }
        }
        if needsVmlinux {
            commands.insert(.buildCommand(
                displayName: "Generating vmlinux.h from kernel BTF",
                executable: sh,
                arguments: ["-c", vmlinuxScript, "bpf-vmlinux", vmlinux.path],
                environment: environment,
                inputFiles: [],
                outputFiles: [vmlinux]
            ), at: 0)
        }
        return commands
    }
}

/// $1: output path. Uses the running kernel's BTF, the same BTF that CO-RE
/// relocations resolve against at load time.
private let vmlinuxScript = #"""
set -e
out="$1"
btf="${SWIFTBPF_VMLINUX_BTF:-/sys/kernel/btf/vmlinux}"
if ! command -v bpftool >/dev/null 2>&1; then
  echo "error: bpftool not found; install it with 'make deps' (apt-get install bpftool)" >&2
  exit 1
fi
if [ ! -r "$btf" ]; then
  echo "error: kernel BTF not readable at $btf; this kernel needs CONFIG_DEBUG_INFO_BTF=y" >&2
  exit 1
fi
dir="$(dirname "$out")"
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux.h.tmp"
mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
touch "$out"
"""#

/// $1 source, $2 object, $3 vmlinux.h directory, $4 probe headers directory,
/// $5 swift-bpf's public probe headers.
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
"$clang" -target bpf -O2 -g -Wall -Wno-unused-function -D__TARGET_ARCH_$arch \
  -I"$vmdir" -I"$incdir" -I"$pubdir" -c "$src" -o "$obj.tmp"
objcopy="$(dirname "$clang")/llvm-objcopy"
if [ -x "$objcopy" ]; then
  "$objcopy" --strip-debug "$obj.tmp" "$obj"
  rm -f "$obj.tmp"
else
  mv "$obj.tmp" "$obj"
fi
"""#
