// SPDX-License-Identifier: BSD-2-Clause
// bpf-skeleton: reads a compiled BPF object (ELF with BTF) and writes a Swift
// skeleton with the object embedded, typed program and map names, and typed
// accessors for its global variables. Run by the BPFProbeCompiler plugin.
import Foundation

struct Options {
    var object = ""
    var name = ""
    var module = ""
    var output = ""
    var headers: String?

    init(_ args: [String]) throws {
        var it = args.dropFirst().makeIterator()
        while let flag = it.next() {
            guard let value = it.next() else { throw GeneratorError("missing value for \(flag)") }
            switch flag {
            case "--object": object = value
            case "--name": name = value
            case "--module": module = value
            case "--output": output = value
            case "--headers": headers = value
            default: throw GeneratorError("unknown option \(flag)")
            }
        }
        if object.isEmpty || name.isEmpty || output.isEmpty {
            throw GeneratorError("usage: bpf-skeleton --object FILE --name NAME --module MODULE --output FILE")
        }
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

// MARK: ELF

struct ELFSection { var name: String; var type: UInt32; var flags: UInt64; var offset: Int; var size: Int; var link: Int }
struct ELFSymbol { var name: String; var info: UInt8; var section: Int; var value: Int; var size: Int }

struct ELFFile {
    let bytes: [UInt8]
    var sections: [ELFSection] = []
    var symbols: [ELFSymbol] = []

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        guard bytes.count > 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46, bytes[4] == 2 else {
            throw GeneratorError("not a 64-bit ELF object")
        }
        guard bytes[5] == 1 else { throw GeneratorError("big-endian BPF objects are not supported") }
        let shoff = Int(u64(0x28)), shentsize = Int(u16(0x3A)), shnum = Int(u16(0x3C)), shstrndx = Int(u16(0x3E))
        var raw: [(nameOff: Int, ELFSection)] = []
        for i in 0..<shnum {
            let b = shoff + i * shentsize
            raw.append((Int(u32(b)), ELFSection(name: "", type: u32(b + 4), flags: u64(b + 8),
                                               offset: Int(u64(b + 24)), size: Int(u64(b + 32)), link: Int(u32(b + 40)))))
        }
        let strtab = raw[shstrndx].1
        sections = raw.map { entry in
            var s = entry.1
            s.name = cString(strtab.offset + entry.nameOff)
            return s
        }
        if let symtab = sections.first(where: { $0.type == 2 }) {
            let names = sections[symtab.link]
            for i in 0..<(symtab.size / 24) {
                let b = symtab.offset + i * 24
                symbols.append(ELFSymbol(name: cString(names.offset + Int(u32(b))), info: bytes[b + 4],
                                         section: Int(u16(b + 6)), value: Int(u64(b + 8)), size: Int(u64(b + 16))))
            }
        }
    }

    func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
    func cString(_ o: Int) -> String {
        var end = o
        while end < bytes.count && bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[o..<end], as: UTF8.self)
    }
    func section(named name: String) -> ELFSection? { sections.first { $0.name == name } }
}

// MARK: BTF (only what is needed to type global variables)

struct BTFType {
    var kind: Int; var name: String; var info: UInt32; var sizeOrType: UInt32; var extra: [UInt32]
    /// For structs and unions: member names, in order (types in `extra`).
    var memberNames: [String] = []
}

struct BTF {
    var types: [BTFType] = [BTFType(kind: 0, name: "void", info: 0, sizeOrType: 0, extra: [])]

