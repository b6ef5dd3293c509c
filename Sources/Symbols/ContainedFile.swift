// SPDX-License-Identifier: BSD-2-Clause
import CLibELF
import Glibc

/// Opening a file that a workload controls, as root, without being led out
/// of it: the path is resolved inside the workload's root (its
/// `/proc/PID/root`), so an absolute symlink planted there points into the
/// workload, not at the host's files; magic links (`/proc/self/...`) are
/// refused; the open does not block (a FIFO planted where a library was
/// does not hang the tool); only a regular file is accepted, and only the
/// one a memory map names, by device and inode.
public enum ContainedFile {
    /// O_PATH (glibc names it only under _GNU_SOURCE); the same on x86-64 and arm64.
    static let openPath: Int32 = 0o10000000

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// An open descriptor for `path` as seen from `root`, read-only; the
    /// caller closes it. With `expected`, the file must be that device
    /// ("fd:01", as /proc/PID/maps writes it) and inode. Linux 5.6+
    /// (openat2); on older kernels a walk that refuses every symlink.
    public static func open(_ path: String, inRoot root: String, expected: (device: String, inode: UInt64)? = nil) throws(Refused) -> Int32 {
        guard path.hasPrefix("/") else { throw Refused(description: "\(path): not an absolute path") }
        let rootFD = Glibc.open(root, openPath | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw Refused(description: "\(root): \(String(cString: strerror(errno)))") }
        defer { close(rootFD) }
        let relative = String(path.drop { $0 == "/" })
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
        var fd = swiftbpf_openat2(rootFD, relative.isEmpty ? "." : relative, flags,
                                  UInt64(RESOLVE_IN_ROOT) | UInt64(RESOLVE_NO_MAGICLINKS))
        if fd < 0 && errno == ENOSYS { fd = try walkWithoutSymlinks(rootFD, relative, flags: flags) }
        guard fd >= 0 else { throw Refused(description: "\(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw Refused(description: "\(path): not a regular file")
        }
        if let expected, !(UInt64(st.st_ino) == expected.inode && deviceName(UInt64(st.st_dev)) == expected.device) {
            close(fd)
            throw Refused(description: "\(path): not the file the process mapped (another device or inode)")
        }
        return fd
    }

    /// The file a live process maps at `start..<end`, opened through
    /// `/proc/PID/map_files` (root; Linux 4.3+): the mapped file itself,
    /// with no path resolved at all, so nothing planted at its path is
    /// read; regular files only, without blocking.
    /// With `expectedInode`, it must still be that inode (a process may map
    /// another file over the range after its map was read). Not the
    /// device: where a filesystem stacks on another (overlayfs, and the
    /// kernel lane's 9p root), the map names the lower one's device and
    /// stat the upper one's, while the inode is the same.
    public static func openMapped(pid: Int32, start: UInt64, end: UInt64, procRoot: String = "/proc",
                                  expectedInode: UInt64? = nil) throws(Refused) -> Int32 {
        let path = "\(procRoot)/\(pid)/map_files/\(String(start, radix: 16))-\(String(end, radix: 16))"
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw Refused(description: "\(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw Refused(description: "\(path): not a regular file")
        }
        if let expectedInode, UInt64(st.st_ino) != expectedInode {
            close(fd)
            throw Refused(description: "\(path): another file than the map named")
        }
        return fd
    }

    /// `major:minor` in hex, as /proc/PID/maps shows a device.
    public static func deviceName(_ dev: UInt64) -> String {
        let major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~UInt64(0xFFF))
        let minor = (dev & 0xFF) | ((dev >> 12) & ~UInt64(0xFF))
        func hex(_ v: UInt64) -> String { let s = String(v, radix: 16); return s.count < 2 ? "0" + s : s }
        return "\(hex(major)):\(hex(minor))"
    }

    /// The first bytes of `relative` under `root` through the fallback walk;
    /// nil when it refuses (for tests of the walk on any kernel).
    static func read(_ root: Int32, _ relative: String) -> String? {
        guard let fd = try? walkWithoutSymlinks(root, relative, flags: O_RDONLY | O_NONBLOCK | O_CLOEXEC), fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = Glibc.read(fd, &buf, buf.count)
        return String(decoding: buf.prefix(max(0, n)), as: UTF8.self)
    }

    /// Before openat2: one component at a time, none of them a symlink or "..".
    static func walkWithoutSymlinks(_ root: Int32, _ relative: String, flags: Int32) throws(Refused) -> Int32 {
        let parts = relative.split(separator: "/").filter { $0 != "." }
        guard !parts.isEmpty, !parts.contains("..") else { throw Refused(description: "/\(relative): '..' is not followed") }
        var dir = dup(root)
        for part in parts.dropLast() {
            let next = openat(dir, String(part), openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(dir)
            guard next >= 0 else { throw Refused(description: "/\(relative): \(String(cString: strerror(errno))) (symlinks are not followed)") }
            dir = next
        }
        defer { close(dir) }
        return openat(dir, String(parts.last!), flags | O_NOFOLLOW)
    }
}
