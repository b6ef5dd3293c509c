// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import ProbeEvents
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

extension TraceSession {
    /// `load(_:)` for a probe of kernel functions: only its fentry or its
    /// kprobe programs, as `functions` asks or the kernel allows (said with
    /// --verbose). Returns the kind used, for the status line.
    public func load<Open: OpenTraceProbe & ~Copyable>(_ open: consuming Open, functions: FunctionProbeOption)
        throws(BPFError) -> (probe: Open.Loaded, kind: FunctionProbes) where Open.Filter == trace_filter {
        let kind = try functions.chosen()
        if options.verbose { note("\(tool): probing kernel functions with \(kind)") }
        open.object.useFunctionProbes(kind)
        return (try load(open), kind)
    }
}
