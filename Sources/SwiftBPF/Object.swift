// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Foundation
import SystemPackage

/// A compiled BPF object carried inside the binary (base64, as the build
/// plugin writes it: a string literal compiles far faster than a byte array).
public struct EmbeddedObject: Sendable {
    public let name: String
    public let base64: String

    public init(name: String, base64: String) {
        self.name = name
        self.base64 = base64
    }
}

/// Owns a libbpf `bpf_object` (and the bytes it was opened from); closing
/// it closes every program and map descriptor of the object.
final class ObjectHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// What the object was opened from: its bytes (owned here) or a file.
    enum Source { case memory(UnsafeMutableRawBufferPointer), file(String) }
    let source: Source

    init(pointer: OpaquePointer, source: Source) {
        self.pointer = pointer
        self.source = source
    }

    deinit {
        bpf_object__close(pointer)
        if case .memory(let storage) = source { storage.deallocate() }
    }

    /// Opens another copy of the same object (not configured).
    func reopen() -> OpaquePointer? {
        switch source {
        case .memory(let bytes):
            return ObjectOpenOptions.open(name: name) { opts in
                bpf_object__open_mem(bytes.baseAddress, bytes.count, opts)
            }
        case .file(let path):
            return ObjectOpenOptions.open(name: nil) { opts in bpf_object__open_file(path, opts) }
        }
    }

    var name: String { String(cString: bpf_object__name(pointer)) }

    func findProgram(_ name: String) -> OpaquePointer? { bpf_object__find_program_by_name(pointer, name) }
    func findMap(_ name: String) -> OpaquePointer? { bpf_object__find_map_by_name(pointer, name) }

    var programPointers: [OpaquePointer] {
        var out: [OpaquePointer] = []
        var p = bpf_object__next_program(pointer, nil)
        while let prog = p { out.append(prog); p = bpf_object__next_program(pointer, prog) }
        return out
    }

    var mapPointers: [OpaquePointer] {
        var out: [OpaquePointer] = []
        var m = bpf_object__next_map(pointer, nil)
        while let map = m { out.append(map); m = bpf_object__next_map(pointer, map) }
        return out
    }

    /// The whole verifier log of `program`: a second copy of the object,
    /// configured as this one (map sizes, global values) but loading only
    /// that program, is loaded with log buffers growing from
    /// `startingSize` until the log fits. nil when it never does.
    func fullVerifierLog(program: String, startingSize: Int) -> String? {
        var size = startingSize
        while size <= 1 << 30 {
            guard let copy = reopen() else { return nil }
            defer { bpf_object__close(copy) }
            var map = bpf_object__next_map(copy, nil)
            while let m = map {
                if let original = findMap(String(cString: bpf_map__name(m))) {
                    bpf_map__set_max_entries(m, bpf_map__max_entries(original))
                    var length = 0
                    if bpf_map__is_internal(m), let data = bpf_map__initial_value(original, &length) {
                        bpf_map__set_initial_value(m, data, length)
                    }
                }
                map = bpf_object__next_map(copy, m)
            }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            buffer[0] = 0
            var prog = bpf_object__next_program(copy, nil)
            while let p = prog {
                let wanted = String(cString: bpf_program__name(p)) == program
                bpf_program__set_autoload(p, wanted)
                if wanted {
                    bpf_program__set_log_buf(p, buffer, size)
                    bpf_program__set_log_level(p, 1)
                }
                prog = bpf_object__next_program(copy, p)
            }
            _ = LibbpfLog.capturing { bpf_object__load(copy) }
            if strlen(buffer) < size - 1 { return String(cString: buffer) }
            size *= 4
        }
        return nil
    }

    /// Where global variable `name` lives, from the object's BTF: the
    /// DATASEC that lists it gives its section, offset and size.
    func globalLocation(_ name: String) -> (section: String, offset: Int, size: Int)? {
        guard let btf = bpf_object__btf(pointer) else { return nil }
        for id in 1..<btf__type_cnt(btf) {
            guard let type = btf__type_by_id(btf, id), btf_is_datasec(type), let infos = btf_var_secinfos(type) else { continue }
            for info in UnsafeBufferPointer(start: infos, count: Int(btf_vlen(type))) {
                guard let variable = btf__type_by_id(btf, info.type),
                      String(cString: btf__name_by_offset(btf, variable.pointee.name_off)) == name else { continue }
                return (String(cString: btf__name_by_offset(btf, type.pointee.name_off)), Int(info.offset), Int(info.size))
            }
        }
        return nil
    }

    func requiredGlobal(_ name: String, size: Int) throws(BPFError) -> (section: String, offset: Int, size: Int) {
        guard let location = globalLocation(name) else { throw BPFError(.notFound, "no global variable '\(name)' in \(self.name)") }
        guard location.size == size else {
            throw BPFError(.sizeMismatch, "global '\(name)' of \(self.name) is \(location.size) bytes, not \(size)")
        }
        return location
    }

    /// The internal map holding a global-variable section (".rodata", ".bss"...).
    func sectionMap(_ section: String) -> OpaquePointer? {
        mapPointers.first { bpf_map__is_internal($0) && String(cString: bpf_map__name($0)).hasSuffix(section) }
    }
}

