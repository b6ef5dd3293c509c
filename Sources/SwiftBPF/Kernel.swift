// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Foundation
import SystemPackage

/// Kernel features the library can probe for.
public enum KernelFeature: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Type information at /sys/kernel/btf/vmlinux, which CO-RE needs.
    case btf
    /// BPF ring buffer maps (Linux 5.8).
    case ringBuffer
    /// kprobes and kretprobes (CONFIG_KPROBES).
    case kprobes
    /// uprobes and uretprobes (CONFIG_UPROBE_EVENTS).
    case uprobes
    /// fentry/fexit tracing programs (BPF trampolines): Linux 5.5+ on x86-64,
    /// and only where the kernel lets them attach (checked by attaching one).
    case fentry
    /// XDP programs.
    case xdp
    /// Raw tracepoints.
    case rawTracepoints
    /// Task-local storage maps usable from tracepoint programs
    /// (`BPF_MAP_TYPE_TASK_STORAGE` with `bpf_task_storage_get`): Linux 5.12.
    case taskStorage
    /// BPF-LSM programs: Linux 5.7+ with CONFIG_BPF_LSM and "bpf" in the
    /// active LSM list (found by loading one).
    case lsm
    /// Netfilter programs and their links (`SEC("netfilter")`): Linux 6.4+
    /// with CONFIG_NETFILTER_BPF_LINK (found by loading one).
    case netfilterLinks
    /// A cookie given at attach time that the program reads back with
    /// `bpf_get_attach_cookie` (tracepoints, kprobes, uprobes): Linux 5.15.
    case attachCookies
    /// `bpf_loop`, a callback run a bounded number of times that the
    /// verifier checks once: Linux 5.17.
    case boundedLoopHelper
    /// Drop reasons in the `kfree_skb` tracepoint (`enum skb_drop_reason`):
    /// Linux 5.17.
    case dropReasons
    /// `bpf_xdp_load_bytes`, reading an XDP packet at any offset: Linux 5.18.
    case xdpLoadBytes
    /// The atomic instructions that return a value (compare and swap,
    /// fetch-and-add): Linux 5.12. Found by loading one.
    case atomicFetch

    public var description: String {
        switch self {
        case .btf: "kernel BTF"
        case .ringBuffer: "BPF ring buffer"
        case .kprobes: "kprobes"
        case .uprobes: "uprobes"
        case .fentry: "fentry/fexit"
        case .xdp: "XDP"
        case .rawTracepoints: "raw tracepoints"
        case .taskStorage: "task storage in tracing programs"
        case .lsm: "BPF-LSM"
        case .netfilterLinks: "BPF netfilter programs"
        case .attachCookies: "attach cookies"
        case .boundedLoopHelper: "the bpf_loop helper"
        case .dropReasons: "drop reasons"
        case .xdpLoadBytes: "the bpf_xdp_load_bytes helper"
        case .atomicFetch: "compare and swap"
        }
    }

    /// The Linux release that brought the feature (nil: a build option,
    /// not a release).
    public var since: (major: Int, minor: Int)? {
        switch self {
        case .btf: (5, 2)
        case .ringBuffer: (5, 8)
        case .fentry: (5, 5)
        case .rawTracepoints: (4, 17)
        case .taskStorage: (5, 12)
        case .lsm: (5, 7)
        case .netfilterLinks: (6, 4)
        case .attachCookies: (5, 15)
        case .boundedLoopHelper: (5, 17)
        case .dropReasons: (5, 17)
        case .xdpLoadBytes: (5, 18)
        case .atomicFetch: (5, 12)
        case .kprobes, .uprobes, .xdp: nil
        }
    }
}

/// What the current process may do with BPF.
public struct Privileges: Sendable, Equatable {
    public var isRoot: Bool
    public var hasCapBPF: Bool
    public var hasCapPerfmon: Bool
    public var hasCapSysAdmin: Bool

    /// Loading programs and attaching tracing programs.
    public var canUseBPF: Bool { hasCapSysAdmin || (hasCapBPF && hasCapPerfmon) }

    static let requirement = "run as root (or with CAP_BPF and CAP_PERFMON), e.g. with sudo"
}

