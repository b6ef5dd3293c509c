// SPDX-License-Identifier: BSD-2-Clause
// The parsers that read bytes a workload or a file can choose, each as a
// libFuzzer target. Built twice:
// - `make fuzz` (scripts/fuzz.sh): with -sanitize=fuzzer and
//   -DSWIFTBPF_FUZZ, libFuzzer drives LLVMFuzzerTestOneInput and provides
//   main; SWIFTBPF_FUZZ_TARGET picks the target.
// - in the normal build: `swiftbpf-fuzz TARGET FILE|DIR...` runs saved
//   inputs (the seed corpora, and every crash found, kept as a regression
//   input) through the same code, so the unit tests replay them.
// A target fails by trapping: a crash in a parser, or a property below
// that does not hold.
import BPFProbes
import Containers
import Foundation
import Glibc
import SwiftBPF
import Symbols
import Enforcers

enum FuzzTarget: String, CaseIterable {
    /// An ELF file's symbols, segments and notes (ELFSymbols).
    case elf
    /// A note section, wrapped in a well-formed ELF: the build-ID reader.
    case buildID = "build-id"
    /// /proc/PID/maps text (ProcessMaps).
    case maps
    /// /proc/kallsyms text (KernelSymbols).
    case kallsyms
    /// Ring-buffer records through every event view (RecordReader).
    case records
    /// pktfilter's rule syntax: SPEC, then an address or prefix, then ports.
    case rules
    /// A cgroup path (first line) and a runtime's state file (the rest).
    case runtimeState = "runtime-state"

    func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .elf: fuzzELF(Array(data))
        case .buildID: fuzzELF(Self.wrapInELF(notes: Array(data)))
        case .maps: fuzzMaps(String(decoding: data, as: UTF8.self))
        case .kallsyms: fuzzKallsyms(String(decoding: data, as: UTF8.self))
        case .records: fuzzRecords(data)
        case .rules: fuzzRules(String(decoding: data, as: UTF8.self))
        case .runtimeState: fuzzRuntimeState(data)
        }
    }
}

/// Keeps a value from being optimised away.
@inline(never) func sink<T>(_ value: T) { withExtendedLifetime(value) {} }
@inline(never) func sink(_ bytes: UnsafeRawBufferPointer) { sink(bytes.reduce(0) { $0 &+ Int($1) }) }

func check(_ condition: @autoclosure () -> Bool, _ what: String) {
    if !condition() { fatalError("property failed: \(what)") }
}

/// The bytes as a file (an unlinked one, rewritten for each input), so
/// the ELF reader gets a descriptor.
func fuzzELF(_ bytes: [UInt8]) {
    let fd = FuzzScratch.file
    guard fd >= 0, ftruncate(fd, 0) == 0 else { return }
    let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    guard written == bytes.count else { return }
    guard let symbols = try? ELFSymbols(fileDescriptor: fd, name: "fuzz") else { return }
    if let id = symbols.buildID { check(id.count % 2 == 0 && id.count <= 128, "build ID is whole bytes, at most 64") }
    for address: UInt64 in [0, 1, 0x1000, 0x401000, UInt64.max / 2, UInt64.max] {
        if let (name, offset) = symbols.symbol(at: address) { sink(name); sink(offset) }
        sink(symbols.address(atFileOffset: address))
    }
}

/// A little-endian ELF64 file: header, the note section, a section-name
/// table, and the section headers (null, .note.gnu.build-id, .shstrtab).
extension FuzzTarget {
    static func wrapInELF(notes: [UInt8]) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        func u32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        func u64(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(v).littleEndian, Array.init) }
        let names: [UInt8] = Array("\0.note.gnu.build-id\0.shstrtab\0".utf8)
        let notesAt = 64, namesAt = notesAt + notes.count
        var headersAt = namesAt + names.count
        headersAt += (8 - headersAt % 8) % 8
        var out: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += u16(3) + u16(62) + u32(1) + u64(0) + u64(0) + u64(headersAt)   // ET_DYN, x86-64, no phdrs
        out += u32(0) + u16(64) + u16(56) + u16(0) + u16(64) + u16(3) + u16(2)
        out += notes + names
        out += [UInt8](repeating: 0, count: headersAt - out.count)
        func section(name: Int, type: Int, offset: Int, size: Int, align: Int) -> [UInt8] {
            u32(name) + u32(type) + u64(2) + u64(0) + u64(offset) + u64(size) + u32(0) + u32(0) + u64(align) + u64(0)
        }
        out += [UInt8](repeating: 0, count: 64)
        out += section(name: 1, type: 7, offset: notesAt, size: notes.count, align: 4)          // SHT_NOTE
        out += section(name: 20, type: 3, offset: namesAt, size: names.count, align: 1)         // SHT_STRTAB
        return out
    }
}