    init?(_ elf: ELFFile) {
        guard let sec = elf.section(named: ".BTF") else { return nil }
        let base = sec.offset
        guard elf.u16(base) == 0xEB9F else { return nil }
        let hdrLen = Int(elf.u32(base + 4))
        let typeOff = Int(elf.u32(base + 8)), typeLen = Int(elf.u32(base + 12))
        let strOff = Int(elf.u32(base + 16))
        let typesStart = base + hdrLen + typeOff, strings = base + hdrLen + strOff
        var o = typesStart
        while o < typesStart + typeLen {
            let nameOff = Int(elf.u32(o)), info = elf.u32(o + 4), st = elf.u32(o + 8)
            let kind = Int((info >> 24) & 0x1f), vlen = Int(info & 0xffff)
            o += 12
            let words: Int
            switch kind {
            case 1, 14, 17: words = 1            // INT, VAR, DECL_TAG
            case 3: words = 3                    // ARRAY
            case 4, 5, 15, 19: words = 3 * vlen  // STRUCT, UNION, DATASEC, ENUM64
            case 6, 13: words = 2 * vlen         // ENUM, FUNC_PROTO
            default: words = 0
            }
            var extra: [UInt32] = []
            for w in 0..<words { extra.append(elf.u32(o + 4 * w)) }
            o += 4 * words
            var t = BTFType(kind: kind, name: elf.cString(strings + nameOff), info: info, sizeOrType: st, extra: extra)
            if kind == 4 || kind == 5 {
                t.memberNames = (0..<vlen).map { elf.cString(strings + Int(extra[3 * $0])) }
            }
            types.append(t)
        }
    }

    /// The Swift spelling of a type that Swift can import, or nil.
    func swiftType(_ id: Int, knownStructs: Set<String>) -> String? {
        guard id > 0, id < types.count else { return nil }
        let t = types[id]
        switch t.kind {
        case 9, 10, 11, 18: return swiftType(Int(t.sizeOrType), knownStructs: knownStructs)  // volatile, const, restrict, type tag
        case 8:  // typedef
            let target = types[Int(t.sizeOrType)]
            if (target.kind == 4 || target.kind == 5) && target.name.isEmpty {
                return knownStructs.contains(t.name) ? t.name : nil
            }
            return swiftType(Int(t.sizeOrType), knownStructs: knownStructs)
        case 1:
            let encoding = (t.extra[0] >> 24) & 0xf
            let signed = encoding & 1 != 0
            if encoding & 4 != 0 { return "Bool" }
            switch t.sizeOrType {
            case 1: return signed ? "Int8" : "UInt8"
            case 2: return signed ? "Int16" : "UInt16"
            case 4: return signed ? "Int32" : "UInt32"
            case 8: return signed ? "Int64" : "UInt64"
            default: return nil
            }
        case 4, 5:
            return !t.name.isEmpty && knownStructs.contains(t.name) && importsWhole(id) ? t.name : nil
        case 6:
            let signed = t.info & 0x8000_0000 != 0
            switch t.sizeOrType {
            case 4: return signed ? "Int32" : "UInt32"
            case 8: return signed ? "Int64" : "UInt64"
            default: return nil
            }
        default: return nil
        }
    }

    /// Swift imports C arrays of at most 4096 elements; a struct with a
    /// larger one arrives without that field (and is not BitwiseCopyable).
    func importsWhole(_ id: Int, depth: Int = 0) -> Bool {
        guard id > 0, id < types.count, depth < 16 else { return true }
        let t = types[id]
        switch t.kind {
        case 3: return t.extra[2] <= 4096 && importsWhole(Int(t.extra[0]), depth: depth + 1)
        case 4, 5: return (0..<t.memberNames.count).allSatisfy { importsWhole(Int(t.extra[3 * $0 + 1]), depth: depth + 1) }
        case 8, 9, 10, 11, 18: return importsWhole(Int(t.sizeOrType), depth: depth + 1)
        default: return true
        }
    }

