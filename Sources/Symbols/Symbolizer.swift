// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Synchronization

/// One frame of a stack, named.
public struct Frame: Sendable, Hashable {
    public enum Origin: Sendable, Hashable { case kernel, user }
    public var address: UInt64
    public var origin: Origin
    /// The function, demangled; nil when no symbol covers the address.
    public var function: String?
    /// Bytes into the function.
    public var offset: UInt64
    /// The kernel module, or the file's name for user code; nil for the
    /// kernel proper and for anonymous memory (JIT code).
    public var module: String?
    /// Why the frame has no name, when something is known: "exited".
    public var note: String?

    public init(address: UInt64, origin: Origin, function: String?, offset: UInt64, module: String?, note: String?) {
        self.address = address
        self.origin = origin
        self.function = function
        self.offset = offset
        self.module = module
        self.note = note
    }

    /// The function, else `[unknown]` with what is known of where.
    public var name: String {
        if let function { return function }
        var s = "[unknown]"
        if let module { s += " (\(module))" }
        if let note { s += " (\(note))" }
        return s
    }

    /// Whether the frame is the Swift runtime's (a flame graph colours it).
    public var isSwiftRuntime: Bool {
        origin == .user && (module?.hasPrefix("libswift") == true || function?.hasPrefix("swift_") == true)
    }
}

/// Names kernel and user addresses. Kernel symbols are read once. A
/// process's memory map is read when the process is first seen
/// (`remember(pid:)`), so a process that exits before the report is still
/// named from the map read while it lived. The files mapped there are
/// parsed when first needed, once per file (by device and inode), through
/// `/proc/PID/root` while the process lives, so a binary in a container is
/// read from the container's filesystem.
public final class Symbolizer: Sendable {
    /// Kernel symbols are read on the first kernel frame, not at start:
    /// parsing kallsyms takes a moment a tool should not spend before it
    /// attaches.
    private enum KernelTable: Sendable {
        case notWanted, notRead
        case read(KernelSymbols)
        case unavailable(String)
    }
    private let kernel: Mutex<KernelTable>
    private struct State {
        var processes: [Int32: ProcessMaps] = [:]
        var files: [FileKey: ELFSymbols] = [:]
        /// Files that could not be read, with why: skipped, and named once.
        var unreadable: [FileKey: UnreadableFile] = [:]
        /// The mapped files of processes read so far, held open (through
        /// map_files) until parsed: a process that exits before the report
        /// leaves its files readable, with no path to trust.
        var held: [FileKey: Int32] = [:]
    }
    private struct FileKey: Hashable { var device: String; var inode: UInt64 }
    private let state = Mutex(State())
    let procRoot: String

    public init(kernelSymbols: Bool = true, procRoot: String = "/proc") {
        self.procRoot = procRoot
        kernel = Mutex(kernelSymbols ? .notRead : .notWanted)
    }

    deinit {
        state.withLock { s in s.held.values.forEach { close($0) } }
    }

    /// A mapped file whose frames stay unnamed: its path as the process
    /// maps it (the workload's choice: escape it before printing) and why.
    public struct UnreadableFile: Sendable, Hashable {
        public var path: String
        public var reason: String
    }

    /// Every file skipped so far, each once, by path: for a report to name.
    public var unreadableFiles: [UnreadableFile] {
        state.withLock { Array(Set($0.unreadable.values)) }.sorted { ($0.path, $0.reason) < ($1.path, $1.reason) }
    }

    /// Why kernel frames cannot be named, once that is known (after the
    /// first kernel frame).
    public var kernelUnavailable: String? {
        if case .unavailable(let why) = kernel.withLock({ $0 }) { return why }
        return nil
    }

    private var kernelSymbols: KernelSymbols? {
        kernel.withLock { table in
            if case .notRead = table {
                do {
                    table = .read(try KernelSymbols(path: "\(procRoot)/kallsyms"))
                } catch {
                    table = .unavailable(String(describing: error))
                }
            }
            if case .read(let symbols) = table { return symbols }
            return nil
        }
    }

    /// Reads kallsyms now, unless done (or not wanted) before: for a tool
    /// that names kernel addresses later and would rather not wait then.
    /// Call it off the queue that needs the names.
    public func readKernelSymbols() {
        _ = kernelSymbols
    }