func fuzzMaps(_ text: String) {
    let maps = ProcessMaps(pid: 1, text: text)
    for address: UInt64 in [0, 0x400000, 0x7fff_0000_0000, UInt64.max] {
        if let m = maps.mapping(at: address) { sink(m) }
    }
}

func fuzzKallsyms(_ text: String) {
    guard let symbols = try? KernelSymbols(kallsyms: text) else { return }
    for address: UInt64 in [0, 0xffff_ffff_8100_0000, 0xffff_ffff_c000_0000, UInt64.max] {
        if let s = symbols.symbol(at: address) {
            sink(s)
            check(!s.name.isEmpty, "a symbol has a name")
        }
    }
}

/// Every event view over the same bytes, every field read: a view must
/// refuse a short record or read within it, never past it.
func fuzzRecords(_ data: UnsafeRawBufferPointer) {
    // A copy of exactly the input's length, so a read past it is caught
    // (the sanitizer's bounds, or the allocator's).
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: data)
    let bytes = UnsafeRawBufferPointer(copy)
    func task(_ t: TaskInfo) {
        sink(t.timestamp); sink(t.cgroupID); sink(t.pid); sink(t.tid); sink(t.ppid); sink(t.uid); sink(t.comm)
        sink(t.namespacePID); sink(t.namespaceTID)
        check(t.comm.count <= 16, "comm is at most 16 bytes")
    }
    func inside(_ b: UnsafeRawBufferPointer, _ what: String) {
        guard let start = b.baseAddress, b.count > 0 else { return }
        check(start >= bytes.baseAddress! && start + b.count <= bytes.baseAddress! + bytes.count, "\(what) lies in the record")
        sink(b)
    }
    if let e = PathEvent(bytes) { task(e.task); sink(e.result); sink(e.directoryFD); sink(e.mode); sink(e.callFlags); sink(e.syscall); inside(e.path, "path") }
    if let e = ExecEvent(bytes) {
        task(e.task); sink(e.result); inside(e.filename, "filename"); sink(e.moreArguments); sink(e.argumentCut)
        for a in e.arguments { inside(a, "argument") }
    }
    if let e = SysnoopEvent(bytes) { task(e.task); sink(e.latencyNanoseconds); sink(e.index); sink(e.number); sink(e.result); sink(e.arguments) }
    if let e = ReadlineEvent(bytes) { task(e.task); sink(e.isTruncated); inside(e.line, "line") }
    if let e = FilelifeEvent(bytes) { task(e.task); sink(e.ageNanoseconds); sink(e.creatorPID); inside(e.creatorComm, "comm"); inside(e.name, "name") }
    if let e = TcpstateEvent(bytes) { task(e.task); sink(e.flow); sink(e.socket); sink(e.nanosecondsInOldState); sink(e.oldState); sink(e.newState) }
    if let e = TcplifeEvent(bytes) { task(e.task); sink(e.flow); sink(e.durationNanoseconds); sink(e.sentBytes); sink(e.receivedBytes); sink(e.isPassive) }
    if let e = TcpretransEvent(bytes) { task(e.task); sink(e.flow); sink(e.state); sink(e.retransmitKind) }
    if let e = SkbdropEvent(bytes) {
        task(e.task); sink(e.flow); sink(e.location); sink(e.reason); sink(e.ethernetProtocol); sink(e.interfaceName); sink(e.inputInterface)
    }
    if let e = ExitEvent(bytes) { task(e.task); sink(e.ageNanoseconds); sink(e.status); sink(e.exitCode); sink(e.signal); sink(e.dumpedCore) }
    if let e = SignalEvent(bytes) { task(e.task); sink(e.targetPID); sink(e.signal); sink(e.result); sink(e.code); sink(e.targetComm) }
    if let e = OomEvent(bytes) { task(e.task); sink(e.victimPID); sink(e.victimComm); sink(e.victimUID); sink(e.memory) }
    if let e = BlockEvent(bytes) {
        task(e.task); sink(e.device); sink(e.sector); sink(e.bytes); sink(e.commandFlags); sink(e.latencyNanoseconds); sink(e.queuedNanoseconds); sink(e.error)
    }
    if let e = MountEvent(bytes) {
        task(e.task); sink(e.ret); sink(e.call); sink(e.flags); sink(e.mntNs); sink(e.dfd); sink(e.toDfd); sink(e.attrFlags)
        inside(e.fstype, "fstype"); inside(e.source, "source"); inside(e.target, "target")
    }
    if let e = JourneyHop(bytes) {
        task(e.task); sink(e.skb); sink(e.journey); sink(e.flow); sink(e.point); sink(e.ctInfo); sink(e.location)
        inside(e.ifname, "ifname"); inside(e.origSrc, "orig_src"); inside(e.replyDst, "reply_dst")
    }
}