    /// For a map defined with `__uint(type, ...)`, `__type(key, K)` and
    /// `__type(value, V)`: its BPF map type number and key/value type ids.
    func mapDefinition(_ name: String) -> (mapType: Int, key: Int, value: Int)? {
        guard var id = varType(named: name) else { return nil }
        while [8, 9, 10, 11, 18].contains(types[id].kind) { id = Int(types[id].sizeOrType) }
        let def = types[id]
        guard def.kind == 4 else { return nil }
        func member(_ n: String) -> Int? {
            guard let i = def.memberNames.firstIndex(of: n) else { return nil }
            let ptr = types[Int(def.extra[3 * i + 1])]
            return ptr.kind == 2 ? Int(ptr.sizeOrType) : nil
        }
        guard let typePtr = member("type"), types[typePtr].kind == 3,
              let key = member("key"), let value = member("value") else { return nil }
        return (Int(types[typePtr].extra[2]), key, value)
    }

    func varType(named name: String) -> Int? {
        types.firstIndex { $0.kind == 14 && $0.name == name }.map { Int(types[$0].sizeOrType) }
    }
}

// MARK: Naming

let swiftKeywords: Set<String> = ["class", "struct", "enum", "protocol", "func", "var", "let", "in", "for", "while",
                                  "if", "else", "return", "switch", "case", "default", "import", "public", "private",
                                  "static", "self", "Self", "type", "init", "deinit", "extension", "operator", "is", "as"]

func camel(_ s: String, upperFirst: Bool) -> String {
    let parts = s.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." }).map(String.init)
    var out = ""
    for (i, p) in parts.enumerated() {
        if i == 0 && !upperFirst { out += p } else { out += p.prefix(1).uppercased() + p.dropFirst() }
    }
    if out.isEmpty { out = "_" }
    if out.first!.isNumber { out = "_" + out }
    return out
}

func identifier(_ s: String) -> String {
    let c = camel(s, upperFirst: false)
    return swiftKeywords.contains(c) ? "`\(c)`" : c
}

// MARK: Generation

struct Global { var name: String; var section: String; var offset: Int; var swiftType: String }

