// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Foundation
import Glibc
import SwiftBPF

/// A tool's `@main` command. Its `main()` maps outcomes to the suite's exit
/// codes: 0 success, 1 runtime failure, 2 usage error; and prints errors as
/// one line, never a backtrace.
public protocol ToolCommand: ParsableCommand {}

extension ToolCommand {
    public static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exitAsTool(error)
        }
    }
}

extension ParsableCommand {
    /// Ends the process the suite's way for `error`: a BPF failure is one
    /// line and exit 1, a usage error one line and exit 2, `--help` the
    /// help and exit 0. Shared by `ToolCommand` and the exporter's async
    /// entry point.
    public static func exitAsTool(_ error: any Error) -> Never {
        let name = configuration.commandName ?? String(describing: Self.self)
        if let error = error as? BPFError {
            FileHandle.standardError.write(Data("\(name): error: \(error.report)\n".utf8))
            Glibc.exit(1)
        }
        let code = exitCode(for: error)
        if code == .success {
            // --help and --version
            FileHandle.standardOutput.write(Data((fullMessage(for: error) + "\n").utf8))
            Glibc.exit(0)
        }
        if code == .validationFailure {
            FileHandle.standardError.write(Data("\(name): error: \(message(for: error)) (see '\(name) --help')\n".utf8))
            Glibc.exit(2)
        }
        let text = message(for: error)
        if !text.isEmpty { FileHandle.standardError.write(Data("\(name): error: \(text)\n".utf8)) }
        Glibc.exit(code.rawValue == 0 ? 0 : code.rawValue)
    }
}
