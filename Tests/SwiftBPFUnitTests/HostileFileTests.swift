// SPDX-License-Identifier: BSD-2-Clause
import Foundation
@testable import Symbols
import TestSupport
import Testing
import ToolSupport

/// What a workload can plant where the stack tools read its files: symlinks
/// out of its root, FIFOs, another file at the mapped path, and crafted ELF.
@Suite struct HostileFiles {
    /// A workload's root: a symlink to an absolute path, one that climbs
    /// out, a FIFO, a regular file.
    static func plantedRoot() throws -> String {
        let root = try TestEnvironment.temporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
        try "inside\n".write(toFile: root + "/etc/hostname", atomically: false, encoding: .utf8)
        try "real".write(toFile: root + "/lib/real", atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/lib/evil", withDestinationPath: "/etc/hostname")
        try fm.createSymbolicLink(atPath: root + "/lib/up", withDestinationPath: "../../../../../../etc/passwd")
        try fm.createSymbolicLink(atPath: root + "/libdir", withDestinationPath: "/etc")
        #expect(mkfifo(root + "/lib/fifo", 0o600) == 0)
        return root
    }

    static func read(_ fd: Int32) -> String {
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = Glibc.read(fd, &buf, buf.count)
        return String(decoding: buf.prefix(max(0, n)), as: UTF8.self)
    }

    @Test func symlinksResolveInsideTheWorkloadsRoot() throws {
        let root = try Self.plantedRoot()
        // An absolute symlink leads to the workload's /etc/hostname, not ours.
        #expect(Self.read(try ContainedFile.open("/lib/evil", inRoot: root)) == "inside\n")
        #expect(Self.read(try ContainedFile.open("/libdir/hostname", inRoot: root)) == "inside\n")
        // Climbing out stops at the root: there is no /etc/passwd inside.
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/lib/up", inRoot: root) }
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/../../etc/passwd", inRoot: root) }
        // Magic links are not followed.
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/proc/self/exe", inRoot: "/") }
    }

    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let root = try Self.plantedRoot()
        let started = Date()
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/lib/fifo", inRoot: root) }
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func onlyTheMappedFileByDeviceAndInode() throws {
        let root = try Self.plantedRoot()
        var st = stat()
        #expect(stat(root + "/lib/real", &st) == 0)
        let device = ContainedFile.deviceName(UInt64(st.st_dev))
        #expect(Self.read(try ContainedFile.open("/lib/real", inRoot: root, expected: (device, UInt64(st.st_ino)))) == "real")
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/lib/real", inRoot: root, expected: (device, UInt64(st.st_ino) + 1)) }
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.open("/lib/real", inRoot: root, expected: ("ff:ff", UInt64(st.st_ino))) }
        // The device as /proc/PID/maps writes it ("%02x:%02x"), from
        // st_dev's encoding of major and minor (12 + 20 bits, split).
        func dev(_ major: UInt64, _ minor: UInt64) -> UInt64 {
            (major & 0xFFF) << 8 | (major & ~0xFFF) << 32 | (minor & 0xFF) | (minor & ~0xFF) << 12
        }
        #expect(ContainedFile.deviceName(dev(0xFD, 1)) == "fd:01")
        #expect(ContainedFile.deviceName(dev(0, 31)) == "00:1f")
        #expect(ContainedFile.deviceName(dev(259, 3)) == "103:03")
        #expect(ContainedFile.deviceName(dev(8, 0x1234)) == "08:1234")
    }

