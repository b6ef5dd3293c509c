// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import ProbeEvents

/// `-s/--signal`, shared by sigsnoop and killsnoop, and the probe
/// configuration it makes (`struct sigsnoop_config`).
public struct SignalOption: ParsableArguments, Sendable {
    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("Only this signal (name or number).", valueName: "signal"))
    public var signal: String?

    public init() {}

    public func validate() throws {
        if let signal, SignalName.number(signal) == nil { throw ValidationError("no signal '\(signal)' (give a name such as TERM, or a number)") }
    }

    /// The probe's `sig_cfg`: 0 selects every signal.
    public var config: sigsnoop_config { sigsnoop_config(signal: signal.flatMap(SignalName.number) ?? 0, pad: 0) }
}
