// SPDX-License-Identifier: BSD-2-Clause
import BuildInfo
import Glibc
import SwiftBPF

/// The `swiftbpf` program: every tool in one executable, run by a link
/// named after the tool (`mkdirtrace -> swiftbpf`, as busybox is) or by
/// `swiftbpf TOOL ARGUMENTS`. Only the tool that runs is looked at: the
/// others' commands are not touched.
public struct MultiCall: Sendable {
    /// A tool by name, and how to reach its entry (only when it runs or is listed).
    public struct Tool: Sendable {
        public let name: String
        public let entry: @Sendable () -> ToolEntry
        public init(_ name: String, _ entry: @escaping @Sendable () -> ToolEntry) {
            self.name = name
            self.entry = entry
        }
    }

    public let tools: [Tool]
    public static let name = "swiftbpf"

    public init(tools: [Tool]) { self.tools = tools }

    /// What a command line asks for.
    public enum Action {
        case run(ToolEntry, arguments: [String])
        case list, usage, version
        case usageError(String)
    }

    /// The tool named `name`, or with `name` as an alias (the exporter's
    /// `exporter`): only then are the entries looked at.
    public func tool(named name: String) -> ToolEntry? {
        if let tool = tools.first(where: { $0.name == name }) { return tool.entry() }
        return tools.lazy.map { $0.entry() }.first { $0.aliases.contains(name) }
    }

    /// `argv` (the program's name first) as an action.
    public func action(_ argv: [String]) -> Action {
        let program = String((argv.first ?? Self.name).split(separator: "/").last ?? "")
        let rest = Array(argv.dropFirst())
        if program != Self.name, let tool = tools.first(where: { $0.name == program }) {
            return .run(tool.entry(), arguments: rest)
        }
        guard let first = rest.first else { return .usageError("name a tool (see 'swiftbpf --help')") }
        switch first {
        case "--list", "-l": return rest.count == 1 ? .list : .usageError("--list takes nothing more (see 'swiftbpf --help')")
        case "--help", "-h": return .usage
        case "--version": return .version
        case "help":
            guard rest.count > 1 else { return .usage }
            guard rest.count == 2 else { return .usageError("help takes one tool (see 'swiftbpf --help')") }
            guard let tool = tool(named: rest[1]) else { return .usageError("no tool '\(rest[1])' (see 'swiftbpf --list')") }
            return .run(tool, arguments: ["--help"])
        default:
            if first.hasPrefix("-") { return .usageError("unknown option '\(first)' (see 'swiftbpf --help')") }
            guard let tool = tool(named: first) else { return .usageError("no tool '\(first)' (see 'swiftbpf --list')") }
            return .run(tool, arguments: Array(rest.dropFirst()))
        }
    }

    public var usage: String {
        """
        usage: swiftbpf TOOL [ARGUMENTS...]   (or a link named TOOL to swiftbpf)
               swiftbpf --list                the tools, one line each
               swiftbpf help TOOL             a tool's help
               swiftbpf --version
        """
    }

    /// One line per tool: its name and what it does.
    public var list: String {
        let width = (tools.map(\.name.count).max() ?? 0) + 2
        return tools.map { $0.name + String(repeating: " ", count: width - $0.name.count) + $0.entry().abstract }
            .sorted().joined(separator: "\n")
    }

    public func main(_ argv: [String] = CommandLine.arguments) -> Never {
        // The Swift runtime reads the command line from /proc/self/cmdline.
        guard !argv.isEmpty else {
            StandardStreams.error("\(Self.name): error: no command line to read (is /proc mounted?)")
            exit(1)
        }
        switch action(argv) {
        case .run(let tool, let arguments):
            tool.main(arguments)
        case .list:
            StandardStreams.out(list)
        case .usage:
            StandardStreams.out("swiftbpf: BCC-style eBPF tools in one program.\n" + usage)
        case .version:
            StandardStreams.out("\(Self.name) \(BuildInfo.description)")
        case .usageError(let message):
            StandardStreams.error("\(Self.name): error: \(message)")
            exit(2)
        }
        exit(0)
    }
}
