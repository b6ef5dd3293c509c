// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import SwiftBPF

extension FunctionProbes: ExpressibleByArgument {}

/// `--functions fentry|kprobe` for tools that probe kernel functions:
/// the best the kernel offers unless told.
public struct FunctionProbeOption: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Probe kernel functions with fentry or kprobe programs (default: fentry where the kernel attaches it, else kprobe).", valueName: "kind"))
    public var functions: FunctionProbes?

    public init() {}

    /// The kind asked for, if the kernel has it; else the best one.
    public func chosen() throws(BPFError) -> FunctionProbes {
        switch functions {
        case nil: return try FunctionProbes.best()
        case .fentry?: try Kernel.require(.fentry)
        case .kprobe?: try Kernel.require(.kprobes)
        }
        return functions!
    }
}
