// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc

extension Program {
    /// Attaches a cgroup program to the cgroup v2 directory at `path`, at
    /// the hook its `SEC()` names (`cgroup/connect4`, `cgroup/sendmsg6`,
    /// `cgroup_skb/egress`, ...). It then runs for every process in that
    /// cgroup and in the cgroups below it.
    ///
    /// Through a bpf_link, which the kernel attaches as `BPF_F_ALLOW_MULTI`
    /// does: programs already attached there, and ones attached later, keep
    /// running, and for the hooks that decide (sock_addr, skb) a call or
    /// packet goes through only if every program lets it. Releasing the
    /// link, or the process ending (SIGKILL included), detaches it.
    /// Linux 5.7+ (cgroup links); the hooks themselves are older.
    public func attachCgroup(path: String) throws(BPFError) -> Link {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BPFError.fromErrno("cannot open cgroup \(path)") }
        defer { close(fd) }
        let hook = sectionName
        return try makeLink("attach \(name) to cgroup \(path)", kind: .cgroup(path: path, hook: hook)) {
            bpf_program__attach_cgroup(pointer, fd)
        }
    }
}

extension Kernel {
    /// The cgroup attach points a program can be queried at.
    public enum CgroupHook: Sendable, CaseIterable {
        case connect4, connect6, sendmsg4, sendmsg6, egress

        var attachType: bpf_attach_type {
            switch self {
            case .connect4: BPF_CGROUP_INET4_CONNECT
            case .connect6: BPF_CGROUP_INET6_CONNECT
            case .sendmsg4: BPF_CGROUP_UDP4_SENDMSG
            case .sendmsg6: BPF_CGROUP_UDP6_SENDMSG
            case .egress: BPF_CGROUP_INET_EGRESS
            }
        }
    }

    /// IDs of the programs attached directly to the cgroup at `path` for
    /// `hook` (not the ones inherited from its ancestors). Linux 4.15+.
    public static func cgroupPrograms(path: String, hook: CgroupHook) throws(BPFError) -> [UInt32] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BPFError.fromErrno("cannot open cgroup \(path)") }
        defer { close(fd) }
        var ids = [UInt32](repeating: 0, count: 64)
        var count = UInt32(ids.count)
        var flags: UInt32 = 0
        let rc = ids.withUnsafeMutableBufferPointer { bpf_prog_query(fd, hook.attachType, 0, &flags, $0.baseAddress, &count) }
        guard rc == 0 else { throw BPFError.system("cannot list the programs of cgroup \(path)", rc == -1 ? errno : rc) }
        return Array(ids.prefix(Int(count)))
    }
}