    /// Reads a process's memory map now, unless done before. Returns false
    /// when the process is gone. Cheap: the files it maps are parsed when
    /// a frame first needs them.
    @discardableResult
    public func remember(pid: Int32) -> Bool {
        if state.withLock({ $0.processes[pid] != nil }) { return true }
        guard let maps = ProcessMaps(pid: pid, procRoot: procRoot) else { return false }
        // Its executable files, held while the process lives (each once;
        // a descriptor per file, which the report then parses).
        var toHold: [(FileKey, Mapping)] = []
        state.withLock { s in
            s.processes[pid] = s.processes[pid] ?? maps
            for m in maps.mappings where m.isFile && m.executable {
                let key = FileKey(device: m.device, inode: m.inode)
                // (At most 512 at a time: descriptors are finite.)
                if s.files[key] == nil && s.unreadable[key] == nil && s.held[key] == nil && s.held.count + toHold.count < 512
                    && !toHold.contains(where: { $0.0 == key }) {
                    toHold.append((key, m))
                }
            }
        }
        for (key, m) in toHold {
            guard let fd = try? ContainedFile.openMapped(pid: pid, start: m.start, end: m.end, procRoot: procRoot,
                                                         expectedInode: m.inode) else { continue }
            let kept = state.withLock { s -> Bool in
                guard s.held[key] == nil, s.files[key] == nil, s.unreadable[key] == nil else { return false }
                s.held[key] = fd
                return true
            }
            if !kept { close(fd) }
        }
        return true
    }

    /// The symbols of a file mapped by `pid`: parsed once per file (by
    /// device and inode), as the process sees it (`/proc/PID/root`, its
    /// container's filesystem) while it lives, else by its path here when
    /// that is the same inode.
    private func symbols(of m: Mapping, pid: Int32) -> ELFSymbols? {
        let key = FileKey(device: m.device, inode: m.inode)
        let known: ELFSymbols?? = state.withLock { s in
            if let f = s.files[key] { return .some(f) }
            return s.unreadable[key] != nil ? .some(nil) : .none
        }
        if let known { return known }
        // Never a path a workload could have planted something at: the
        // mapped file itself (map_files), held since the process's map was
        // read or opened now while it lives; without
        // that (no CAP_SYS_ADMIN), its path inside the process's root (a
        // symlink planted there stays there); once it is gone, the same
        // path here. By path, only the file the map names by device and
        // inode is taken (a container's /bin/sh is not ours); some
        // filesystems (9p, overlayfs over another filesystem) report
        // another device to stat than to the map, and are then left out.
        var refusal: String?
        func parse(_ fd: Int32) -> ELFSymbols? {
            defer { close(fd) }
            do {
                return try ELFSymbols(fileDescriptor: fd, name: m.path)
            } catch {
                refusal = error.description
                return nil
            }
        }
        let held = state.withLock { s in s.held.removeValue(forKey: key) }
        var parsed = held.flatMap(parse)
            ?? (try? ContainedFile.openMapped(pid: pid, start: m.start, end: m.end, procRoot: procRoot, expectedInode: m.inode)).flatMap(parse)
        for root in ["\(procRoot)/\(pid)/root", "/"] where parsed == nil {
            parsed = (try? ContainedFile.open(m.path, inRoot: root, expected: (m.device, m.inode))).flatMap(parse)
        }
        state.withLock { s in
            if let parsed {
                s.files[key] = parsed
            } else {
                s.unreadable[key] = UnreadableFile(path: m.path, reason: refusal ?? "not the file the process maps, or gone")
            }
        }
        return parsed
    }

    /// A kernel address, named from kallsyms.
    /// A kernel address as a place: "nf_hook_slow+0x4a", or the address
    /// when kallsyms cannot name it.
    public func kernelPlace(_ address: UInt64) -> String {
        let frame = kernelFrame(address)
        guard let name = frame.function else { return "0x" + String(address, radix: 16) }
        return name + "+0x" + String(frame.offset, radix: 16)
    }

    public func kernelFrame(_ address: UInt64) -> Frame {
        guard let s = kernelSymbols?.symbol(at: address) else {
            return Frame(address: address, origin: .kernel, function: nil, offset: 0, module: nil, note: nil)
        }
        return Frame(address: address, origin: .kernel, function: s.name, offset: s.offset, module: s.module, note: nil)
    }

    /// A user address of process `pid`, named from the symbols of the file
    /// mapped there.
    public func userFrame(_ address: UInt64, pid: Int32) -> Frame {
        var frame = Frame(address: address, origin: .user, function: nil, offset: 0, module: nil, note: nil)
        if !remember(pid: pid) {
            frame.note = "exited"
            return frame
        }
        guard let mapping = state.withLock({ $0.processes[pid]?.mapping(at: address) }) else { return frame }
        frame.module = mapping.path.isEmpty ? nil : (mapping.path.split(separator: "/").last.map(String.init) ?? mapping.path)
        guard mapping.isFile, let file = symbols(of: mapping, pid: pid), let local = file.address(atFileOffset: address - mapping.start + mapping.fileOffset),
              let s = file.symbol(at: local) else { return frame }
        frame.function = Demangler.demangle(s.name)
        frame.offset = s.offset
        return frame
    }

    /// Forgets the processes read so far (their files stay parsed).
    public func forgetProcesses() {
        state.withLock { $0.processes.removeAll() }
    }
}
