// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import ProbeEvents
import SwiftBPF

/// The flags of sigsnoop and killsnoop: the shared ones and `-s/--signal`,
/// with the probe configuration it makes (`struct sigsnoop_config`).
public struct SignalOption: ParsableArguments, Sendable {
    @OptionGroup(title: "Tracing options")
    public var trace: TraceOptions

    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("Only this signal (name or number).", valueName: "signal"))
    public var signal: String?

    public init() {}

    public func validate() throws {
        if let signal, SignalName.number(signal) == nil { throw ValidationError("no signal '\(signal)' (give a name such as TERM, or a number)") }
    }

    /// The probe's `sig_cfg`: 0 selects every signal.
    public var config: sigsnoop_config { sigsnoop_config(signal: signal.flatMap(SignalName.number) ?? 0, pad: 0) }
}

/// An opened probe with sigsnoop.h's `sig_cfg` (sigsnoop's, killsnoop's).
public protocol SignalProbe: OpenTraceProbe, ~Copyable where Filter == trace_filter {
    var sigCfg: sigsnoop_config { get set }
}

extension SignalOption {
    /// A signal tool's run: `open`'s probe, given `-s`, printing its
    /// events in `fields`' columns (`TraceSession.trace`).
    public func trace<Open: SignalProbe & ~Copyable, Event: TaskEvent>(_ tool: String, what: String, fields: [Field<Event>],
                                                     open: () throws -> Open) throws {
        try TraceSession.trace(tool, options: trace, what: what, fields: fields) {
            var probe = try open()
            probe.sigCfg = config
            return probe
        }
    }
}
