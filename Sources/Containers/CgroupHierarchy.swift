// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import CCgroupHandle
import Glibc

/// The cgroup v2 hierarchy as this process sees it: where it is mounted,
/// and how a cgroup ID (what `bpf_get_current_cgroup_id` returns) becomes a
/// path. Works on unified machines (`/sys/fs/cgroup`) and hybrid ones
/// (`/sys/fs/cgroup/unified`).
public struct CgroupHierarchy: Sendable {
    /// Where cgroup2 is mounted, such as `/sys/fs/cgroup/unified`.
    public let mountPoint: String

    /// Failures name the path or the ID involved.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The hierarchy at `mountPoint`, or the first cgroup2 mount of this
    /// mount namespace (from `/proc/self/mountinfo`) that shows its root.
    public init(mountPoint: String? = nil) throws(Failure) {
        if let mountPoint {
            self.mountPoint = mountPoint
            return
        }
        guard let info = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/mountinfo")).readToEnd().map({ String(decoding: $0, as: UTF8.self) }) else {
            throw Failure(description: "cannot read /proc/self/mountinfo to find the cgroup v2 hierarchy")
        }
        for line in info.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 5, fields[3] == "/" else { continue }
            self.mountPoint = Self.unescape(String(fields[4]))
            return
        }
        throw Failure(description: "no cgroup v2 hierarchy is mounted (looked for a cgroup2 mount in /proc/self/mountinfo)")
    }

    /// mountinfo escapes spaces and the like as octal (`\040`).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = [], bytes = Array(s.utf8), i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The ID of the cgroup at `path` (relative to the hierarchy, such as
    /// `/system.slice`): its directory's inode number.
    public func id(of path: String) -> UInt64? {
        var st = stat()
        guard stat(mountPoint + path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// The path (relative to the hierarchy, `/` for the root) of the cgroup
    /// with this ID, asked of the kernel by file handle; nil when no such
    /// cgroup exists now. Linux 5.5+ (kernfs file handles); root.
    public func path(of id: UInt64) -> String? {
        let mount = open(mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard mount >= 0 else { return nil }
        defer { close(mount) }
        let fd = swiftbpf_open_cgroup(mount, id)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let full = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard full.hasPrefix(mountPoint) else { return nil }
        let relative = String(full.dropFirst(mountPoint.count))
        return relative.isEmpty ? "/" : relative
    }

    /// Whether the cgroup with this ID exists now: nil when that cannot be
    /// told (no CAP_DAC_READ_SEARCH, say), so a caller never takes "could
    /// not look" for "gone".
    public func exists(_ id: UInt64) -> Bool? {
        let mount = open(mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard mount >= 0 else { return nil }
        defer { close(mount) }
        let fd = swiftbpf_open_cgroup(mount, id)
        if fd >= 0 {
            close(fd)
            return true
        }
        return errno == ESTALE || errno == ENOENT ? false : nil
    }

    /// Every cgroup now, as (ID, path) pairs, parents first.
    public func all() -> [(id: UInt64, path: String)] {
        var out: [(UInt64, String)] = []
        var pending = ["/"]
        while let path = pending.popLast() {
            guard let id = id(of: path == "/" ? "" : path) else { continue }
            out.append((id, path))
            guard let dir = opendir(mountPoint + path) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                pending.append(path == "/" ? "/" + name : path + "/" + name)
            }
        }
        return out
    }
}
