// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import SwiftBPF
import ToolSupport

/// What every enforcer's run shares besides its rules: audit mode and the
/// tracing tools' output flags.
public struct GuardOutputOptions: ParsableArguments {
    public init() {}

    @Flag(name: .long, help: "Let everything through; report what the rules would deny (would-deny).")
    public var audit = false

    @Flag(name: .long, help: "Print one JSON object per line.")
    public var json = false

    @Flag(name: [.customShort("C"), .long], help: "Add CONTAINER and POD columns (JSON always carries them when known).")
    public var containers = false

    @Flag(name: [.customShort("T"), .long], help: "Show time as seconds since it started instead of the wall clock.")
    public var timestamp = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    public var duration: Double?

    @Flag(name: .long, help: "Print libbpf's diagnostics to standard error.")
    public var verbose = false

    /// The shared tracing options these flags stand for.
    public func traceOptions() throws -> TraceOptions {
        var shared: [String] = []
        if json { shared.append("--json") }
        if containers { shared.append("-C") }
        if timestamp { shared.append("-T") }
        if verbose { shared.append("--verbose") }
        if let duration { shared += ["--duration", "\(duration)"] }
        return try TraceOptions.parse(shared)
    }

    /// "2 allowed, 1 denied, 0 would-deny".
    public static func summary(_ counts: [GuardVerdict: UInt64]) -> String {
        "\(counts[.allowed] ?? 0) allowed, \(counts[.denied] ?? 0) denied, \(counts[.wouldDeny] ?? 0) would-deny"
    }
}

/// Paths given for rules, resolved to files now: a missing one is a usage
/// error naming it.
public func guardedFiles(_ paths: [String], flag: String) throws -> [GuardedFile] {
    try paths.map { path throws -> GuardedFile in
        do {
            return try GuardedFile(path: path)
        } catch let error as BPFError {
            throw ValidationError("\(flag) \(path): \(error.errno.map { "\($0)" } ?? error.message)")
        }
    }
}
