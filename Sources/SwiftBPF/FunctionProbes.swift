// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF

/// How programs reach kernel functions. An object can carry both kinds for
/// the same functions (`SEC("fentry/F")` and `SEC("kprobe/F")`); choose one
/// at run time with `best()` and load only that set with
/// `OpenObject.useFunctionProbes(_:)`, as libbpf-tools does.
public enum FunctionProbes: String, Sendable, CaseIterable {
    /// fentry/fexit: BPF trampolines, typed arguments, the cheaper call
    /// (Linux 5.5+ on x86-64, where the kernel lets them attach).
    case fentry
    /// kprobe/kretprobe (CONFIG_KPROBES).
    case kprobe

    /// Section prefixes of this kind's programs.
    var sectionPrefixes: [String] {
        switch self {
        case .fentry: ["fentry/", "fexit/", "fmod_ret/"]
        case .kprobe: ["kprobe/", "kretprobe/"]
        }
    }

    /// fentry where the kernel attaches trampolines, else kprobes; an error
    /// naming both when the kernel has neither.
    public static func best() throws(BPFError) -> FunctionProbes {
        if Kernel.supports(.fentry) { return .fentry }
        if Kernel.supports(.kprobes) { return .kprobe }
        throw BPFError(.featureMissing(.kprobes),
                       "this kernel can probe no kernel function: it has no kprobes (CONFIG_KPROBES is not set) and refuses fentry (BPF trampolines, Linux 5.5+)",
                       errno: .notSupported)
    }
}

extension OpenObject {
    /// Loads the programs of `kind` that reach kernel functions and leaves
    /// out those of the other kind; tracepoint and other programs stay as
    /// they are.
    public mutating func useFunctionProbes(_ kind: FunctionProbes) {
        let other = FunctionProbes.allCases.filter { $0 != kind }.flatMap(\.sectionPrefixes)
        for prog in handle.programPointers {
            let section = String(cString: bpf_program__section_name(prog))
            if other.contains(where: section.hasPrefix) { bpf_program__set_autoload(prog, false) }
        }
    }
}
