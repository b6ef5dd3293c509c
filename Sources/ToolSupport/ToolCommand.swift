// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Foundation
import Glibc
import SwiftBPF

/// A tool's command. Its `main()` maps outcomes to the suite's exit codes:
/// 0 success, 1 runtime failure, 2 usage error; and prints errors as one
/// line, never a backtrace.
public protocol ToolCommand: ParsableCommand {}

extension ToolCommand {
    public static func main(_ arguments: [String]?) {
        // A closed output is an EPIPE to handle, never a signal that kills.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exitAsTool(error)
        }
    }

    public static func main() { main(nil) }
}

/// An async tool's command (the exporter), with the same exits.
public protocol AsyncToolCommand: AsyncParsableCommand {}

extension AsyncToolCommand {
    public static func main(_ arguments: [String]?) async {
        do {
            var command = try parseAsRoot(arguments)
            if var tool = command as? Self {
                try await tool.run()
            } else {
                try command.run()  // the parser's own commands: help
            }
        } catch {
            exitAsTool(error)
        }
    }

    public static func main() async { await main(nil) }
}

extension ParsableCommand {
    /// Ends the process the suite's way for `error`: a BPF failure is one
    /// line and exit 1, a usage error one line and exit 2, `--help` the
    /// help and exit 0. Shared by `ToolCommand` and `AsyncToolCommand`.
    public static func exitAsTool(_ error: any Error) -> Never {
        let name = configuration.commandName ?? String(describing: Self.self)
        if let error = error as? BPFError {
            StandardStreams.error("\(name): error: \(error.report)")
            Glibc.exit(1)
        }
        let code = exitCode(for: error)
        if code == .success {
            // --help and --version
            StandardStreams.out(fullMessage(for: error))
            Glibc.exit(0)
        }
        if code == .validationFailure {
            StandardStreams.error("\(name): error: \(message(for: error)) (see '\(name) --help')")
            Glibc.exit(2)
        }
        let text = message(for: error)
        if !text.isEmpty { StandardStreams.error("\(name): error: \(text)") }
        Glibc.exit(code.rawValue == 0 ? 0 : code.rawValue)
    }
}
