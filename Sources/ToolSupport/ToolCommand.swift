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
        let name = configuration.commandName ?? String(describing: Self.self)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as BPFError {
            FileHandle.standardError.write(Data("\(name): error: \(error.report)\n".utf8))
            Glibc.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version
                print(fullMessage(for: error))
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
}
