// SPDX-License-Identifier: BSD-2-Clause
import Foundation

/// One line of `/proc/PID/maps`: an address range and what is mapped there.
public struct Mapping: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    /// Offset in the file of `start`.
    public var fileOffset: UInt64
    public var executable: Bool
    /// Device and inode: which file, whatever its path in this namespace.
    public var device: String
    public var inode: UInt64
    /// The path as the process sees it ("[vdso]", "[heap]" and "" for
    /// anonymous memory).
    public var path: String

    /// Whether the mapping is of a file, not anonymous memory or a special
    /// region.
    public var isFile: Bool { inode != 0 && path.hasPrefix("/") }
}

/// A process's memory map, read while it lives.
public struct ProcessMaps: Sendable {
    public let pid: Int32
    public let mappings: [Mapping]

    /// Reads `/proc/PID/maps`; nil when the process is gone.
    public init?(pid: Int32, procRoot: String = "/proc") {
        guard let text = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "\(procRoot)/\(pid)/maps")).readToEnd().map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
        self.init(pid: pid, text: text)
    }

    public init(pid: Int32, text: String) {
        self.pid = pid
        mappings = text.split(separator: "\n").compactMap(Self.parse).sorted { $0.start < $1.start }
    }

    /// `start-end perms offset dev inode [path]`.
    static func parse(_ line: Substring) -> Mapping? {
        let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard f.count >= 5 else { return nil }
        let range = f[0].split(separator: "-")
        guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
              let offset = UInt64(f[2], radix: 16), let inode = UInt64(f[4]) else { return nil }
        let path = f.count == 6 ? String(f[5]).trimmingCharacters(in: .whitespaces) : ""
        return Mapping(start: start, end: end, fileOffset: offset, executable: f[1].contains("x"),
                       device: String(f[3]), inode: inode, path: path)
    }

    /// The mapping holding `address`.
    public func mapping(at address: UInt64) -> Mapping? {
        guard let m = mappings.last(atOrBelow: address, key: \.start), address < m.end else { return nil }
        return m
    }
}
