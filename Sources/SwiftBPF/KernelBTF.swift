// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Foundation
import Glibc
import Synchronization

/// The type information CO-RE programs are relocated against.
///
/// Most kernels since Linux 5.2 built with CONFIG_DEBUG_INFO_BTF publish
/// theirs at /sys/kernel/btf/vmlinux, and libbpf reads it there. For a
/// kernel without it, in this order:
/// - a BTF file given with `--btf FILE` (`KernelBTF.file`) or the
///   `SWIFTBPF_BTF` environment variable (BTFHub publishes them for
///   distribution kernels);
/// - the minimal BTF built into the library for this kernel release
///   (`make btf-archive`: only the types and fields the bundled probes
///   use, for the kernels the tests boot).
///
/// Only CO-RE relocations can use such a file: programs that attach by a
/// kernel type ID (tp_btf, fentry, LSM) need the kernel's own BTF, and
/// tools fall back to plain tracepoints and kprobes without it.
public enum KernelBTF {
    /// Where the BTF in use comes from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// The kernel's own, at /sys/kernel/btf/vmlinux.
        case kernel
        /// A file given with `--btf` or `SWIFTBPF_BTF`.
        case file(String)
        /// The built-in minimal BTF for this release.
        case embedded(release: String)
        /// None: objects with CO-RE relocations do not load.
        case none

        public var description: String {
            switch self {
            case .kernel: "the kernel's (/sys/kernel/btf/vmlinux)"
            case .file(let path): path
            case .embedded(let release): "built in, for \(release)"
            case .none: "none"
            }
        }
    }

    private struct State: ~Copyable {
        var file: String?
        var resolved: (source: Source, path: String?)?
    }
    private static let state = Mutex(State())

    /// A BTF file to use instead of the kernel's: set before the first
    /// object is opened (the tools' `--btf`). Overrides `SWIFTBPF_BTF`.
    public static var file: String? {
        get { state.withLock { $0.file } }
        set { state.withLock { $0.file = newValue; $0.resolved = nil } }
    }

    /// Where the BTF comes from on this machine.
    public static var source: Source { resolve().source }

    /// The path libbpf is given as `btf_custom_path` (nil: the kernel's).
    static var customPath: String? { resolve().path }

    /// The releases the built-in archive has BTF for.
    public static var embeddedReleases: [String] { embeddedBTFArchive.map(\.release).sorted() }

    private static func resolve() -> (source: Source, path: String?) {
        state.withLock { s in
            if let resolved = s.resolved { return resolved }
            let result: (source: Source, path: String?)
            if let file = s.file ?? ProcessInfo.processInfo.environment["SWIFTBPF_BTF"].flatMap({ $0.isEmpty ? nil : $0 }) {
                result = (.file(file), file)
            } else if access("/sys/kernel/btf/vmlinux", R_OK) == 0 {
                result = (.kernel, nil)
            } else if let path = embeddedFile(for: Kernel.release) {
                result = (.embedded(release: Kernel.release), path)
            } else {
                result = (.none, nil)
            }
            s.resolved = result
            return result
        }
    }

    /// The built-in BTF for `release` in a memory file this process keeps
    /// open (libbpf takes a path: /proc/self/fd/N), so nothing is left on
    /// disk. Nil when the archive has none for it.
    private static func embeddedFile(for release: String) -> String? {
        guard let entry = embeddedBTFArchive.first(where: { $0.release == release }),
              let data = Data(base64Encoded: entry.base64) else { return nil }
        let fd = swiftbpf_memfd_create("swiftbpf-btf")
        guard fd >= 0 else { return nil }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { close(fd); return nil }
        return "/proc/self/fd/\(fd)"
    }

    /// Why objects cannot be relocated here, in a sentence; nil when they can.
    public static var missing: String? {
        if case .file(let path) = source, access(path, R_OK) != 0 {
            return "cannot read the BTF file \(path) (given with --btf or SWIFTBPF_BTF): \(String(cString: strerror(errno)))"
        }
        guard case .none = source else { return nil }
        let known = embeddedReleases.isEmpty ? "" : " (it has \(embeddedReleases.joined(separator: ", ")))"
        return "this kernel (\(Kernel.release)) has no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF, Linux 5.2+) "
            + "and none is built in for it\(known); give one with --btf FILE or SWIFTBPF_BTF (BTFHub has them for distribution kernels)"
    }
}
