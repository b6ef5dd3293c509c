// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// Usage errors need no privileges: one line, exit code 2. Argument checks
/// do not depend on the kernel, so the kernel lane leaves them to the host.
@Suite(.enabled(if: !TestEnvironment.inKernelLane, "argument checks are the same on every kernel"))
struct MkdirtraceUsage {
    @Test(arguments: [
        (["--pid", "abc"], "--pid"),
        (["--buffer-size", "3"], "--buffer-size"),
        (["--bogus"], "--bogus"),
        (["-c", "a-name-longer-than-15"], "15-byte"),
        (["-u", "no-such-user-here"], "no user"),
        (["--cgroup", "/nonexistent/cgroup"], "no such cgroup"),
        (["--duration", "-1"], "--duration"),
        (["-p", "2147483000"], "no process"),
    ])
    func badInputGivesOneLineAndExitCode2(arguments: [String], mention: String) throws {
        let run = try ToolRun.complete("mkdirtrace", arguments)
        #expect(run.status == 2)
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.hasPrefix("mkdirtrace: error: "))
        #expect(run.stderr.contains(mention))
    }

    @Test func helpReadsWell() throws {
        let run = try ToolRun.complete("mkdirtrace", ["--help"])
        #expect(run.status == 0)
        for flag in ["-p, --pid", "-c, --comm", "-u, --uid", "-x, --failed", "-T, --timestamp", "--json", "--duration", "--cgroup"] {
            #expect(run.stdout.contains(flag), "help lists \(flag)")
        }
        #expect(run.stdout.contains("mkdirat"))
    }
}

/// Bad input to any tool: one line on stderr, exit code 2, nothing attached.
@Suite(.enabled(if: !TestEnvironment.inKernelLane, "argument checks are the same on every kernel"))
struct ToolUsage {
    @Test(arguments: AllTools.tracing)
    func sharedFlagsAreValidatedTheSameWay(tool: String) throws {
        for args in [["-p", "0"], ["-p", "abc"], ["--cgroup", "/nonexistent/cgroup"], ["--bogus-flag"]] {
            let run = try ToolRun.complete(tool, args)
            #expect(run.status == 2, "\(tool) \(args)")
            #expect(run.stderr.split(separator: "\n").count == 1)
            #expect(run.stderr.hasPrefix("\(tool): error: "))
        }
    }

    /// The scheduler, disk and network tools' own flags, and the shared
    /// ones that mean nothing to them.
    @Test(arguments: [
        ("runqlat", ["-P", "-L"], "exclusive"),
        ("runqlat", ["--cgroup", "/sys/fs/cgroup"], "cannot apply --cgroup"),
        ("cpudist", ["-x"], "-x selects failed calls"),
        ("runqlat", ["-i", "0"], "--interval must be a positive"),
        ("biolatency", ["--disk", "nosuchdisk"], "no disk 'nosuchdisk'"),
        ("biosnoop", ["--disk", "../sda"], "no disk '../sda'"),
        ("biolatency", ["-T"], "-T times events"),
        ("skbdrop", ["-p", "1"], "-p selects tasks"),
        ("skbdrop", ["--reason", "NETFILTER_DORP"], "did you mean NETFILTER_DROP"),
        ("skbdrop", ["-i", "1"], "add --summary"),
        ("tcpretrans", ["-c", "curl"], "-c selects tasks"),
        ("tcpstates", ["--netns", "no-such-netns"], "no namespace of that name"),
        ("tcplife", ["--host", "10.0.0.300"], "not an IPv4 or IPv6 address"),
        ("tcplife", ["--port", "0"], "--port must be from 1 to 65535"),
    ])
    func toolFlagsAreChecked(tool: String, arguments: [String], mention: String) throws {
        let run = try ToolRun.complete(tool, arguments)
        #expect(run.status == 2, "\(tool) \(arguments)")
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention), "\(tool) \(arguments): \(run.stderr)")
    }

    /// Every tool, enforcers and exporter included: an unknown flag is one
    /// line and exit 2, and `--help` describes the tool.
    @Test(arguments: AllTools.all)
    func everyToolRefusesAnUnknownFlagAndHasHelp(tool: String) throws {
        let bad = try ToolRun.complete(tool, ["--no-such-flag"])
        #expect(bad.status == 2, "\(tool): \(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1 && bad.stderr.hasPrefix("\(tool): error: "), "\(tool): \(bad.stderr)")
        let help = try ToolRun.complete(tool, ["--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: \(tool)"), "\(tool): \(help.stdout.prefix(200))")
    }

    /// The tools are found in Sources/, not listed by hand: the list
    /// holds the enforcers and the exporter, and the tracing tools.
    @Test func everyToolIsFound() {
        #expect(AllTools.all.count >= 28 && AllTools.all.contains("swiftbpf-exporter") && AllTools.all.contains("pktfilter"), "\(AllTools.all)")
        #expect(AllTools.tracing.count >= 23 && AllTools.tracing.contains("mkdirtrace") && !AllTools.tracing.contains("pktfilter"), "\(AllTools.tracing)")
    }

    /// Each tool refuses the shared flags it does not honour, in one line.
    @Test(arguments: [
        ("profile", ["--json"], "profile writes stacks"),
        ("offcputime", ["-x"], "-x selects failed calls"),
        ("stackcount", ["-T", "sched:sched_switch"], "-T times events"),
        ("vfsstat", ["-x"], "-x selects failed calls"),
        ("syscount", ["-C"], "-C adds columns"),
        ("tcpstates", ["-x"], "tcpstates traces state changes"),
        ("oomkill", ["-x"], "no result to select by"),
    ])
    func refusedSharedFlagsAreUsageErrors(tool: String, arguments: [String], mention: String) throws {
        let run = try ToolRun.complete(tool, arguments)
        #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention), "\(tool) \(arguments): \(run.stderr)")
    }

    @Test func execsnoopLimitsAreChecked() throws {
        #expect(try ToolRun.complete("execsnoop", ["--max-args", "0"]).status == 2)
        #expect(try ToolRun.complete("execsnoop", ["--max-arg-len", "5000"]).status == 2)
        #expect(try ToolRun.complete("opensnoop", ["-n", ""]).status == 2)
        #expect(try ToolRun.complete("sysnoop", []).status == 2)
    }
}
