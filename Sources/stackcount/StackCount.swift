// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import StackSupport

public let tool = ToolEntry(StackCount.self)

struct StackCount: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "stackcount",
        abstract: "Count the stacks that reach a tracepoint or a user function.",
        discussion: """
        TARGET is a tracepoint, CATEGORY:NAME (as in /sys/kernel/tracing/events), or \
        a user function, u:LIBRARY:FUNCTION (a path, or a library's file name such as \
        libc.so.6). Each hit counts its stacks in the kernel.

        Examples:
          stackcount syscalls:sys_enter_mkdir       who calls mkdir
          stackcount sched:sched_process_fork -P    forks, per process
          stackcount u:libc.so.6:malloc -p 1234 -U  malloc's callers in one process
        """
    )

    @Argument(help: ArgumentHelp("CATEGORY:NAME, or u:LIBRARY:FUNCTION.", valueName: "target"))
    var target: String

    @OptionGroup(title: "Stack options")
    var stacks: StackOptions

    @Flag(name: [.customShort("P"), .customLong("per-process")], help: "Count per process as well as per stack.")
    var perProcess = false

    enum Target {
        case tracepoint(category: String, name: String)
        case uprobe(library: String, function: String)
    }

    var parsedTarget: Target? {
        let parts = target.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "u", !parts[1].isEmpty, !parts[2].isEmpty { return .uprobe(library: parts[1], function: parts[2]) }
        if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty { return .tracepoint(category: parts[0], name: parts[1]) }
        return nil
    }

    func validate() throws {
        guard parsedTarget != nil else {
            throw ValidationError("target '\(target)': give CATEGORY:NAME (a tracepoint) or u:LIBRARY:FUNCTION")
        }
    }

    func run() throws {
        let target = parsedTarget!
        if case .tracepoint(let category, let name) = target, !(try Kernel.tracepointExists(category: category, name: name)) {
            throw ValidationError("no tracepoint \(category):\(name) in this kernel (see /sys/kernel/tracing/events/\(category))")
        }
        let session = try TraceSession(tool: "stackcount", options: stacks.trace, flags: .stacks)
        var open = try StackcountSkeleton.open()
        // User frames are named through their process's memory map, so
        // user stacks are always counted per process.
        try stacks.configure(&open) { $0.per_process = perProcess || !stacks.kernelOnly ? 1 : 0 }
        if case .uprobe = target { try open.setAutoload(false, for: .stackcountTp) } else { try open.setAutoload(false, for: .stackcountUprobe) }
        let probe = try session.load(open)
        let report = try StackReport(probe: probe, options: stacks)
        try report.followProcesses(of: probe)
        try session.runPeriodic(what: "stacks reaching \(self.target)", interval: nil, attach: { () throws(BPFError) in
            switch target {
            case .tracepoint(let category, let name):
                return [try probe.programs.stackcountTp.attachTracepoint(category: category, name: name)]
            case .uprobe(let library, let function):
                return [try probe.programs.stackcountUprobe.attachUprobe(binary: library, function: function, pid: stacks.trace.pid)]
            }
        }) { _ in
            report.finish(session: session, title: "stackcount: \(self.target)", unit: "")
        }
    }
}