/// How a probe sees a syscall's exit with its arguments (`chooseSyscallExitProgram`).
public enum SyscallPrograms: Sendable, CustomStringConvertible {
    /// One tp_btf/sys_exit program: the registers saved at entry.
    case tpBTF
    /// The syscall tracepoints, the arguments carried from enter to exit.
    case tracepoints

    public var description: String {
        switch self {
        case .tpBTF: "syscalls seen at tp_btf/sys_exit"
        case .tracepoints: "syscalls seen at their tracepoints (tp_btf needs kernel BTF, Linux 5.5)"
        }
    }
}

/// An opened BPF object that is not loaded yet: the only phase in which map
/// sizes, program autoload and read-only (`const volatile`) globals can be
/// set. `load()` consumes it, so configuring after load does not compile.
public struct OpenObject: ~Copyable {
    let handle: ObjectHandle

    /// Opens an object embedded by the build plugin.
    public init(embedded: EmbeddedObject) throws(BPFError) {
        guard let data = Data(base64Encoded: embedded.base64) else {
            throw BPFError(.invalidObject, "embedded object '\(embedded.name)' is not valid base64")
        }
        try self.init(bytes: [UInt8](data), name: embedded.name)
    }

    /// Opens an object from the bytes of a BPF ELF file.
    public init(bytes: [UInt8], name: String) throws(BPFError) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        // errno is taken inside: the log capture runs code after the call.
        let (result, log) = LibbpfLog.capturing { () -> (OpaquePointer?, Int32) in
            var code: Int32 = 0
            let object = ObjectOpenOptions.open(name: name) { opts in
                let object = bpf_object__open_mem(storage.baseAddress, bytes.count, opts)
                code = errno
                return object
            }
            return (object, code)
        }
        guard case .success((let pointer?, _)) = result else {
            let e = if case .success((_, let code)) = result { Errno(rawValue: code) } else { Errno.invalidArgument }
            storage.deallocate()
            throw BPFError(.invalidObject, "cannot open BPF object '\(name)': \(e) \(BPFError.mostSpecific(log) ?? "")", errno: e)
        }
        handle = ObjectHandle(pointer: pointer, source: .memory(UnsafeMutableRawBufferPointer(rebasing: storage[..<bytes.count])))
        handle.programPointers.forEach(NetfilterProgram.adopt)
    }

    /// Opens a BPF ELF object file.
    public init(path: FilePath) throws(BPFError) {
        let (result, log) = LibbpfLog.capturing { () -> (OpaquePointer?, Int32) in
            var code: Int32 = 0
            let object = ObjectOpenOptions.open(name: nil) { opts in
                let object = bpf_object__open_file(path.string, opts)
                code = errno
                return object
            }
            return (object, code)
        }
        guard case .success((let pointer?, _)) = result else {
            let e = if case .success((_, let code)) = result { Errno(rawValue: code) } else { Errno.invalidArgument }
            let code: BPFError.Code = e == .noSuchFileOrDirectory ? .notFound : .invalidObject
            throw BPFError(code, "cannot open BPF object \(path): \(e) \(log.last ?? "")", errno: e)
        }
        handle = ObjectHandle(pointer: pointer, source: .file(path.string))
        handle.programPointers.forEach(NetfilterProgram.adopt)
    }

    /// The object's name.
    public var name: String { handle.name }
    /// Names of the object's programs.
    public var programNames: [String] { handle.programPointers.map { String(cString: bpf_program__name($0)) } }
    /// Names of the object's maps, global-variable sections included.
    public var mapNames: [String] { handle.mapPointers.map { String(cString: bpf_map__name($0)) } }

    /// Chooses whether `program` is loaded; a program for a tracepoint the
    /// kernel lacks can be left out instead of failing the whole object.
    public mutating func setAutoload(_ enabled: Bool, program: String) throws(BPFError) {
        guard let prog = handle.findProgram(program) else { throw BPFError(.notFound, "no program '\(program)' in \(name)") }
        let rc = bpf_program__set_autoload(prog, enabled)
        if rc != 0 { throw BPFError.system("cannot set autoload of '\(program)'", rc) }
    }

    /// For an object with a `tp_btf/sys_exit` program and syscall
    /// tracepoint programs that do the same work (mkdirtrace, opensnoop):
    /// loads the first where tp_btf attaches (kernel BTF at
    /// /sys/kernel/btf/vmlinux, Linux 5.5), else the tracepoints. Returns
    /// which, or nil for an object without the choice.
    public mutating func chooseSyscallExitProgram() -> SyscallPrograms? {
        // The tracepoints' sections start with "?": not loaded unless chosen.
        let sections = handle.programPointers.map { ($0, Self.section($0)) }
        let btf = sections.filter { $0.1.hasPrefix("tp_btf/") }, tracepoints = sections.filter { $0.1.hasPrefix("tracepoint/syscalls/") }
        guard !btf.isEmpty, !tracepoints.isEmpty else { return nil }
        let useBTF = Kernel.supports(.btf) && Kernel.versionAtLeast(5, 5)
        for (prog, _) in btf { bpf_program__set_autoload(prog, useBTF) }
        for (prog, _) in tracepoints { bpf_program__set_autoload(prog, !useBTF) }
        return useBTF ? .tpBTF : .tracepoints
    }

    /// A program's section without the "?" that says it is not loaded by default.
    static func section(_ prog: OpaquePointer) -> String {
        let name = String(cString: bpf_program__section_name(prog))
        return name.hasPrefix("?") ? String(name.dropFirst()) : name
    }

    /// Turns autoload off for every program whose `SEC("tracepoint/CAT/NAME")`
    /// names a tracepoint this kernel lacks (openat2 on an old kernel, open
    /// on arm64), so the rest still loads. Returns the programs left out.
    @discardableResult
    public mutating func disableProgramsForMissingTracepoints() throws(BPFError) -> [String] {
        var disabled: [String] = []
        for prog in handle.programPointers where bpf_program__autoload(prog) {
            let parts = Self.section(prog).split(separator: "/").map(String.init)
            guard parts.count == 3, parts[0] == "tracepoint" || parts[0] == "tp" else { continue }
            if try !Kernel.tracepointExists(category: parts[1], name: parts[2]) {
                bpf_program__set_autoload(prog, false)
                disabled.append(String(cString: bpf_program__name(prog)))
            }
        }
        return disabled
    }

    /// Pins `map` at `path` on load, reusing the map already pinned there.
    /// The directory is created, and bpffs mounted at `/sys/fs/bpf` when
    /// the path lies under it and it is missing.
    public mutating func setPinPath(_ path: FilePath, map: String) throws(BPFError) {
        guard let m = handle.findMap(map) else { throw BPFError(.notFound, "no map '\(map)' in \(name)") }
        try Kernel.makeBPFFSDirectory(path.removingLastComponent())
        let rc = bpf_map__set_pin_path(m, path.string)
        if rc != 0 { throw BPFError.system("cannot set pin path of '\(map)'", rc) }
    }

    /// Sets the size of a map's values (before load).
    public mutating func setValueSize(_ size: UInt32, map: String) throws(BPFError) {
        guard let m = handle.findMap(map) else { throw BPFError(.notFound, "no map '\(map)' in \(name)") }
        let rc = bpf_map__set_value_size(m, size)
        if rc != 0 { throw BPFError.system("cannot set the value size of '\(map)'", rc) }
    }

    /// Makes a map a perf event array, one perf buffer per CPU (Linux
    /// 4.3): the fallback for a ring buffer where the kernel has none.
    public mutating func makePerfEventArray(map: String) throws(BPFError) {
        guard let m = handle.findMap(map) else { throw BPFError(.notFound, "no map '\(map)' in \(name)") }
        var rc = bpf_map__set_type(m, BPF_MAP_TYPE_PERF_EVENT_ARRAY)
        if rc == 0 { rc = bpf_map__set_key_size(m, 4) }
        if rc == 0 { rc = bpf_map__set_value_size(m, 4) }
        // 0: libbpf makes it one slot per possible CPU.
        if rc == 0 { rc = bpf_map__set_max_entries(m, 0) }
        if rc != 0 { throw BPFError.system("cannot make '\(map)' a perf event array", rc) }
    }

    /// Sets a map's capacity; for a ring buffer, its size in bytes (a power
    /// of two and a multiple of the page size).
    public mutating func setMaxEntries(_ count: UInt32, map: String) throws(BPFError) {
        guard let m = handle.findMap(map) else { throw BPFError(.notFound, "no map '\(map)' in \(name)") }
        if bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF {
            let page = UInt32(sysconf(Int32(_SC_PAGESIZE)))
            guard count >= page, count.nonzeroBitCount == 1 else {
                throw BPFError(.invalidArgument, "ring buffer '\(map)' size \(count) must be a power of two and at least \(page) bytes", errno: .invalidArgument)
            }
        }
        let rc = bpf_map__set_max_entries(m, count)
        if rc != 0 { throw BPFError.system("cannot resize map '\(map)'", rc) }
    }

    /// Whether `map` is created at load (the default). A map left out must
    /// be used only by code the verifier can prove dead, typically behind a
    /// read-only global set before load: a fallback for a kernel without the
    /// map's type. libbpf 1.0+.
    public mutating func setAutocreate(_ create: Bool, map: String) throws(BPFError) {
        guard let m = handle.findMap(map) else { throw BPFError(.notFound, "no map '\(map)' in \(name)") }
        let rc = bpf_map__set_autocreate(m, create)
        if rc != 0 { throw BPFError.system("cannot set whether map '\(map)' is created", rc) }
    }

    /// Whether the object has a global variable called `name`.
    public func hasGlobal(_ name: String) -> Bool { handle.globalLocation(name) != nil }

    /// Reads global variable `name`, found through the object's BTF (its
    /// DATASEC records say which section and offset).
    public func global<T: BitwiseCopyable>(_ name: String, as type: T.Type = T.self) throws(BPFError) -> T {
        let location = try handle.requiredGlobal(name, size: MemoryLayout<T>.size)
        return try global(T.self, section: location.section, offset: location.offset)
    }

    /// Sets global variable `name`'s initial value, found through the
    /// object's BTF; for a `const volatile` global this is the value the
    /// verifier sees as a constant. Throws `.notFound` for no such global
    /// and `.sizeMismatch` when `T` is not the variable's size.
    public mutating func setGlobal<T: BitwiseCopyable>(_ name: String, to value: T) throws(BPFError) {
        let location = try handle.requiredGlobal(name, size: MemoryLayout<T>.size)
        try setGlobal(value, section: location.section, offset: location.offset)
    }

    /// Reads a global variable at `offset` in `section` (".rodata", ".bss", ".data").
    public func global<T: BitwiseCopyable>(_ type: T.Type, section: String, offset: Int) throws(BPFError) -> T {
        let base = try sectionData(section, offset: offset, count: MemoryLayout<T>.size)
        return base.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    /// Sets a global variable's initial value by section and offset.
    public mutating func setGlobal<T: BitwiseCopyable>(_ value: T, section: String, offset: Int) throws(BPFError) {
        let base = try sectionData(section, offset: offset, count: MemoryLayout<T>.size)
        base.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    /// The bytes of a global variable (for generated skeletons).
    public func globalBytes(section: String, offset: Int, count: Int) throws(BPFError) -> [UInt8] {
        let base = try sectionData(section, offset: offset, count: count)
        return Array(UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    /// Sets a global variable's initial bytes (for generated skeletons).
    public mutating func setGlobalBytes(_ bytes: [UInt8], section: String, offset: Int) throws(BPFError) {
        let base = try sectionData(section, offset: offset, count: bytes.count)
        bytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// For generated skeletons' properties, whose sections and offsets come
    /// from this very object: a mismatch means a stale skeleton, a bug.
    @_spi(Skeleton)
    public func skeletonGlobalBytes(section: String, offset: Int, count: Int) -> [UInt8] {
        do { return try globalBytes(section: section, offset: offset, count: count) } catch {
            preconditionFailure("skeleton out of date: \(error)")
        }
    }

    @_spi(Skeleton)
    public mutating func setSkeletonGlobalBytes(_ bytes: [UInt8], section: String, offset: Int) {
        do { try setGlobalBytes(bytes, section: section, offset: offset) } catch {
            preconditionFailure("skeleton out of date: \(error)")
        }
    }

    /// The section's initial data, checked to hold `count` bytes at `offset`.
    private func sectionData(_ section: String, offset: Int, count: Int) throws(BPFError) -> UnsafeMutableRawPointer {
        guard let map = handle.sectionMap(section) else { throw BPFError(.notFound, "no \(section) section in \(name)") }
        var size = 0
        guard let base = bpf_map__initial_value(map, &size) else { throw BPFError(.notFound, "\(section) of \(name) has no data") }
        guard offset >= 0, count >= 0, offset + count <= size else {
            throw BPFError(.outOfBounds, "\(count) bytes at offset \(offset) do not fit \(section) of \(name) (\(size) bytes)", errno: .invalidArgument)
        }
        return UnsafeMutableRawPointer(mutating: base)
    }

    /// Creates the maps and loads every program whose autoload is on. A
    /// verifier rejection throws `.verifierRejected` with the verifier's
    /// last lines.
    public consuming func load() throws(BPFError) -> LoadedObject {
        let handle = self.handle
        // A buffer of our own for each program: libbpf retries a failed load
        // with logging into it. Linux 6.4+ keeps an overflowing log's tail;
        // older kernels keep its head (handled below).
        let logSize = 1 << 20
        var buffers: [UnsafeMutablePointer<CChar>] = []
        defer { buffers.forEach { $0.deallocate() } }
        for prog in handle.programPointers where bpf_program__autoload(prog) {
            let buf = UnsafeMutablePointer<CChar>.allocate(capacity: logSize)
            buf[0] = 0
            buffers.append(buf)
            bpf_program__set_log_buf(prog, buf, logSize)
        }
        let (result, log) = LibbpfLog.capturing { bpf_object__load(handle.pointer) }
        guard case .success(let rc) = result, rc != 0 else { return LoadedObject(handle) }
        // No BTF to relocate against: that, not libbpf's symptom of it.
        if let why = KernelBTF.missing { throw BPFError(.featureMissing(.btf), why, errno: .notSupported) }

        for (i, prog) in handle.programPointers.filter({ bpf_program__autoload($0) }).enumerated() where buffers[i][0] != 0 {
            let pname = String(cString: bpf_program__name(prog))
            var text = String(cString: buffers[i])
            // Before Linux 6.4 an overflowing log keeps its head, not the
            // lines that say why: verify that program again, alone, with a
            // log large enough to hold its end.
            if strlen(buffers[i]) >= logSize - 1, let whole = handle.fullVerifierLog(program: pname, startingSize: logSize * 16) {
                text = whole
            }
            let lines = relevantVerifierLines(text)
            let reason = lines.last ?? "rejected"
            throw BPFError(.verifierRejected, "the kernel verifier rejected program '\(pname)' of \(handle.name): \(reason)",
                           errno: Errno(rawValue: abs(rc)), verifierLog: lines)
        }
        // A trampoline program the kernel refuses without a verifier word
        // (no ftrace direct calls, a lockdown): a missing feature, named.
        let e = Errno(rawValue: abs(rc))
        if [.notPermitted, .notSupported, Errno(rawValue: 524)].contains(e), Kernel.privileges.canUseBPF,
           let prog = handle.programPointers.first(where: { bpf_program__autoload($0) && bpf_program__type($0) == BPF_PROG_TYPE_TRACING }),
           log.contains(where: { $0.contains("prog '\(String(cString: bpf_program__name(prog)))'") }) {
            let pname = String(cString: bpf_program__name(prog))
            throw BPFError(.featureMissing(.fentry),
                           "this kernel refuses BPF trampolines (fentry/fexit): loading program '\(pname)' of \(handle.name) failed with \(e); leave it out (setAutoload) and use a kprobe",
                           errno: e)
        }
        throw BPFError.system("cannot load BPF object \(handle.name)", rc, libbpfMessages: log)
    }
}

/// The verifier's closing lines: what it was checking when it gave up.
func relevantVerifierLines(_ log: String, count: Int = 12) -> [String] {
    let noise = ["processed ", "verification time", "stack depth", "max_states_per_insn", "peak_states", "mark_read"]
    let lines = log.split(separator: "\n").map(String.init).filter { line in
        !line.trimmingCharacters(in: .whitespaces).isEmpty && !noise.contains { line.hasPrefix($0) }
    }
    return Array(lines.suffix(count))
}

/// A loaded BPF object. It owns its programs' and maps' file descriptors
/// and closes them when the last reference goes away; links made from its
/// programs stay attached until they are released themselves.
public final class LoadedObject: Sendable {
    let handle: ObjectHandle

    init(_ handle: ObjectHandle) { self.handle = handle }

    /// The object's name.
    public var name: String { handle.name }

    /// All programs of the object, loaded or left out with autoload.
    public var programs: [Program] { handle.programPointers.map { Program(object: self, pointer: $0) } }

    /// All maps of the object, global-variable sections included.
    public var maps: [Map] { handle.mapPointers.map { Map(object: self, pointer: $0) } }

    /// The program called `name`, if there is one.
    public func program(named name: String) -> Program? {
        handle.findProgram(name).map { Program(object: self, pointer: $0) }
    }

    /// The map called `name`, if there is one.
    public func map(named name: String) -> Map? {
        handle.findMap(name).map { Map(object: self, pointer: $0) }
    }

    /// For generated skeletons, whose names come from the object they
    /// embed: a miss means the object is not the one it was generated from.
    @_spi(Skeleton)
    public func skeletonProgram(_ name: String) throws(BPFError) -> Program {
        guard let p = program(named: name) else { throw BPFError(.notFound, "the object has no program \(name): it is not the one its skeleton was generated from") }
        return p
    }

    /// For generated skeletons (see `skeletonProgram`).
    @_spi(Skeleton)
    public func skeletonMap(_ name: String) throws(BPFError) -> Map {
        guard let m = map(named: name) else { throw BPFError(.notFound, "the object has no map \(name): it is not the one its skeleton was generated from") }
        return m
    }

    /// Reads global variable `name` from the kernel's copy of its section,
    /// found through the object's BTF.
    public func global<T: BitwiseCopyable>(_ name: String, as type: T.Type = T.self) throws(BPFError) -> T {
        let location = try handle.requiredGlobal(name, size: MemoryLayout<T>.size)
        return try global(T.self, section: location.section, offset: location.offset)
    }

    /// Reads a global variable from the kernel's copy of its section.
    public func global<T: BitwiseCopyable>(_ type: T.Type, section: String, offset: Int) throws(BPFError) -> T {
        try globalBytes(section: section, offset: offset, count: MemoryLayout<T>.size).withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    /// The bytes of a global variable, from the kernel's copy of its section.
    public func globalBytes(section: String, offset: Int, count: Int) throws(BPFError) -> [UInt8] {
        guard let m = handle.sectionMap(section) else { throw BPFError(.notFound, "no \(section) section in \(name)") }
        let size = Int(bpf_map__value_size(m))
        guard offset >= 0, count >= 0, offset + count <= size else {
            throw BPFError(.outOfBounds, "\(count) bytes at offset \(offset) do not fit \(section) of \(name) (\(size) bytes)", errno: .invalidArgument)
        }
        var buffer = [UInt8](repeating: 0, count: size)
        var key: UInt32 = 0
        if bpf_map_lookup_elem(bpf_map__fd(m), &key, &buffer) != 0 {
            throw BPFError.fromErrno("cannot read \(section) of \(name)")
        }
        return Array(buffer[offset..<(offset + count)])
    }

    /// Attaches every loaded program at the place its `SEC()` names.
    /// On failure, links made so far are released (and so detached).
    public func attachAll() throws(BPFError) -> [Link] {
        var links: [Link] = []
        for program in programs where program.isLoaded {
            links.append(try program.attach())
        }
        return links
    }
}
