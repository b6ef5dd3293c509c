// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing
@testable import swiftbpf

/// `swiftbpf`: every tool in one program, by its first argument or by the
/// name of a link to it, and each of them the same command as the tool's
/// own executable.
@Suite(.enabled(if: !TestEnvironment.inKernelLane, "argument handling is the same on every kernel"))
struct MultiCall {
    static let program = TestEnvironment.product("swiftbpf")

    /// A link to swiftbpf named `name`, in a fresh directory.
    static func link(_ name: String) throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/" + name
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: program)
        return path
    }

    /// The program finds a tool by the name its list gives (its target's,
    /// read without touching the others): that is the command's own name.
    @Test func eachNameIsItsCommands() {
        #expect(allTools.map(\.name).sorted() == AllTools.all)
        for tool in allTools {
            #expect(tool.entry().name == tool.name)
        }
    }

    @Test func listsEveryToolOnce() throws {
        let list = try ToolRun.complete("swiftbpf", ["--list"])
        #expect(list.status == 0, "\(list.stderr)")
        let names = list.stdout.split(separator: "\n").map { String($0.prefix { $0 != " " }) }
        #expect(names == AllTools.all, "\(names)")
        // Each with its one-line abstract, as its help's OVERVIEW says.
        let mkdir = list.stdout.split(separator: "\n").first { $0.hasPrefix("mkdirtrace ") }
        #expect(mkdir?.hasSuffix("Trace every mkdir(2) and mkdirat(2) on this machine as it happens.") == true, "\(list.stdout)")
    }

    /// By argument, by link and by its own executable, a tool's help is the
    /// same text: one command behind three ways in.
    @Test(arguments: AllTools.all)
    func aToolIsTheSameCommandEveryWayIn(tool: String) throws {
        let own = try ToolRun.complete(tool, ["--help"])
        let byArgument = try ToolRun.complete("swiftbpf", [tool, "--help"])
        let byLink = try ToolRun(absolute: try Self.link(tool), ["--help"])
        #expect(byLink.finish() == 0)
        let byHelp = try ToolRun.complete("swiftbpf", ["help", tool])
        #expect(own.status == 0 && byArgument.status == 0 && byHelp.status == 0)
        #expect(!own.stdout.isEmpty && byArgument.stdout == own.stdout && byLink.stdout.text == own.stdout && byHelp.stdout == own.stdout,
                "\(tool): \(byArgument.stdout.prefix(200))")
        // A usage error is the tool's own, with its exit code.
        let bad = try ToolRun.complete("swiftbpf", [tool, "--no-such-flag"])
        #expect(bad.status == 2 && bad.stderr.hasPrefix("\(tool): error: ") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
    }

    @Test(arguments: [
        ([], "name a tool"), (["bogus"], "no tool 'bogus'"), (["--bogus"], "unknown option '--bogus'"),
        (["help", "bogus"], "no tool 'bogus'"), (["--list", "x"], "--list takes nothing more"),
        (["help", "mkdirtrace", "x"], "help takes one tool"),
    ])
    func badInputIsOneLineAndExit2(arguments: [String], mention: String) throws {
        let run = try ToolRun.complete("swiftbpf", arguments)
        #expect(run.status == 2 && run.stderr.hasPrefix("swiftbpf: error: ") && run.stderr.contains(mention), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stdout.isEmpty, "\(run.stderr)")
    }

    /// The exporter answers to `exporter` too.
    @Test func theExportersShortName() throws {
        let run = try ToolRun.complete("swiftbpf", ["exporter", "--help"])
        let own = try ToolRun.complete("swiftbpf-exporter", ["--help"])
        #expect(run.status == 0 && run.stdout == own.stdout && !run.stdout.isEmpty)
    }

    /// A link with a name that is no tool is swiftbpf itself.
    @Test func anUnknownLinkNameIsSwiftbpf() throws {
        let run = try ToolRun(absolute: try Self.link("renamed"), ["--list"])
        #expect(run.finish() == 0 && run.stdout.text.contains("mkdirtrace "), "\(run.stderr.text)")
    }

    /// `--version`: the VERSION file and the commit built, by every way in.
    @Test func versionNamesTheVersionFileAndCommit() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let version = try String(contentsOfFile: root + "/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let head = try Command.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"])
        for (name, run) in [("swiftbpf", try ToolRun.complete("swiftbpf", ["--version"])), ("mkdirtrace", try ToolRun.complete("mkdirtrace", ["--version"])),
                            ("tcplife", try ToolRun.complete("swiftbpf", ["tcplife", "--version"]))] {
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("\(name) \(version) (commit "), "\(run.stdout)")
            if head.status == 0 {
                // The build's commit, or that commit with changes not yet committed.
                let commit = head.output.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(run.stdout.contains("(commit \(commit))") || run.stdout.contains("(commit \(commit)-dirty)"), "\(run.stdout) vs \(commit)")
            }
        }
    }
}