    /// A live process's mapped file, through map_files: the file itself.
    @Test func theMappedFileItself() throws {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let line = try #require(maps.split(separator: "\n").first { $0.hasSuffix(" " + exe) })
        let range = line.split(separator: " ")[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
        guard getuid() == 0 else { return }  // map_files needs CAP_SYS_ADMIN
        let fd = try ContainedFile.openMapped(pid: getpid(), start: range[0], end: range[1])
        defer { close(fd) }
        var a = stat(), b = stat()
        #expect(fstat(fd, &a) == 0 && stat(exe, &b) == 0 && a.st_ino == b.st_ino)
        #expect(throws: ContainedFile.Refused.self) { try ContainedFile.openMapped(pid: getpid(), start: 1, end: 2) }
    }

    /// A file the process maps that is not ELF (or is crafted past
    /// reading): its frames stay unnamed, the file is read once whatever
    /// the number of frames, and it is listed once, with why.
    @Test func aBadFileIsSkippedAndNamedOnce() throws {
        let proc = try TestEnvironment.temporaryDirectory()
        let pid: Int32 = 4242
        try FileManager.default.createDirectory(atPath: "\(proc)/\(pid)/root/lib", withIntermediateDirectories: true)
        let bad = "\(proc)/\(pid)/root/lib/libbad.so"
        try Data("\u{7f}ELF but not really".utf8).write(to: URL(fileURLWithPath: bad))
        var st = stat()
        #expect(stat(bad, &st) == 0)
        let device = ContainedFile.deviceName(UInt64(st.st_dev))
        try "7f0000000000-7f0000010000 r-xp 00000000 \(device) \(st.st_ino)    /lib/libbad.so\n"
            .write(toFile: "\(proc)/\(pid)/maps", atomically: false, encoding: .utf8)
        let symbolizer = Symbolizer(kernelSymbols: false, procRoot: proc)
        for offset: UInt64 in [0x10, 0x200, 0x3000] {
            let frame = symbolizer.userFrame(0x7f00_0000_0000 + offset, pid: pid)
            #expect(frame.function == nil && frame.module == "libbad.so", "\(frame)")
        }
        let listed = symbolizer.unreadableFiles
        #expect(listed.count == 1 && listed.first?.path == "/lib/libbad.so", "\(listed)")
        #expect(listed.first?.reason.contains("not an ELF file") == true, "\(listed)")
    }

    @Test func theFallbackWalkRefusesEverySymlink() throws {
        let root = try Self.plantedRoot()
        let fd = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        #expect(ContainedFile.read(fd, "lib/real") == "real")
        for refused in ["lib/evil", "libdir/hostname", "lib/../etc/hostname"] {
            #expect(ContainedFile.read(fd, refused) == nil, "\(refused)")
        }
    }

    /// Names come out as one inert line: newlines, escapes and C1 controls
    /// (U+009B is a terminal's CSI) escaped; other text as it is.
    @Test func namesAreEscapedForPeople() {
        #expect(TextEscaping.human("a\nb 999") == "a\\nb 999")
        #expect(TextEscaping.human("\u{1B}[2J") == "\\x1b[2J")
        #expect(TextEscaping.human("a\u{9B}2Jb") == "a\\xc2\\x9b2Jb")
        #expect(TextEscaping.human("naïve café ✓") == "naïve café ✓")
        #expect(TextEscaping.human("back\\slash") == "back\\\\slash")
    }

    // MARK: Crafted ELF

    /// An ELF64 little-endian file's bytes, with the headers to patch.
    struct ELFBytes {
        var b: [UInt8]
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        mutating func put(_ o: Int, _ v: UInt64) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        mutating func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        /// (offset of the header, type, file offset, size, entry size)
        var sections: [(header: Int, type: Int, offset: Int, size: Int, entsize: Int)] {
            let shoff = Int(u64(0x28)), size = u16(0x3A), count = u16(0x3C)
            return (0..<count).map { i in
                let h = shoff + i * size
                return (h, u32(h + 4), Int(u64(h + 0x18)), Int(u64(h + 0x20)), Int(u64(h + 0x38)))
            }
        }
        var programHeaders: [Int] {
            let phoff = Int(u64(0x20)), size = u16(0x36), count = u16(0x38)
            return (0..<count).map { phoff + $0 * size }
        }
    }

    static func crafted(_ patch: (inout ELFBytes) -> Void) throws -> String {
        var elf = ELFBytes(b: Array(try Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe"))))
        patch(&elf)
        let path = try TestEnvironment.temporaryDirectory() + "/crafted"
        try Data(elf.b).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Each file is read (or refused) and then asked about every kind of
    /// address; nothing traps. Before, checked arithmetic trapped on
    /// st_value + st_size, sh_addr + sh_size and p_offset + p_filesz.
    @Test func craftedELFNeverTraps() throws {
        let huge: UInt64 = 0xFFFF_FFFF_FFFF_FF00
        let variants: [(String, (inout ELFBytes) -> Void)] = [
            ("symbol value and size past 2^64", { e in
                for s in e.sections where s.type == 2 || s.type == 11 {
                    for sym in stride(from: s.offset, to: s.offset + s.size, by: max(24, s.entsize)) { e.put(sym + 8, huge); e.put(sym + 16, 0x1000) }
                }
            }),
            ("unsized symbols in a section past 2^64", { e in
                for s in e.sections where s.type == 2 || s.type == 11 {
                    for sym in stride(from: s.offset, to: s.offset + s.size, by: max(24, s.entsize)) { e.put(sym + 16, 0) }
                }
                for s in e.sections { e.put(s.header + 0x10, huge); e.put(s.header + 0x20 + 0, UInt64(s.size)) }
            }),
            ("segments past 2^64", { e in
                for p in e.programHeaders { e.put(p + 8, huge); e.put(p + 0x10, huge); e.put(p + 0x20, 0x10000) }
            }),
            ("a symbol table longer than its data", { e in
                for s in e.sections where s.type == 2 || s.type == 11 { e.put(s.header + 0x20, UInt64(Int32.max) * 24) }
            }),
            ("a section type with its top bit set (a user type, 0x80000000 up)", { e in
                for s in e.sections { e.put32(s.header + 4, 0x8000_0000 | UInt32(s.type)) }
            }),
            ("a build-ID note longer than its section", { e in
                for s in e.sections where s.type == 7 && s.size >= 16 { e.put32(s.offset + 4, 0xFFFF_FFF0) }
            }),
        ]
        for (what, patch) in variants {
            let path = try Self.crafted(patch)
            guard let file = try? ELFSymbols(path: path) else { continue }  // refused: fine
            for a: UInt64 in [0, 1, 0x1000, huge, UInt64.max, UInt64.max - 1] {
                _ = file.symbol(at: a)
                _ = file.address(atFileOffset: a)
            }
            _ = what
        }
    }
}