/// SPEC, then an address or prefix, then a port range, one per line. A
/// rule that parses must read back as itself.
func fuzzRules(_ text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let spec = lines.first {
        for action in [PacketRule.Action.drop, .allow] {
            guard let rule = try? PacketRule(spec, action: action) else { continue }
            check(rule.destinationPorts.map { $0.lowerBound >= 1 } ?? true, "ports start at 1")
            let description = rule.description
            check(!description.isEmpty && !description.contains("\n"), "a rule reads as one line")
        }
    }
    // egressguard's PROTO[:PORTS][@CIDR]: a rule that parses reads back as itself.
    if let spec = lines.first, let rule = try? EgressRule(spec, action: .allow) {
        check(rule.ports.map { $0.lowerBound >= 1 && (rule.proto == .tcp || rule.proto == .udp) } ?? true, "ports only with tcp and udp")
        check((try? EgressRule(rule.spec, action: .allow)) == rule, "\(rule.spec) reads back as itself")
    }
    if lines.count > 1, let prefix = IPPrefix(lines[1]) {
        check(prefix.bytes.count == (prefix.family == 4 ? 4 : 16), "an address has its family's length")
        check((0...(prefix.bytes.count * 8)).contains(prefix.length), "a prefix length fits its family")
        let again = IPPrefix(prefix.description)
        check(again == prefix, "\(prefix) reads back as itself")
    }
    if lines.count > 2, let ports = try? PacketRule.ports(lines[2]) {
        check(ports.lowerBound >= 1, "ports start at 1")
    }
}

/// The runtimes' records are files a workload's runtime writes, and a
/// cgroup's path is named by whoever made the cgroup. A path is
/// attributed to a container only when the record says that path.
func fuzzRuntimeState(_ data: UnsafeRawBufferPointer) {
    let text = Array(data)
    let newline = text.firstIndex(of: 10) ?? text.count
    let path = String(decoding: text[..<newline], as: UTF8.self)
    let file = Array(text[min(newline + 1, text.count)...])
    let id = String(repeating: "ab12", count: 16)
    let root = FuzzScratch.root
    for (dir, name) in [("run/containerd/io.containerd.runtime.v2.task/k8s.io/\(id)", "config.json"),
                        ("run/containers/storage/overlay-containers/\(id)/userdata", "config.json"),
                        ("var/lib/containers/storage/overlay-containers/\(id)/userdata", "config.json"),
                        ("var/lib/containers/storage/overlay-containers", "containers.json"),
                        ("var/lib/docker/containers/\(id)", "config.v2.json")] {
        try? FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: root + "/" + dir + "/" + name, contents: Data(file))
    }
    let state = RuntimeState(root: root)
    let w = state.workload(ofPath: path)
    if let c = w.container {
        // (the path as the hierarchy would give it: empty components dropped)
        let clean = "/" + path.split(separator: "/").joined(separator: "/")
        let recorded = state.recordedCgroup(of: c.id)
        check(recorded.map { clean == $0 || clean.hasPrefix($0 + "/") } == true, "a container's path is under its recorded cgroup")
    }
    sink(state.knownContainers())
    if let p = RuntimeState.cgroupPath(ociCgroupsPath: path) {
        check(p.hasPrefix("/") && !p.contains("//") && !p.split(separator: "/").contains(".."), "\(p) is a clean absolute path")
    }
}

/// One directory per process for the runtime-state target's files.
enum FuzzScratch {
    nonisolated(unsafe) static let root: String = {
        let dir = NSTemporaryDirectory() + "swiftbpf-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
    nonisolated(unsafe) static let file: Int32 = {
        let path = root + "/elf"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        unlink(path)
        return fd
    }()
}

#if SWIFTBPF_FUZZ
nonisolated(unsafe) let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["SWIFTBPF_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        StandardStreams.error("swiftbpf-fuzz: set SWIFTBPF_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        exit(2)
    }
    return target
}()

/// libFuzzer's entry (LLVM 12+): its main, run from ours, since the
/// package's executables keep a main of their own.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// What libFuzzer's own objects refer to; the same callback.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main
enum Fuzz {
    static func main() {
        _ = selected
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            selected.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
    }
}
#else
@main
enum Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count >= 2 else {
            StandardStreams.error("usage: swiftbpf-fuzz TARGET FILE|DIR... (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        var files: [String] = []
        for arg in args.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: arg, isDirectory: &isDirectory) else {
                StandardStreams.error("swiftbpf-fuzz: \(arg): no such file or directory")
                exit(2)
            }
            if isDirectory.boolValue {
                files += ((try? FileManager.default.contentsOfDirectory(atPath: arg)) ?? []).sorted().map { arg + "/" + $0 }
            } else {
                files.append(arg)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            data.withUnsafeBytes { target.run($0) }
        }
        print("\(target.rawValue): \(files.count) inputs replayed")
    }
}
#endif
