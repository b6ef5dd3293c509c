// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import SystemPackage

extension Kernel {
    /// Where the BPF filesystem is conventionally mounted.
    public static let bpffsRoot = FilePath("/sys/fs/bpf")

    /// `f_type` of a BPF filesystem (BPF_FS_MAGIC).
    static let bpffsMagic = 0xcafe_4a11

    /// Whether `path` (which must exist) lies on a BPF filesystem.
    public static func isOnBPFFS(_ path: FilePath) -> Bool {
        var fs = statfs()
        return statfs(path.string, &fs) == 0 && Int(fs.f_type) == bpffsMagic
    }

    /// The BPF filesystem at `/sys/fs/bpf`, mounted first when it is not
    /// and this process may mount it. Pinning (a link or map that outlives
    /// its process) needs it; a fresh machine, and every `ip netns exec`
    /// (which mounts a new `/sys`), starts without it.
    @discardableResult
    public static func ensureBPFFS() throws(BPFError) -> FilePath {
        let root = bpffsRoot
        if isOnBPFFS(root) { return root }
        let how = "mount it with: mount -t bpf bpf \(root)"
        guard access(root.string, F_OK) == 0 else {
            throw BPFError(.bpffsUnavailable, "the BPF filesystem is not mounted and \(root) does not exist (no sysfs?); \(how)",
                           errno: .noSuchFileOrDirectory)
        }
        if mount("bpf", root.string, "bpf", 0, "mode=0700") == 0 { return root }
        let e = Errno(rawValue: errno)
        if e == .notPermitted || e == .permissionDenied {
            throw BPFError(.bpffsUnavailable, "the BPF filesystem is not mounted at \(root) and mounting it needs root; \(how)", errno: e)
        }
        throw BPFError(.bpffsUnavailable, "the BPF filesystem is not mounted at \(root) and could not be mounted (\(e)); \(how)", errno: e)
    }

    /// Makes `directory` (and its parents) on a BPF filesystem, mounting
    /// bpffs at `/sys/fs/bpf` first when the path lies under it.
    public static func makeBPFFSDirectory(_ directory: FilePath) throws(BPFError) {
        if directory.starts(with: bpffsRoot) { try ensureBPFFS() }
        var path = FilePath("/")
        for component in directory.components {
            path.append(component)
            if mkdir(path.string, 0o700) != 0 && errno != EEXIST {
                throw BPFError.fromErrno("cannot create directory \(path)")
            }
        }
        guard isOnBPFFS(directory) else {
            throw BPFError(.bpffsUnavailable, "\(directory) is not on a BPF filesystem, so nothing can be pinned there", errno: .invalidArgument)
        }
    }
}
