// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Synchronization
import SystemPackage

/// An attachment of a program. The kernel keeps the program attached while
/// the link's file descriptor is open: releasing the `Link`, calling
/// `detach()`, or the process exiting (even by SIGKILL) detaches it.
public final class Link: Sendable, CustomStringConvertible {
    /// Where a link attaches.
    public enum Kind: Sendable, Equatable {
        case tracepoint(category: String, name: String)
        case rawTracepoint(String)
        case kprobe(function: String, isReturn: Bool)
        case uprobe(binary: String, function: String, isReturn: Bool)
        case xdp(interface: String, mode: String)
        case perfEvent(event: String, cpu: Int32)
        case cgroup(path: String, hook: String)
        /// Protocol family (NFPROTO_*), hook (NF_INET_*) and priority.
        case netfilter(family: UInt32, hook: UInt32, priority: Int32)
        case other(String)
    }

    /// A libbpf link, or a bare link descriptor (XDP links with mode flags,
    /// which libbpf 1.1 has no call for).
    private enum Handle: @unchecked Sendable {
        case libbpf(OpaquePointer)
        case descriptor(Int32)
    }
    private struct Pointer: @unchecked Sendable { var value: Handle? }
    private let state: Mutex<Pointer>
    public let kind: Kind
    /// The attached program; keeps its object loaded while the link lives.
    public let program: Program

    init(pointer: OpaquePointer, kind: Kind, program: Program) {
        self.state = Mutex(Pointer(value: .libbpf(pointer)))
        self.kind = kind
        self.program = program
    }

    init(descriptor: Int32, kind: Kind, program: Program) {
        self.state = Mutex(Pointer(value: .descriptor(descriptor)))
        self.kind = kind
        self.program = program
    }

    deinit { detach() }

    /// Detaches now. Later calls do nothing.
    public func detach() {
        let handle = state.withLock { s -> Handle? in
            defer { s.value = nil }
            return s.value
        }
        switch handle {
        case .libbpf(let pointer): bpf_link__destroy(pointer)
        case .descriptor(let fd): close(fd)
        case nil: break
        }
    }

    /// Whether the link is still attached (not yet detached by this process).
    public var isAttached: Bool { state.withLock { $0.value != nil } }

    /// Pins the link under bpffs so it outlives this process; removing the
    /// pin file lets it go. The directory is created, and bpffs mounted at
    /// `/sys/fs/bpf` first when the path lies under it and it is missing.
    public func pin(at path: FilePath) throws(BPFError) {
        try Kernel.makeBPFFSDirectory(path.removingLastComponent())
        let rc: Int32 = state.withLock { s in
            switch s.value {
            case .libbpf(let p): bpf_link__pin(p, path.string)
            case .descriptor(let fd): bpf_obj_pin(fd, path.string) == 0 ? 0 : -errno
            case nil: -EBADF
            }
        }
        if rc != 0 { throw BPFError.system("cannot pin link at \(path)", rc) }
    }

    public var description: String {
        switch kind {
        case .tracepoint(let c, let n): "\(program.name) → tracepoint \(c):\(n)"
        case .rawTracepoint(let n): "\(program.name) → raw tracepoint \(n)"
        case .kprobe(let f, let r): "\(program.name) → \(r ? "kretprobe" : "kprobe") \(f)"
        case .uprobe(let b, let f, let r): "\(program.name) → \(r ? "uretprobe" : "uprobe") \(b):\(f)"
        case .xdp(let i, let m): "\(program.name) → XDP \(i) (\(m))"
        case .perfEvent(let e, let cpu): "\(program.name) → perf event \(e) on CPU \(cpu)"
        case .cgroup(let p, let h): "\(program.name) → \(h) of cgroup \(p)"
        case .netfilter(let f, let h, let p): "\(program.name) → netfilter family \(f) hook \(h) priority \(p)"
        case .other(let s): "\(program.name) → \(s)"
        }
    }
}
