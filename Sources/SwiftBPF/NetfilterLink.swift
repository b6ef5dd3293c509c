// SPDX-License-Identifier: BSD-2-Clause
import CBPFLink
import CLibBPF
import Glibc

/// A netfilter hook of a protocol family, where a `SEC("netfilter")`
/// program is attached (Linux 6.4, CONFIG_NETFILTER_BPF_LINK).
public enum NetfilterHook: UInt32, Sendable, CaseIterable {
    case preRouting = 0, input = 1, forward = 2, output = 3, postRouting = 4
}

/// The protocol families a netfilter program is attached for.
public enum NetfilterFamily: UInt32, Sendable {
    case ipv4 = 2, ipv6 = 10
}

/// Netfilter's priorities of note (`NF_IP_PRI_*`): a program runs before
/// the hooks of higher priority at the same place.
public enum NetfilterPriority {
    /// The first a program may take: before defragmentation, conntrack and NAT.
    public static let first = Int32.min + 1
    public static let conntrack: Int32 = -200
    public static let natDestination: Int32 = -100
    public static let filter: Int32 = 0
    public static let natSource: Int32 = 100
    /// The last a program may take: after the tables, NAT and conntrack's
    /// confirmation (which is `Int32.max`, reserved).
    public static let last = Int32.max - 1
}

/// BPF_PROG_TYPE_NETFILTER and BPF_NETFILTER, which libbpf 1.1's headers lack.
enum NetfilterProgram {
    static let programType = bpf_prog_type(rawValue: 32)
    static let attachType = bpf_attach_type(rawValue: 45)

    /// libbpf 1.1 does not know `SEC("netfilter")`: such programs get
    /// their type here, between open and load, as libbpf 1.2 would.
    static func adopt(_ program: OpaquePointer) {
        guard String(cString: bpf_program__section_name(program)) == "netfilter",
              bpf_program__type(program) == BPF_PROG_TYPE_UNSPEC else { return }
        bpf_program__set_type(program, programType)
        bpf_program__set_expected_attach_type(program, attachType)
    }
}

extension Program {
    /// Attaches a `SEC("netfilter")` program at `hook` of `family` in the
    /// calling thread's network namespace, at `priority` (see
    /// `NetfilterPriority`; the extremes are reserved). It sees every packet
    /// that passes there and returns a verdict (`NF_ACCEPT`, 1, lets it
    /// go on). Several programs may share a hook and a priority. Released,
    /// or at the process's end, the link is removed.
    /// Linux 6.4+ built with CONFIG_NETFILTER_BPF_LINK.
    public func attachNetfilter(family: NetfilterFamily, hook: NetfilterHook, priority: Int32) throws(BPFError) -> Link {
        try Kernel.require(.netfilterLinks)
        guard isLoaded else {
            throw BPFError(.notLoaded, "cannot attach \(name) to netfilter: program '\(name)' was not loaded (autoload off)", errno: .badFileDescriptor)
        }
        let link = swiftbpf_netfilter_link_create(bpf_program__fd(pointer), family.rawValue, hook.rawValue, priority, 0)
        guard link >= 0 else {
            throw BPFError.fromErrno("cannot attach \(name) to netfilter \(family) \(hook) at priority \(priority)")
        }
        return Link(descriptor: link, kind: .netfilter(family: family.rawValue, hook: hook.rawValue, priority: priority), program: self)
    }
}

extension Kernel {
    /// Runs `body` with the calling thread in the network namespace of
    /// `path` (a bind mount such as /run/netns/NAME, or /proc/PID/ns/net),
    /// then back in its own: for attachments that take the caller's
    /// namespace, as netfilter links do.
    public static func inNetworkNamespace<T>(_ path: String, _ body: () throws(BPFError) -> T) throws(BPFError) -> T {
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard own >= 0 else { throw BPFError.fromErrno("cannot open this thread's network namespace") }
        defer { close(own) }
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw BPFError.fromErrno("cannot open network namespace \(path)") }
        defer { close(target) }
        guard swiftbpf_enter_network_namespace(target) == 0 else { throw BPFError.fromErrno("cannot enter network namespace \(path)") }
        defer {
            // Back to where the thread was; failing that, it must not go on elsewhere.
            if swiftbpf_enter_network_namespace(own) != 0 { fatalError("cannot return to this thread's network namespace") }
        }
        return try body()
    }

    /// Whether a netfilter program loads (the program type exists only with
    /// CONFIG_NETFILTER_BPF_LINK, Linux 6.4+).
    static var netfilterProgramsLoad: Bool { netfilterLoadError == nil }

    /// Why a netfilter program does not load here (nil: it does): EINVAL
    /// before 6.4 or without CONFIG_NETFILTER_BPF_LINK, EPERM without
    /// CAP_NET_ADMIN (a network program's capability).
    static let netfilterLoadError: Int32? = {
        var program = [bpf_insn(), bpf_insn()]
        program[0].code = UInt8(BPF_ALU64 | BPF_MOV | BPF_K)
        program[0].imm = 1  // r0 = NF_ACCEPT
        program[1].code = UInt8(BPF_JMP | BPF_EXIT)
        var opts = bpf_prog_load_opts()
        opts.sz = MemoryLayout<bpf_prog_load_opts>.size
        opts.expected_attach_type = NetfilterProgram.attachType
        let fd = bpf_prog_load(NetfilterProgram.programType, "nf_probe", "GPL", &program, 2, &opts)
        guard fd >= 0 else { return -fd }
        close(fd)
        return nil
    }()
}
