// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport
import StackSupport

public let tool = ToolEntry(Profile.self)

struct Profile: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Sample on-CPU stacks at a fixed rate, and show where the time goes.",
        discussion: """
        A cpu-clock perf event fires HZ times a second on each CPU (software: no \
        hardware PMU is needed); each sample counts the running task's user and \
        kernel stacks in the kernel. At the end the stacks are named (kallsyms, ELF \
        symbols, Swift and C++ names demangled) and printed, the hottest last. \
        Programs built without frame pointers (most distribution binaries) show \
        short user stacks.

        Examples:
          profile -p 1234 --duration 10         one process for 10 seconds
          profile -F 99 --svg cpu.svg -d 10     a flame graph of the whole machine
          profile -K --folded                   kernel stacks, folded
          profile --cpu 0                       CPU 0 only
        """
    )

    @OptionGroup(title: "Stack options")
    var stacks: StackOptions

    @Option(name: [.customShort("F"), .long], help: ArgumentHelp("Samples per second on each CPU.", valueName: "hz"))
    var frequency: UInt64 = 49

    @Option(name: .long, help: ArgumentHelp("Sample this CPU only (-C is the containers flag in every tool).", valueName: "cpu"))
    var cpu: Int32?

    @Flag(name: [.customShort("I"), .customLong("include-idle")], help: "Count the CPUs' idle tasks too.")
    var includeIdle = false

    func validate() throws {
        guard (1...10_000).contains(frequency) else { throw ValidationError("-F must be from 1 to 10000 samples a second, got \(frequency)") }
        if let cpu, !((try? Kernel.onlineCPUs())?.contains(cpu) ?? true) {
            throw ValidationError("--cpu \(cpu): no such online CPU (online: \((try? Kernel.onlineCPUs())?.map(String.init).joined(separator: ",") ?? "?"))")
        }
    }

    func run() throws {
        let session = try TraceSession(tool: "profile", options: stacks.trace, flags: .stacks)
        var open = try ProfileSkeleton.open()
        try stacks.configure(&open) { $0.idle = includeIdle ? 1 : 0 }
        let probe = try session.load(open)
        let report = try StackReport(probe: probe, options: stacks)
        try report.followProcesses(of: probe)
        let program = probe.programs.profileSample
        let what = "on-CPU stacks at \(frequency) Hz on " + (cpu.map { "CPU \($0)" } ?? "every CPU")
        try session.runPeriodic(what: what, interval: nil, attach: { () throws(BPFError) in
            if let cpu { return [try program.attachPerfEvent(.cpuClock, rate: .frequency(frequency), cpu: cpu)] }
            return try program.attachPerfEventOnEveryCPU(.cpuClock, rate: .frequency(frequency))
        }) { _ in
            report.finish(session: session, title: "profile: on-CPU stacks, \(frequency) Hz", unit: "samples")
        }
    }
}