func generate(_ options: Options) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: options.object))
    let elf = try ELFFile([UInt8](data))
    let btf = BTF(elf)

    var knownStructs = Set<String>()
    let headerDir = options.headers ?? URL(fileURLWithPath: options.object).deletingLastPathComponent().path
    // The probe's headers, and its include/ directory (where the bundled
    // probes keep swift-bpf's public swiftbpf.h).
    let headerFiles = [headerDir, headerDir + "/include"].flatMap { dir in
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { (dir, $0) }
    }
    do {
        for (dir, f) in headerFiles where f.hasSuffix(".h") && !f.hasSuffix(".bpf.h") && f != "vmlinux.h" {
            let text = (try? String(contentsOfFile: dir + "/" + f, encoding: .utf8)) ?? ""
            let collapsed = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
            for t in btf?.types ?? [] where (t.kind == 4 || t.kind == 5 || t.kind == 8) && !t.name.isEmpty {
                if collapsed.contains("struct \(t.name) {") || collapsed.contains("union \(t.name) {") || collapsed.contains("} \(t.name);") {
                    knownStructs.insert(t.name)
                }
            }
        }
    }

    var programs: [(name: String, section: String)] = []
    var maps: [String] = []
    var globals: [Global] = []
    for sym in elf.symbols where sym.section > 0 && sym.section < elf.sections.count {
        let sec = elf.sections[sym.section]
        let binding = sym.info >> 4, type = sym.info & 0xf
        guard binding == 1 else { continue }  // global symbols only, as libbpf's skeletons
        if type == 2 && sec.flags & 0x4 != 0 && sec.name != ".text" {
            programs.append((sym.name, sec.name))
        } else if sec.name == ".maps" {
            maps.append(sym.name)
        } else if type == 1 && (sec.name.hasPrefix(".rodata") || sec.name.hasPrefix(".bss") || sec.name.hasPrefix(".data")) {
            if let tid = btf?.varType(named: sym.name), let st = btf?.swiftType(tid, knownStructs: knownStructs) {
                globals.append(Global(name: sym.name, section: sec.name, offset: sym.value, swiftType: st))
            }
        }
    }
    programs.sort { $0.name < $1.name }
    maps.sort()
    // Maps whose key and value Swift can name get a typed view: hash,
    // array, LRU hash and LPM trie as TypedMap, per-CPU ones as PerCPUMap.
    var typedMaps: [(name: String, view: String)] = []
    for m in maps {
        guard let def = btf?.mapDefinition(m),
              let key = btf?.swiftType(def.key, knownStructs: knownStructs),
              let value = btf?.swiftType(def.value, knownStructs: knownStructs) else { continue }
        switch def.mapType {
        case 1, 2, 9, 11: typedMaps.append((m, "TypedMap<\(key), \(value)>"))
        case 5, 6, 10: typedMaps.append((m, "PerCPUMap<\(key), \(value)>"))
        default: continue
        }
    }
    globals.sort { $0.name < $1.name }

    let type = camel(options.name, upperFirst: true) + "Skeleton"
    var o = ""
    o += "// Generated by bpf-skeleton from \(options.name).bpf.c. Do not edit.\n"
    o += "@_spi(Skeleton) import SwiftBPF\n"
    if !options.module.isEmpty { o += "import \(options.module)\n" }
    o += "\n/// The `\(options.name)` BPF object, embedded, with typed access to its programs,\n"
    o += "/// maps and global variables. `open()` it, configure, `load()`, then attach.\n"
    o += "public final class \(type): Skeleton {\n"
    o += "    /// The compiled object (BPF ELF, base64), as built from the probe source.\n"
    o += "    public static let embedded = EmbeddedObject(name: \"\(options.name)\", base64: \"\(data.base64EncodedString())\")\n\n"
    o += "    /// The object's programs.\n"
    o += "    public enum ProgramName: String, CaseIterable, Sendable {\n"
    for p in programs { o += "        /// `SEC(\"\(p.section)\")`\n        case \(identifier(p.name)) = \"\(p.name)\"\n" }
    o += "    }\n\n"
    o += "    /// The object's maps (not counting the global-variable sections).\n"
    if maps.isEmpty {
        // An enum without cases cannot have a raw type.
        o += "    public enum MapName: CaseIterable, Sendable {\n"
        o += "        public var rawValue: String { switch self {} }\n"
    } else {
        o += "    public enum MapName: String, CaseIterable, Sendable {\n"
    }
    for m in maps { o += "        case \(identifier(m)) = \"\(m)\"\n" }
    o += "    }\n\n"
    o += "    /// Opens the embedded object: the phase in which maps, programs and\n    /// read-only globals can still be configured.\n"
    o += "    public static func open() throws(BPFError) -> Open { Open(object: try OpenObject(embedded: embedded)) }\n\n"
    o += "    /// An opened, not yet loaded, `\(options.name)` object.\n"
    o += "    public struct Open: OpenSkeleton, ~Copyable {\n"
    o += "        /// The underlying object, for anything the skeleton does not cover.\n"
    o += "        public var object: OpenObject\n\n"
    o += "        /// Whether `program` is loaded (disable programs the running kernel cannot attach).\n"
    o += "        public mutating func setAutoload(_ enabled: Bool, for program: ProgramName) throws(BPFError) {\n"
    o += "            try object.setAutoload(enabled, program: program.rawValue)\n        }\n\n"
    o += "        /// Sets the number of entries of `map` (for a ring buffer: its size in bytes).\n"
    o += "        public mutating func setMaxEntries(_ count: UInt32, for map: MapName) throws(BPFError) {\n"
    o += "            try object.setMaxEntries(count, map: map.rawValue)\n        }\n"
    for g in globals {
        o += "\n        /// `\(g.name)` in `\(g.section)`.\n"
        // Through raw bytes: a generic BitwiseCopyable accessor instantiated
        // with an imported C struct crashes Swift 6.3's cross-module
        // optimizer in client modules (release builds).
        o += "        public var \(identifier(g.name)): \(g.swiftType) {\n"
        o += "            get { object.skeletonGlobalBytes(section: \"\(g.section)\", offset: \(g.offset), count: MemoryLayout<\(g.swiftType)>.size).withUnsafeBytes { $0.loadUnaligned(as: \(g.swiftType).self) } }\n"
        o += "            set { var value = newValue; object.setSkeletonGlobalBytes(withUnsafeBytes(of: &value) { Array($0) }, section: \"\(g.section)\", offset: \(g.offset)) }\n"
        o += "        }\n"
    }
    o += "\n        /// Loads every program into the kernel (verifier runs here).\n"
    o += "        public consuming func load() throws(BPFError) -> \(type) { try \(type)(try object.load()) }\n"
    o += "    }\n\n"
    o += "    /// Loaded programs, ready to attach.\n"
    o += "    public struct Programs: Sendable {\n"
    for p in programs { o += "        public let \(identifier(p.name)): Program\n" }
    o += "    }\n\n"
    o += "    /// Loaded maps.\n"
    o += "    public struct Maps: Sendable {\n"
    for m in maps { o += "        public let \(identifier(m)): Map\n" }
    o += "    }\n\n"
    o += "    /// Typed views of the maps whose key and value types Swift can name.\n"
    o += "    public struct TypedMaps: Sendable {\n"
    for t in typedMaps { o += "        public let \(identifier(t.name)): \(t.view)\n" }
    o += "\n        /// Typed views over maps found by name: a loaded object's, or\n"
    o += "        /// those a program already in the kernel uses (`KernelProgram.maps()`).\n"
    o += "        public init(mapNamed map: (String) throws(BPFError) -> Map) throws(BPFError) {\n"
    for t in typedMaps {
        let view = t.view.hasPrefix("PerCPU") ? "perCPU" : "typed"
        let args = t.view.drop(while: { $0 != "<" }).dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) + ".self" }
        o += "            \(identifier(t.name)) = try map(\"\(t.name)\").\(view)(\(args.joined(separator: ", ")))\n"
    }
    o += "        }\n"
    o += "    }\n\n"
    o += "    /// The loaded object; it owns every file descriptor below.\n"
    o += "    public let object: LoadedObject\n"
    o += "    public let programs: Programs\n"
    o += "    public let maps: Maps\n"
    o += "    public let typed: TypedMaps\n\n"
    o += "    init(_ object: LoadedObject) throws(BPFError) {\n"
    o += "        self.object = object\n"
    o += "        self.programs = Programs(\n"
    o += programs.map { "            \(identifier($0.name)): object.requiredProgram(\"\($0.name)\")" }.joined(separator: ",\n") + "\n        )\n"
    o += "        self.maps = Maps(\n"
    o += maps.map { "            \(identifier($0)): object.requiredMap(\"\($0)\")" }.joined(separator: ",\n") + "\n        )\n"
    o += "        self.typed = try TypedMaps(mapNamed: { name throws(BPFError) in object.requiredMap(name) })\n"
    o += "    }\n"
    for g in globals {
        o += "\n    /// `\(g.name)` in `\(g.section)`, read from the kernel's copy.\n"
        o += "    public var \(identifier(g.name)): \(g.swiftType) {\n"
        o += "        get throws(BPFError) { try object.globalBytes(section: \"\(g.section)\", offset: \(g.offset), count: MemoryLayout<\(g.swiftType)>.size).withUnsafeBytes { $0.loadUnaligned(as: \(g.swiftType).self) } }\n"
        o += "    }\n"
    }
    o += "\n    /// Attaches every loaded program at the place its `SEC()` names.\n"
    o += "    public func attachAll() throws(BPFError) -> [Link] { try object.attachAll() }\n"
    o += "}\n"
    return o
}

@main
enum Main {
    static func main() {
        do {
            let options = try Options(CommandLine.arguments)
            let text = try generate(options)
            let url = URL(fileURLWithPath: options.output)
            // Leave an unchanged file alone so dependants do not rebuild.
            if let old = try? String(contentsOf: url, encoding: .utf8), old == text { return }
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("error: bpf-skeleton: \(error)\n".utf8))
            exit(1)
        }
    }
}
