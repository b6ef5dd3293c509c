// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Foundation
import SystemPackage

/// A program of a loaded object. Attaching it returns a `Link`: the program
/// stays attached while the link is alive.
public struct Program: @unchecked Sendable {
    let object: LoadedObject
    let pointer: OpaquePointer

    init(object: LoadedObject, pointer: OpaquePointer) {
        self.object = object
        self.pointer = pointer
    }

    /// The program's name (its C function name).
    public var name: String { String(cString: bpf_program__name(pointer)) }
    /// The ELF section, e.g. `tracepoint/syscalls/sys_enter_mkdir`.
    public var sectionName: String { String(cString: bpf_program__section_name(pointer)) }
    /// False for a program left out with `setAutoload(false, ...)`.
    public var isLoaded: Bool { bpf_program__fd(pointer) >= 0 }
    /// The kernel's ID for the loaded program (as `bpftool prog show` lists), or nil.
    public var id: UInt32? {
        guard isLoaded else { return nil }
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(bpf_program__fd(pointer), &info, &len) == 0 else { return nil }
        return info.id
    }

    /// How many times the program ran and for how long in all, as the
    /// kernel counts while `kernel.bpf_stats_enabled` is 1 (Linux 5.1+);
    /// zeros while it is off, nil when the program is not loaded.
    public var runStatistics: (runs: UInt64, nanoseconds: UInt64)? {
        guard isLoaded else { return nil }
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(bpf_program__fd(pointer), &info, &len) == 0 else { return nil }
        return (info.run_cnt, info.run_time_ns)
    }

