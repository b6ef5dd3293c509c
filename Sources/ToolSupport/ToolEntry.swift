// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BuildInfo
import Dispatch
import Glibc
import SwiftBPF

/// A tool as a program runs it: each tool's module declares one,
/// `public let tool = ToolEntry(MkdirTrace.self)`, which both its own
/// executable (`swift run mkdirtrace`) and the multi-call `swiftbpf` start.
/// Nothing of the command (its configuration, its argument tables) is
/// touched until it is run or listed.
public struct ToolEntry: Sendable {
    /// The command's type, for its name and abstract.
    public let command: any ParsableCommand.Type
    /// Other names `swiftbpf NAME` accepts (the exporter's `exporter`).
    public let aliases: [String]
    private let start: @Sendable ([String]) -> Void

    public init<Command: ToolCommand>(_ command: Command.Type, aliases: [String] = []) {
        self.command = command
        self.aliases = aliases
        start = { Command.main($0) }
    }

    /// An async command (the exporter): run on the main queue, as an
    /// `async` `@main` would be.
    public init<Command: AsyncToolCommand>(async command: Command.Type, aliases: [String] = []) {
        self.command = command
        self.aliases = aliases
        start = { arguments in
            Task { @MainActor in
                await Command.main(arguments)
                exit(0)
            }
            dispatchMain()
        }
    }

    /// Its name: the executable's, and the first word of `swiftbpf NAME`.
    public var name: String { command.configuration.commandName ?? "\(command)" }
    public var abstract: String { command.configuration.abstract }

    /// Runs the tool on `arguments` (the process's own without its name
    /// when nil) and exits. `--version` alone prints the build.
    public func main(_ arguments: [String]? = nil) -> Never {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        if arguments == ["--version"] {
            StandardStreams.out("\(name) \(BuildInfo.description)")
            exit(0)
        }
        start(arguments)
        exit(0)
    }
}