/// Facts about the running kernel, and the set-up BPF tracing needs.
public enum Kernel {
    /// Effective capabilities of this process, from /proc/self/status.
    public static var privileges: Privileges {
        var caps: UInt64 = 0
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }) {
            caps = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
        }
        func has(_ bit: UInt64) -> Bool { caps & (1 << bit) != 0 }
        return Privileges(isRoot: geteuid() == 0, hasCapBPF: has(39), hasCapPerfmon: has(38), hasCapSysAdmin: has(21))
    }

    /// Throws `.notPrivileged` unless this process may load and attach
    /// tracing programs.
    public static func requirePrivileges() throws(BPFError) {
        guard privileges.canUseBPF else {
            throw BPFError(.notPrivileged, "BPF tracing needs privileges: \(Privileges.requirement)", errno: .notPermitted)
        }
    }

    /// Whether the running kernel has `feature`.
    public static func supports(_ feature: KernelFeature) -> Bool {
        switch feature {
        case .btf:
            return access("/sys/kernel/btf/vmlinux", R_OK) == 0
        case .ringBuffer:
            return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nil) == 1
        case .kprobes:
            // The kprobe PMU exists whenever CONFIG_KPROBES does; the legacy
            // tracefs interface is the fallback libbpf would use.
            return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0
                || tracefsFile("kprobe_events") != nil
        case .uprobes:
            return access("/sys/bus/event_source/devices/uprobe/type", F_OK) == 0
                || tracefsFile("uprobe_events") != nil
        case .fentry:
            // A kernel can know the program type and still refuse to attach
            // it (no ftrace direct calls, or a lockdown): try for real.
            return fentryWorks
        case .xdp:
            return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nil) == 1
        case .rawTracepoints:
            return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nil) == 1
        case .taskStorage:
            return taskStorageWorks
        case .lsm:
            // A kernel built with CONFIG_BPF_LSM loads and attaches the
            // programs even when "bpf" is not an active LSM, and then never
            // runs them: a guard would enforce nothing.
            return lsmLoadError == nil && activeLSMs?.contains("bpf") != false
        case .netfilterLinks:
            return netfilterProgramsLoad
        case .attachCookies:
            return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_attach_cookie, nil) == 1
        case .boundedLoopHelper:
            return libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_loop, nil) == 1
        case .dropReasons:
            return hasEnum("skb_drop_reason") ?? (versionAtLeast(5, 17))
        case .xdpLoadBytes:
            return libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes, nil) == 1
        case .atomicFetch:
            return atomicFetchLoads
        }
    }

    /// Whether the kernel's BTF has a function of this name (an LSM hook
    /// is `bpf_lsm_HOOK`).
    public static func hasFunction(_ name: String) -> Bool {
        guard let btf = btf__load_vmlinux_btf() else { return false }
        defer { btf__free(btf) }
        return btf__find_by_name_kind(btf, name, UInt32(BTFKind.function.rawValue)) > 0
    }

    /// How many parameters kernel function `name` takes, from the kernel's
    /// BTF (nil without BTF or the function).
    public static func parameterCount(of name: String) -> Int? {
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0, let btf = btf__load_vmlinux_btf() else { return nil }
        defer { btf__free(btf) }
        let id = btf__find_by_name_kind(btf, name, UInt32(BTFKind.function.rawValue))
        guard id > 0, let function = btf__type_by_id(btf, UInt32(id)),
              let proto = btf__type_by_id(btf, function.pointee.type) else { return nil }
        return Int(btf_vlen(proto))
    }

    /// Whether the kernel's BTF has an enum of this name (nil without BTF).
    static func hasEnum(_ name: String) -> Bool? {
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0, let btf = btf__load_vmlinux_btf() else { return nil }
        defer { btf__free(btf) }
        return btf__find_by_name_kind(btf, name, UInt32(BTFKind.enumeration.rawValue)) > 0
            || btf__find_by_name_kind(btf, name, UInt32(BTFKind.enumeration64.rawValue)) > 0
    }

    /// The running kernel's version from its release ("6.1.0-57-amd64"
    /// is 6.1); (0, 0) if the release does not start with one.
    public static var version: (major: Int, minor: Int) {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : (0, 0)
    }

    /// Whether the running kernel's version is at least major.minor.
    public static func versionAtLeast(_ major: Int, _ minor: Int) -> Bool {
        let v = version
        return v.major > major || (v.major == major && v.minor >= minor)
    }

    /// Why an LSM program does not load here (nil: it does): a
    /// two-instruction program for the file_open hook, loaded and released
    /// without attaching.
    static let lsmLoadError: Int32? = {
        let fd = loadReturnZero(BPF_PROG_TYPE_LSM, attach: BPF_LSM_MAC, function: "bpf_lsm_file_open", name: "lsm_probe")
        guard fd >= 0 else { return -fd }
        close(fd)
        return nil
    }()

    /// The active LSMs, in order: from securityfs, else from `lsm=` on
    /// the kernel command line, else from CONFIG_LSM in /boot's config;
    /// nil where none of them says.
    static let activeLSMs: [String]? = {
        func list(_ text: Substring) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(["\""])) }.filter { !$0.isEmpty }
        }
        if let text = try? String(contentsOfFile: "/sys/kernel/security/lsm", encoding: .utf8) { return list(Substring(text)) }
        if let cmdline = try? String(contentsOfFile: "/proc/cmdline", encoding: .utf8),
           let arg = cmdline.split(separator: " ").last(where: { $0.hasPrefix("lsm=") }) {
            return list(arg.dropFirst(4))
        }
        if let config = try? String(contentsOfFile: "/boot/config-\(release)", encoding: .utf8),
           let line = config.split(separator: "\n").first(where: { $0.hasPrefix("CONFIG_LSM=") }) {
            return list(line.dropFirst("CONFIG_LSM=".count))
        }
        return nil
    }()

    /// Loads `r0 = 0; exit` as a program of `type` for kernel function
    /// `function` (by its BTF): a descriptor, or -errno (-ENOENT without
    /// BTF or the function).
    static func loadReturnZero(_ type: bpf_prog_type, attach: bpf_attach_type, function: String, name: String) -> Int32 {
        guard let btf = btf__load_vmlinux_btf() else { return -ENOENT }
        defer { btf__free(btf) }
        let target = btf__find_by_name_kind(btf, function, UInt32(BTFKind.function.rawValue))
        guard target > 0 else { return -ENOENT }
        var program = [bpf_insn(), bpf_insn()]
        program[0].code = UInt8(BPF_ALU64 | BPF_MOV | BPF_K)  // r0 = 0
        program[1].code = UInt8(BPF_JMP | BPF_EXIT)
        var opts = bpf_prog_load_opts()
        opts.sz = MemoryLayout<bpf_prog_load_opts>.size
        opts.expected_attach_type = attach
        opts.attach_btf_id = UInt32(target)
        let fd = bpf_prog_load(type, name, "GPL", &program, 2, &opts)
        return fd >= 0 ? fd : (fd == -1 ? -errno : fd)
    }

    /// Whether a program with a compare-and-swap on the stack loads.
    private static let atomicFetchLoads: Bool = {
        func insn(_ code: Int32, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> bpf_insn {
            var i = bpf_insn()
            i.code = UInt8(code)
            i.dst_reg = dst
            i.src_reg = src
            i.off = off
            i.imm = imm
            return i
        }
        var program = [
            insn(BPF_ALU64 | BPF_MOV | BPF_K, dst: 1),                                             // r1 = 0
            insn(BPF_STX | BPF_MEM | BPF_DW, dst: 10, src: 1, off: -8),                          // *(u64 *)(r10 - 8) = r1
            insn(BPF_ALU64 | BPF_MOV | BPF_K, dst: 0),                                             // r0 = 0
            insn(BPF_STX | 0xc0 /* BPF_ATOMIC */ | BPF_DW, dst: 10, src: 1, off: -8, imm: 0xf1),  // r0 = cmpxchg(r10 - 8, r0, r1)
            insn(BPF_ALU64 | BPF_MOV | BPF_K, dst: 0),                                             // r0 = 0
            insn(BPF_JMP | BPF_EXIT),
        ]
        let fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "cas_probe", "GPL", &program, program.count, nil)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }()

    private static let taskStorageWorks =
        libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nil) == 1
        && libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_storage_get, nil) == 1

    private static let fentryWorks = canAttachFentry(to: "vfs_read")

    /// Whether an fentry program loads and attaches to kernel function
    /// `function`: a two-instruction program is loaded against the
    /// function's BTF and attached, then released. The way to choose
    /// between fentry and kprobe programs before loading an object.
    public static func canAttachFentry(to function: String) -> Bool {
        let fd = loadReturnZero(BPF_PROG_TYPE_TRACING, attach: BPF_TRACE_FENTRY, function: function, name: "fentry_probe")
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let link = bpf_raw_tracepoint_open(nil, fd)
        guard link >= 0 else { return false }
        close(link)
        return true
    }

    /// Why `feature` cannot be used here, in a sentence; nil when it can.
    public static func missing(_ feature: KernelFeature) -> String? {
        do { try require(feature) } catch { return error.message }
        return nil
    }

    /// Throws `.featureMissing` with a reason when the kernel lacks `feature`.
    public static func require(_ feature: KernelFeature) throws(BPFError) {
        guard !supports(feature) else { return }
        let why: String
        switch feature {
        case .kprobes:
            why = "this kernel was built without kprobes (CONFIG_KPROBES is not set): no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs; use a tracepoint instead"
        case .btf:
            why = "this kernel has no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF is not set), which CO-RE programs need"
        case .uprobes:
            why = "this kernel was built without uprobes (CONFIG_UPROBE_EVENTS is not set)"
        case .fentry:
            why = "this kernel refuses BPF trampolines (fentry/fexit): a test program would not attach to vfs_read"
        case .lsm where !supports(.btf):
            why = "BPF-LSM programs attach by the kernel's own BTF, which this kernel (\(release)) does not publish at /sys/kernel/btf/vmlinux "
                + "(CONFIG_DEBUG_INFO_BTF; a --btf file serves only CO-RE relocations)"
        case .lsm where lsmLoadError == nil:
            why = "this kernel (\(release)) refuses BPF-LSM programs: \"bpf\" is not in its active LSM list (\((activeLSMs ?? []).joined(separator: ","))), "
                + "so they would attach and never run; BPF-LSM needs Linux 5.7+ built with CONFIG_BPF_LSM and \"bpf\" in the active LSM list "
                + "(CONFIG_LSM, or lsm= on the kernel command line)"
        case .lsm:
            let e = lsmLoadError.map { String(cString: strerror($0)) } ?? "?"
            why = "this kernel (\(release)) refuses BPF-LSM programs (loading one for file_open failed: \(e)); BPF-LSM needs Linux 5.7+ "
                + "built with CONFIG_BPF_LSM and \"bpf\" in the active LSM list (CONFIG_LSM, or lsm= on the kernel command line)"
        case .netfilterLinks where netfilterLoadError == EPERM:
            why = "BPF netfilter programs need CAP_NET_ADMIN, which this process lacks (a container's runtime drops it unless granted)"
        case .netfilterLinks:
            why = "this kernel (\(release)) has no BPF netfilter programs: they need Linux 6.4+ built with CONFIG_NETFILTER_BPF_LINK"
        default:
            if let since = feature.since {
                let v = version
                let plural: Set<KernelFeature> = [.dropReasons, .attachCookies, .netfilterLinks]
                why = "\(feature) \(plural.contains(feature) ? "need" : "needs") Linux \(since.major).\(since.minor) (this is \(v.major).\(v.minor))"
            } else {
                why = "this kernel does not support \(feature)"
            }
        }
        throw BPFError(.featureMissing(feature), why, errno: .notSupported)
    }

    static let tracefsCandidates = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]

    private static func tracefsRoot() -> String? {
        tracefsCandidates.first { access($0 + "/events", F_OK) == 0 }
    }

    private static func tracefsFile(_ name: String) -> String? {
        tracefsRoot().map { $0 + "/" + name }.flatMap { access($0, F_OK) == 0 ? $0 : nil }
    }

    /// The tracefs mount point, mounting tracefs at /sys/kernel/tracing
    /// first when it is not mounted and this process may mount it.
    @discardableResult
    public static func ensureTracefs() throws(BPFError) -> FilePath {
        if let root = tracefsRoot() { return FilePath(root) }
        let target = tracefsCandidates[0]
        let rc = mount("nodev", target, "tracefs", 0, nil)
        let e = Errno(rawValue: errno)  // before tracefsRoot() can change it
        if rc == 0 || tracefsRoot() != nil {
            return FilePath(target)
        }
        let how = "mount it with: mount -t tracefs nodev \(target)"
        if e == .notPermitted || e == .permissionDenied {
            throw BPFError(.tracefsUnavailable, "tracefs is not mounted and mounting it needs root; \(how)", errno: e)
        }
        throw BPFError(.tracefsUnavailable, "tracefs is not mounted and could not be mounted (\(e)); \(how)", errno: e)
    }

    /// Whether `category:name` is a tracepoint of the running kernel.
    public static func tracepointExists(category: String, name: String) throws(BPFError) -> Bool {
        let root = try ensureTracefs()
        return access(root.string + "/events/\(category)/\(name)/id", F_OK) == 0
    }

    /// Names of a tracepoint category's events, e.g. all of `syscalls`.
    public static func tracepoints(in category: String) throws(BPFError) -> [String] {
        let root = try ensureTracefs()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.string + "/events/" + category)) ?? []
        return entries.filter { $0 != "enable" && $0 != "filter" }.sorted()
    }

    /// A BPF program loaded in the kernel, by anyone.
    public struct LoadedProgramInfo: Sendable, Equatable {
        public var id: UInt32
        public var name: String
        /// libbpf's name for the program type, e.g. "tracepoint", "xdp".
        public var type: String
    }

    /// Why this process cannot list the kernel's BPF programs, or nil if
    /// it can: walking program IDs (`BPF_PROG_GET_NEXT_ID`) needs
    /// CAP_SYS_ADMIN, which CAP_BPF does not replace.
    public static var programListingRefused: BPFError? {
        var id: UInt32 = 0
        let r = bpf_prog_get_next_id(0, &id)
        let e = r < 0 ? (r == -1 ? errno : -r) : 0
        guard e != 0, e != ENOENT else { return nil }
        if e == EPERM { return BPFError(.notPrivileged, "listing the kernel's BPF programs needs CAP_SYS_ADMIN", errno: .notPermitted) }
        return .system("cannot list the kernel's BPF programs", e)
    }

    /// Every BPF program loaded in the kernel (what `bpftool prog show`
    /// lists). Needs CAP_SYS_ADMIN (see `programListingRefused`); without
    /// it the list is empty.
    public static func loadedPrograms() -> [LoadedProgramInfo] {
        var out: [LoadedProgramInfo] = []
        var id: UInt32 = 0
        while bpf_prog_get_next_id(id, &id) == 0 {
            // Unloaded between listing and opening: not loaded any more.
            guard let program = try? KernelProgram(id: id) else { continue }
            out.append(LoadedProgramInfo(id: id, name: program.name, type: program.type))
        }
        return out
    }

    /// The running kernel's release, as `uname -r` prints it.
    public static var release: String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The number of possible CPUs, the length of per-CPU map values
    /// (from /sys/devices/system/cpu/possible). An error is thrown, not
    /// papered over: a guessed count would size per-CPU buffers wrongly,
    /// and the kernel would write past them.
    public static var possibleCPUs: Int {
        get throws(BPFError) { try cpuCount(libbpf_num_possible_cpus()) }
    }

    /// libbpf's answer (a count, or -errno) as a count.
    static func cpuCount(_ result: Int32) throws(BPFError) -> Int {
        guard result > 0 else {
            throw BPFError.system("cannot count the possible CPUs (/sys/devices/system/cpu/possible)", result == 0 ? -EINVAL : result)
        }
        return Int(result)
    }

    /// Nanoseconds between the BPF clock (`bpf_ktime_get_ns`, CLOCK_MONOTONIC)
    /// and the wall clock, to turn event timestamps into dates.
    public static func monotonicToRealtimeOffset() -> Int64 {
        var mono = timespec(), real = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        clock_gettime(CLOCK_REALTIME, &real)
        return (Int64(real.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + (Int64(real.tv_nsec) - Int64(mono.tv_nsec))
    }
}
