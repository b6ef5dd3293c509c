// SPDX-License-Identifier: BSD-2-Clause
import CLibELF
import Foundation

/// The function symbols of one ELF file (`.symtab`, else `.dynsym`) and
/// its loadable segments, read with libelf. A file offset (where a
/// mapping put an address) becomes an address in the file's own terms
/// through the segment that holds it, so executables, PIEs and shared
/// libraries are all found the same way, whatever their load bias.
public final class ELFSymbols: Sendable {
    struct Symbol: Sendable {
        var address: UInt64
        /// Where the function ends: its size, or for an unsized symbol
        /// (some assembly) the end of its section, so that it does not
        /// claim the PLT or another section's code after it.
        var end: UInt64
        var name: String
    }
    struct Segment: Sendable {
        var offset: UInt64
        var fileSize: UInt64
        var address: UInt64
    }
    let symbols: [Symbol]
    let segments: [Segment]
    /// The GNU build ID, in hex, when the file has one.
    public let buildID: String?
    /// Whether the file has a full symbol table; without one only its
    /// exported (dynamic) symbols can be named.
    public let hasSymbolTable: Bool

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the file at `path` (the caller's own, trusted: a workload's
    /// file goes through `ContainedFile.open` and `init(fileDescriptor:)`).
    public convenience init(path: String) throws(Unreadable) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Unreadable(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try self.init(fileDescriptor: fd, name: path)
    }

    /// Reads the ELF file open at `fd` (not closed here). Every offset and
    /// size the file gives is checked before use: a crafted file is refused
    /// or read in part, never a trap.
    public init(fileDescriptor fd: Int32, name path: String) throws(Unreadable) {
        _ = elf_version(UInt32(EV_CURRENT))
        guard let elf = elf_begin(fd, ELF_C_READ, nil) else {
            throw Unreadable(description: "\(path) is not an ELF file: \(String(cString: elf_errmsg(-1)))")
        }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else { throw Unreadable(description: "\(path) is not an ELF file") }

        var segments: [Segment] = []
        var count = 0
        if elf_getphdrnum(elf, &count) == 0 {
            for i in 0..<Int32(clamping: min(count, 65_535)) {
                var ph = GElf_Phdr()
                guard gelf_getphdr(elf, i, &ph) != nil, ph.p_type == UInt32(PT_LOAD),
                      !ph.p_offset.addingReportingOverflow(ph.p_filesz).overflow,
                      !ph.p_vaddr.addingReportingOverflow(ph.p_filesz).overflow else { continue }
                segments.append(Segment(offset: ph.p_offset, fileSize: ph.p_filesz, address: ph.p_vaddr))
            }
        }

        var full: [Symbol] = [], dynamic: [Symbol] = []
        var sectionEnds: [UInt16: UInt64] = [:]
        func sectionEnd(_ index: UInt16) -> UInt64 {
            if let end = sectionEnds[index] { return end }
            var sh = GElf_Shdr()
            let found = elf_getscn(elf, Int(index)).flatMap { gelf_getshdr($0, &sh) } != nil
            let (sum, overflow) = sh.sh_addr.addingReportingOverflow(sh.sh_size)
            let end = found && !overflow ? sum : 0
            sectionEnds[index] = end
            return end
        }
        var buildID: String?
        var section = elf_nextscn(elf, nil)
        while let scn = section {
            defer { section = elf_nextscn(elf, scn) }
            var sh = GElf_Shdr()
            guard gelf_getshdr(scn, &sh) != nil, let data = elf_getdata(scn, nil) else { continue }
            // sh_type is unsigned: user types (0x80000000 up) exist, and
            // a crafted file may say anything.
            switch sh.sh_type {
            case UInt32(SHT_SYMTAB), UInt32(SHT_DYNSYM):
                // As many entries as the data holds, whatever the header says.
                guard sh.sh_entsize > 0 else { continue }
                let entries = min(sh.sh_size / sh.sh_entsize, UInt64(data.pointee.d_size) / sh.sh_entsize, UInt64(Int32.max))
                var found: [Symbol] = []
                for j in 0..<Int32(entries) {
                    var sym = GElf_Sym()
                    guard gelf_getsym(data, j, &sym) != nil else { continue }
                    let type = Int32(sym.st_info & 0xf)
                    guard type == STT_FUNC || type == STT_GNU_IFUNC, sym.st_value != 0, sym.st_shndx != UInt16(SHN_UNDEF),
                          let name = elf_strptr(elf, Int(sh.sh_link), Int(sym.st_name)) else { continue }
                    let (sum, overflow) = sym.st_value.addingReportingOverflow(sym.st_size)
                    guard !overflow else { continue }
                    let end = sym.st_size > 0 ? sum : sectionEnd(sym.st_shndx)
                    found.append(Symbol(address: sym.st_value, end: end, name: String(cString: name)))
                }
                if sh.sh_type == UInt32(SHT_SYMTAB) { full += found } else { dynamic += found }
            case UInt32(SHT_NOTE):
                buildID = buildID ?? Self.buildID(in: data)
            default:
                break
            }
        }
        hasSymbolTable = !full.isEmpty
        // One name per address: the full table's when there is one.
        var seen = Set<UInt64>()
        symbols = (full + dynamic).filter { seen.insert($0.address).inserted }.sorted { $0.address < $1.address }
        self.segments = segments
        self.buildID = buildID
    }

    /// The NT_GNU_BUILD_ID note of a note section, in hex.
    static func buildID(in data: UnsafeMutablePointer<Elf_Data>) -> String? {
        var offset = 0
        var header = GElf_Nhdr()
        var nameOffset = 0, descOffset = 0
        while true {
            let next = gelf_getnote(data, offset, &header, &nameOffset, &descOffset)
            guard next > 0 else { return nil }
            if header.n_type == UInt32(NT_GNU_BUILD_ID), header.n_namesz == 4, let base = data.pointee.d_buf,
               header.n_descsz <= 64, descOffset >= 0, descOffset + Int(header.n_descsz) <= data.pointee.d_size {
                let bytes = UnsafeRawBufferPointer(start: base + descOffset, count: Int(header.n_descsz))
                return bytes.map { String(format: "%02x", $0) }.joined()
            }
            guard next > offset else { return nil }
            offset = next
        }
    }

    /// The number of function symbols.
    public var count: Int { symbols.count }

    /// The address, in the file's own terms, of a byte at `offset` in the
    /// file; nil when no loadable segment holds it.
    public func address(atFileOffset offset: UInt64) -> UInt64? {
        guard let s = segments.first(where: { $0.offset <= offset && offset - $0.offset < $0.fileSize }) else { return nil }
        return (offset - s.offset) &+ s.address
    }

    /// The function at `address` (in the file's terms) and the offset into
    /// it; nil when the address is past the end of the nearest symbol
    /// below it, or below them all.
    public func symbol(at address: UInt64) -> (name: String, offset: UInt64)? {
        guard let s = symbols.last(atOrBelow: address, key: \.address), address < s.end else { return nil }
        return (s.name, address - s.address)
    }
}
