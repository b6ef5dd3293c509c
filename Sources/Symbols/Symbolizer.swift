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
/// (`remember(pid:)`), and the files mapped there are parsed then, once per
/// file (by device and inode), through `/proc/PID/root`, so a binary in a
/// container is read from the container's filesystem, and a process that
/// exits before the report is still named from what was read while it
/// lived.
public final class Symbolizer: Sendable {
    let kernel: KernelSymbols?
    /// Why kernel frames cannot be named, when they cannot.
    public let kernelUnavailable: String?
    private struct State {
        var processes: [Int32: ProcessMaps] = [:]
        var files: [FileKey: ELFSymbols] = [:]
        var unreadable: Set<FileKey> = []
    }
    private struct FileKey: Hashable { var device: String; var inode: UInt64 }
    private let state = Mutex(State())
    let procRoot: String

    public init(kernelSymbols: Bool = true, procRoot: String = "/proc") {
        self.procRoot = procRoot
        if kernelSymbols {
            do {
                kernel = try KernelSymbols(path: "\(procRoot)/kallsyms")
                kernelUnavailable = nil
            } catch {
                kernel = nil
                kernelUnavailable = error.description
            }
        } else {
            kernel = nil
            kernelUnavailable = nil
        }
    }

    /// Reads a process's map and parses its executable files now, unless
    /// done before. Returns false when the process is gone.
    @discardableResult
    public func remember(pid: Int32) -> Bool {
        if state.withLock({ $0.processes[pid] != nil }) { return true }
        guard let maps = ProcessMaps(pid: pid, procRoot: procRoot) else { return false }
        var parsed: [FileKey: ELFSymbols] = [:]
        var failed: Set<FileKey> = []
        let known = state.withLock { s in Set(s.files.keys).union(s.unreadable) }
        for m in maps.mappings where m.executable && m.isFile {
            let key = FileKey(device: m.device, inode: m.inode)
            guard !known.contains(key), parsed[key] == nil, !failed.contains(key) else { continue }
            // The file as the process sees it, in its own mount namespace.
            if let symbols = try? ELFSymbols(path: "\(procRoot)/\(pid)/root\(m.path)") ?? ELFSymbols(path: m.path) {
                parsed[key] = symbols
            } else {
                failed.insert(key)
            }
        }
        state.withLock { s in
            s.processes[pid] = maps
            s.files.merge(parsed) { a, _ in a }
            s.unreadable.formUnion(failed)
        }
        return true
    }

    /// A kernel address, named from kallsyms.
    public func kernelFrame(_ address: UInt64) -> Frame {
        guard let s = kernel?.symbol(at: address) else {
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
        let (mapping, file): (Mapping?, ELFSymbols?) = state.withLock { s in
            guard let m = s.processes[pid]?.mapping(at: address) else { return (nil, nil) }
            return (m, s.files[FileKey(device: m.device, inode: m.inode)])
        }
        guard let mapping else { return frame }
        frame.module = mapping.path.isEmpty ? nil : (mapping.path.split(separator: "/").last.map(String.init) ?? mapping.path)
        guard let file, let local = file.address(atFileOffset: address - mapping.start + mapping.fileOffset),
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