    /// The program's file descriptor, owned by the object.
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: bpf_program__fd(pointer)) }

    /// Attaches at the place the program's `SEC()` names.
    public func attach() throws(BPFError) -> Link {
        let section = sectionName
        let parts = section.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first ?? "", parts.count) {
        case ("tracepoint", 3), ("tp", 3):
            return try attachTracepoint(category: parts[1], name: parts[2])
        case ("raw_tracepoint", 2), ("raw_tp", 2):
            return try attachRawTracepoint(parts[1])
        case ("kprobe", 2), ("kretprobe", 2):
            let target = try Self.kprobeTarget(parts[1])
            return try attachKprobe(function: target.function, offset: target.offset, isReturn: parts[0] == "kretprobe")
        case ("fentry", 2), ("fexit", 2), ("fmod_ret", 2):
            return try attachTrampoline()
        case ("xdp", _):
            throw BPFError(.invalidArgument, "program '\(name)' is an XDP program: attach it with attachXDP(interface:mode:)", errno: .invalidArgument)
        case ("netfilter", 1):
            throw BPFError(.invalidArgument, "program '\(name)' is a netfilter program: attach it with attachNetfilter(family:hook:priority:)", errno: .invalidArgument)
        default:
            return try makeLink("attach \(section)", kind: .other(section)) { bpf_program__attach(pointer) }
        }
    }

    /// Attaches to the tracepoint `category:name` (tracefs is mounted first
    /// when it is not). `cookie` is what `bpf_get_attach_cookie()` returns
    /// in the program, so one program can serve several tracepoints.
    /// Linux 4.7+; cookies 5.15+ (a cookie of 0 works everywhere).
    public func attachTracepoint(category: String, name tracepoint: String, cookie: UInt64 = 0) throws(BPFError) -> Link {
        guard try Kernel.tracepointExists(category: category, name: tracepoint) else {
            throw BPFError(.unknownTracepoint, "no tracepoint \(category):\(tracepoint) in this kernel", errno: .noSuchFileOrDirectory)
        }
        var opts = bpf_tracepoint_opts()
        opts.sz = MemoryLayout<bpf_tracepoint_opts>.size
        opts.bpf_cookie = cookie
        return try makeLink("attach \(name) to tracepoint \(category):\(tracepoint)", kind: .tracepoint(category: category, name: tracepoint)) {
            bpf_program__attach_tracepoint_opts(pointer, category, tracepoint, &opts)
        }
    }

    /// Attaches to the raw tracepoint `name` (e.g. `sys_enter`, `sched_switch`).
    /// Linux 4.17+.
    public func attachRawTracepoint(_ tracepoint: String) throws(BPFError) -> Link {
        do {
            return try makeLink("attach \(name) to raw tracepoint \(tracepoint)", kind: .rawTracepoint(tracepoint)) {
                bpf_program__attach_raw_tracepoint(pointer, tracepoint)
            }
        } catch where error.errno == .noSuchFileOrDirectory {
            throw BPFError(.unknownTracepoint, "no raw tracepoint \(tracepoint) in this kernel", errno: error.errno)
        }
    }

    /// Attaches to the entry (or, with `isReturn`, the return) of a kernel
    /// function. Needs a kernel with CONFIG_KPROBES (Linux 4.1+); an
    /// `offset` must fall on an instruction boundary of the function.
    public func attachKprobe(function: String, offset: Int = 0, isReturn: Bool = false) throws(BPFError) -> Link {
        try Kernel.require(.kprobes)
        var opts = bpf_kprobe_opts()
        opts.sz = MemoryLayout<bpf_kprobe_opts>.size
        opts.offset = offset
        opts.retprobe = isReturn
        let what = isReturn ? "kretprobe" : "kprobe"
        do {
            return try makeLink("attach \(name) as \(what) on \(function)", kind: .kprobe(function: function, isReturn: isReturn)) {
                bpf_program__attach_kprobe_opts(pointer, function, &opts)
            }
        } catch where error.errno == .noSuchFileOrDirectory {
            throw BPFError(.notFound, "no kernel function \(function) to attach a \(what) to", errno: error.errno)
        }
    }

    /// `function` or `function+offset` (decimal or 0x hex), as a kprobe
    /// section names its target.
    static func kprobeTarget(_ text: String) throws(BPFError) -> (function: String, offset: Int) {
        let parts = text.split(separator: "+", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (text, 0) }
        let digits = parts[1].lowercased()
        let offset = digits.hasPrefix("0x") ? Int(digits.dropFirst(2), radix: 16) : Int(digits)
        guard let offset, offset >= 0, !parts[0].isEmpty else {
            throw BPFError(.invalidObject, "bad kprobe target '\(text)': expected FUNCTION or FUNCTION+OFFSET", errno: .invalidArgument)
        }
        return (parts[0], offset)
    }

    /// Attaches an fentry, fexit or fmod_ret program to the kernel function
    /// its `SEC()` named when it was loaded (BPF trampolines: Linux 5.5+ on
    /// x86-64, 6.0+ on arm64). Cheaper than a kprobe. A kernel that refuses
    /// trampolines gives `.featureMissing(.fentry)`; load such programs only
    /// where `Kernel.supports(.fentry)`, and use a kprobe elsewhere.
    public func attachTrampoline() throws(BPFError) -> Link {
        do {
            return try makeLink("attach \(name) (\(sectionName))", kind: .other(sectionName)) { bpf_program__attach_trace(pointer) }
        } catch {
            if Kernel.privileges.canUseBPF, let e = error.errno, [.notPermitted, .notSupported, Errno(rawValue: 524)].contains(e) {
                throw BPFError(.featureMissing(.fentry), "this kernel refuses BPF trampolines (fentry/fexit): attaching \(name) failed with \(e); use a kprobe", errno: e)
            }
            throw error
        }
    }

    /// Attaches to the return of a kernel function.
    public func attachKretprobe(function: String) throws(BPFError) -> Link {
        try attachKprobe(function: function, isReturn: true)
    }

    /// Attaches to a user-space function: `function` in `binary` (a path,
    /// or a library name such as `libc.so.6`), or `offset` bytes into the
    /// file when `function` is nil. `pid` nil traces every process.
    /// Linux 4.3+ (CONFIG_UPROBE_EVENTS).
    public func attachUprobe(binary: String, function: String?, offset: Int = 0, pid: pid_t? = nil, isReturn: Bool = false) throws(BPFError) -> Link {
        try Kernel.require(.uprobes)
        let binary = resolveBinary(binary)
        var opts = bpf_uprobe_opts()
        opts.sz = MemoryLayout<bpf_uprobe_opts>.size
        opts.retprobe = isReturn
        let kind = Link.Kind.uprobe(binary: binary, function: function ?? "+\(offset)", isReturn: isReturn)
        let what = "attach \(name) as \(isReturn ? "uretprobe" : "uprobe") on \(binary):\(function ?? "+\(offset)")"
        do {
            return try makeLink(what, kind: kind) {
                withOptionalCString(function) { cfunc in
                    opts.func_name = cfunc
                    return bpf_program__attach_uprobe_opts(pointer, pid ?? -1, binary, offset, &opts)
                }
            }
        } catch where error.errno == .noSuchFileOrDirectory {
            throw BPFError(.notFound, "\(what): no such binary or function", errno: error.errno)
        }
    }

    /// Attaches to the return of a user-space function.
    public func attachUretprobe(binary: String, function: String?, offset: Int = 0, pid: pid_t? = nil) throws(BPFError) -> Link {
        try attachUprobe(binary: binary, function: function, offset: offset, pid: pid, isReturn: true)
    }

    /// Attaches an XDP program to `interface` through a bpf_link, in the
    /// mode asked for: never falling back from native to generic, never
    /// replacing a program already attached there. Linux 5.9+ (XDP links).
    public func attachXDP(interface: String, mode: XDPMode = .native) throws(BPFError) -> Link {
        let index = try Kernel.interfaceIndex(interface)
        if let existing = try Kernel.xdpProgramID(interface: interface) {
            throw BPFError(.busy, "\(interface) already has an XDP program (id \(existing)); detach it first", errno: .resourceBusy)
        }
        var opts = bpf_link_create_opts()
        opts.sz = MemoryLayout<bpf_link_create_opts>.size
        opts.flags = UInt32(mode == .native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE)
        let fd = bpf_link_create(bpf_program__fd(pointer), index, BPF_XDP, &opts)
        guard fd >= 0 else {
            let e = Errno(rawValue: -fd)
            if mode == .native && (e == .notSupported || e == .invalidArgument) {
                throw BPFError(.featureMissing(.xdp), "\(interface) does not support native XDP (driver mode): \(e); use generic mode", errno: e)
            }
            throw BPFError.system("cannot attach \(name) to \(interface) (XDP \(mode))", fd)
        }
        return Link(descriptor: fd, kind: .xdp(interface: interface, mode: mode.rawValue), program: self)
    }

    /// Attaches an XDP program to `interface` without a link, as
    /// `ip link set dev IFACE xdp` does: it stays attached after this
    /// process exits, with no pin and no BPF filesystem, until
    /// `Kernel.detachXDP(interface:programID:)` removes it. Same rules as
    /// `attachXDP`: the mode asked for, and never over another program.
    /// Linux 4.8+.
    public func attachXDPPersistent(interface: String, mode: XDPMode = .native) throws(BPFError) {
        let index = try Kernel.interfaceIndex(interface)
        if let existing = try Kernel.xdpProgramID(interface: interface) {
            throw BPFError(.busy, "\(interface) already has an XDP program (id \(existing)); detach it first", errno: .resourceBusy)
        }
        let flags = UInt32(XDP_FLAGS_UPDATE_IF_NOEXIST) | UInt32(mode == .native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE)
        let rc = bpf_xdp_attach(index, bpf_program__fd(pointer), flags, nil)
        guard rc == 0 else {
            let e = Errno(rawValue: abs(rc))
            if mode == .native && (e == .notSupported || e == .invalidArgument) {
                throw BPFError(.featureMissing(.xdp), "\(interface) does not support native XDP (driver mode): \(e); use generic mode", errno: e)
            }
            throw BPFError.system("cannot attach \(name) to \(interface) (XDP \(mode))", rc)
        }
    }

    /// Binds `map` to the program without the program using it
    /// (BPF_PROG_BIND_MAP): the map then lives as long as the program and
    /// is listed among its maps (`KernelProgram.maps()`), where another
    /// process finds it. Linux 5.10+.
    public func bind(map: Map) throws(BPFError) {
        let rc = bpf_prog_bind_map(bpf_program__fd(pointer), map.fd, nil)
        if rc != 0 { throw BPFError.system("cannot bind map '\(map.name)' to \(name) (BPF_PROG_BIND_MAP: Linux 5.10+)", rc) }
    }

    /// Runs the program once on `packet` in the kernel (BPF_PROG_TEST_RUN)
    /// without attaching it, and returns its return value (for XDP, the
    /// verdict: 1 drop, 2 pass). Lets tests feed a filter any frame.
    /// Linux 4.12+ for XDP programs.
    public func testRun(packet: [UInt8]) throws(BPFError) -> UInt32 {
        var opts = bpf_test_run_opts()
        opts.sz = MemoryLayout<bpf_test_run_opts>.size
        opts.repeat = 1
        let rc = packet.withUnsafeBytes { raw -> Int32 in
            opts.data_in = raw.baseAddress
            opts.data_size_in = UInt32(raw.count)
            return bpf_prog_test_run_opts(bpf_program__fd(pointer), &opts)
        }
        if rc != 0 { throw BPFError.system("test run of \(name) on a \(packet.count)-byte packet", rc) }
        return opts.retval
    }

    func makeLink(_ what: String, kind: Link.Kind, _ attach: () -> OpaquePointer?) throws(BPFError) -> Link {
        guard isLoaded else {
            throw BPFError(.notLoaded, "cannot \(what): program '\(name)' was not loaded (autoload off)", errno: .badFileDescriptor)
        }
        // errno is taken inside: the log capture runs code after the call.
        let (result, log) = LibbpfLog.capturing { () -> (OpaquePointer?, Int32) in
            let link = attach()
            return (link, errno)
        }
        guard case .success((let link?, _)) = result else {
            let code = if case .success((_, let e)) = result { e } else { EINVAL }
            throw BPFError.system("cannot \(what)", code, libbpfMessages: log)
        }
        return Link(pointer: link, kind: kind, program: self)
    }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

/// How an XDP program runs: in the driver (native) or after the kernel
/// has built an skb (generic, slower, works everywhere).
public enum XDPMode: String, Sendable, CaseIterable {
    case native, generic
}

/// A library name ("libc.so.6") becomes the file this process has mapped
/// (the copy other processes most likely use too); a command name becomes
/// its path on PATH. Anything else is left for libbpf to resolve.
func resolveBinary(_ name: String) -> String {
    guard !name.contains("/") else { return name }
    if let maps = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps")).readToEnd().map({ String(decoding: $0, as: UTF8.self) }) {
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = String(line[slash...])
            if path.hasSuffix("/" + name) { return path }
        }
    }
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        + ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64"]
    for dir in dirs where access("\(dir)/\(name)", R_OK) == 0 { return "\(dir)/\(name)" }
    return name
}
