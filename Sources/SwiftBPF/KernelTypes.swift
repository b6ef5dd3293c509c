// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF

/// The running kernel's own types, read from its BTF
/// (`/sys/kernel/btf/vmlinux`; Linux 5.4+ built with `CONFIG_DEBUG_INFO_BTF`).
///
/// Enumerations such as `skb_drop_reason` are numbered differently from
/// one kernel version to the next, so a tool that names their values reads
/// them here instead of carrying a table.
public enum KernelTypes {
    /// One enumerator of a kernel enum.
    public struct Enumerator: Sendable, Hashable {
        public var name: String
        public var value: Int64
    }

    /// The enumerators of the kernel's `enum name`, in declaration order.
    /// Throws `.notFound` naming the enum when this kernel has no such
    /// enum, and `.featureMissing(.btf)` when the kernel has no BTF.
    public static func enumerators(of name: String) throws(BPFError) -> [Enumerator] {
        guard let found = try enumerations(named: [name])[name] else {
            throw BPFError(.notFound, "this kernel (\(Kernel.release)) has no enum \(name) in its BTF")
        }
        return found
    }

    /// Several enums at once, by name, from one reading of the kernel's BTF
    /// (several megabytes); the enums this kernel lacks are left out.
    /// Throws `.featureMissing(.btf)` when the kernel has no BTF.
    public static func enumerations(named names: [String]) throws(BPFError) -> [String: [Enumerator]] {
        guard let btf = btf__load_vmlinux_btf() else {
            throw BPFError(.featureMissing(.btf), "cannot read the kernel's types from /sys/kernel/btf/vmlinux (a kernel built without CONFIG_DEBUG_INFO_BTF?)")
        }
        defer { btf__free(btf) }
        var out: [String: [Enumerator]] = [:]
        for name in names {
            var id = btf__find_by_name_kind(btf, name, UInt32(BTFKind.enumeration.rawValue))
            if id < 0 { id = btf__find_by_name_kind(btf, name, UInt32(BTFKind.enumeration64.rawValue)) }
            guard id > 0, let type = btf__type_by_id(btf, UInt32(id)) else { continue }
            let count = UInt16(type.pointee.info & 0xffff)
            out[name] = (0..<count).map { i in
                var value: Int64 = 0
                let offset = swiftbpf_btf_enumerator(type, i, &value)
                return Enumerator(name: String(cString: btf__name_by_offset(btf, offset)), value: value)
            }
        }
        return out
    }
}
