// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF
import TestSupport
import Testing

extension KernelSupport {
    /// Runs `tool` where the kernel lacks what it needs: it must exit 1
    /// with one line, `needs` and this kernel's version, which becomes the
    /// tool's row in the support table.
    static func expectRefusal(_ tool: String, _ args: [String], _ needs: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let v = Kernel.version
        let run = try ToolRun.complete(tool, args)
        #expect(run.status == 1 && run.stderr == "\(tool): error: \(needs) (this is \(v.major).\(v.minor))\n",
                "\(tool): exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        refuses(tool, run.stderr)
    }
}

/// What the kernels the tests boot have, written down, so that the
/// library's probing of each feature is checked against it: the tools
/// choose their fallbacks and refusals by that probing.
struct KernelFacts {
    /// The kernels the tests run on, by version: the host's 6.18 and the
    /// lane's Debian 5.10, 6.1 and 6.12.
    static let known: [String: [KernelFeature: Bool]] = [
        // Debian 11: BPF-LSM built but not in the LSM list; no drop
        // reasons, bpf_loop, attach cookies or tracing task storage yet.
        "5.10": [.btf: true, .ringBuffer: true, .kprobes: true, .fentry: true, .lsm: false, .taskStorage: false,
                 .attachCookies: false, .boundedLoopHelper: false, .dropReasons: false, .xdpLoadBytes: false, .atomicFetch: false, .netfilterLinks: false],
        "6.1": [.btf: true, .ringBuffer: true, .kprobes: true, .fentry: true, .lsm: true, .taskStorage: true,
                .attachCookies: true, .boundedLoopHelper: true, .dropReasons: true, .xdpLoadBytes: true, .atomicFetch: true, .netfilterLinks: false],
        "6.12": [.btf: true, .ringBuffer: true, .kprobes: true, .fentry: true, .lsm: true, .taskStorage: true,
                 .attachCookies: true, .boundedLoopHelper: true, .dropReasons: true, .xdpLoadBytes: true, .atomicFetch: true, .netfilterLinks: true],
        // This host: no kprobes, and fentry and LSM programs refused.
        "6.18": [.btf: true, .ringBuffer: true, .kprobes: false, .fentry: false, .lsm: false, .taskStorage: true,
                 .attachCookies: true, .boundedLoopHelper: true, .dropReasons: true, .xdpLoadBytes: true, .atomicFetch: true, .netfilterLinks: true],
    ]
}

extension Privileged {
    @Suite struct KernelBreadth {
        init() throws { _ = try Privileged() }

        /// The one program, called by a tool's name as its first argument.
        @Test func swiftbpfRunsATool() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let tool = try ToolRun("swiftbpf", ["mkdirtrace", "--json", "-p", "\(helper.pid)"])
            #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
            #expect(helper.run("mkdir \(dir)/made 700") == "ok 0")
            #expect(tool.stdout.wait(for: "/made\""), "\(tool.stderr.text)")
            tool.signal(SIGINT)
            #expect(tool.finish() == 0, "\(tool.stderr.text)")
            let lines = tool.jsonLines
            #expect(lines.count == 1 && lines.first?["path"] as? String == "\(dir)/made" && lines.first?["pid"] as? Int == Int(helper.pid)
                    && lines.first?["mode"] as? String == "0700" && lines.first?["ret"] as? Int == 0, "\(tool.stdout.text)")
            KernelSupport.works("swiftbpf")
        }

        /// SWIFTBPF_FORCE_PERFBUF=1: the perf buffer that stands in for a
        /// ring buffer before Linux 5.8, forced where ring buffers work.
        /// Records built in place (exitsnoop) and copied (mkdirtrace) come
        /// with their exact fields, and --verbose says which buffer.
        @Test func perfBufferFallbackDeliversExactEvents() throws {
            let forced = ["/usr/bin/env", "SWIFTBPF_FORCE_PERFBUF=1"]
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let mkdirs = try ToolRun("mkdirtrace", ["--json", "-p", "\(helper.pid)", "--verbose"], wrapper: forced)
            let exits = try ToolRun("exitsnoop", ["--json", "-p", "\(helper.pid)"], wrapper: forced)
            #expect(mkdirs.waitUntilAttached() && exits.waitUntilAttached(), "\(mkdirs.stderr.text) \(exits.stderr.text)")
            #expect(mkdirs.stderr.text.contains("mkdirtrace: events through a perf buffer per CPU (SWIFTBPF_FORCE_PERFBUF=1)"), "\(mkdirs.stderr.text)")
            #expect(helper.run("mkdir \(dir)/p 751") == "ok 0")
            #expect(mkdirs.stdout.wait(for: "/p\""), "\(mkdirs.stderr.text)")
            _ = helper.run("exit")
            #expect(exits.stdout.wait(for: "\"exit_code\""), "\(exits.stderr.text)")
            for run in [mkdirs, exits] { run.signal(SIGINT) }
            #expect(mkdirs.finish() == 0 && exits.finish() == 0, "\(mkdirs.stderr.text) \(exits.stderr.text)")
            let made = mkdirs.jsonLines
            #expect(made.count == 1 && made.first?["path"] as? String == "\(dir)/p" && made.first?["mode"] as? String == "0751"
                    && made.first?["pid"] as? Int == Int(helper.pid) && made.first?["ret"] as? Int == 0, "\(mkdirs.stdout.text)")
            let exited = exits.jsonLines
            #expect(exited.count == 1 && exited.first?["pid"] as? Int == Int(helper.pid) && exited.first?["exit_code"] as? Int == 0
                    && exited.first?["ppid"] as? Int == Int(getpid()), "\(exits.stdout.text)")
            #expect(mkdirs.stderr.text.contains("mkdirtrace: 1 events, 0 lost") && exits.stderr.text.contains("exitsnoop: 1 events, 0 lost"),
                    "\(mkdirs.stderr.text) \(exits.stderr.text)")
        }

        /// A perf buffer of a page per CPU under a storm: the kernel drops
        /// what does not fit and says how many; delivered and lost add up
        /// to the storm exactly.
        @Test func perfBufferFallbackCountsWhatItLoses() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let tool = try ToolRun("mkdirtrace", ["--json", "-p", "\(helper.pid)", "--buffer-size", "4"],
                                   wrapper: ["/usr/bin/env", "SWIFTBPF_FORCE_PERFBUF=1"])
            #expect(tool.waitUntilAttached(), "\(tool.stderr.text)")
            let storm = 20_000
            #expect(helper.run("mkdirs \(dir)/s \(storm)") == "ok 1")
            // Everything the buffer took is read before the stop.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, !tool.stderr.text.contains("lost") || tool.jsonLines.count + lostSoFar(tool.stderr.text) < storm { usleep(100_000) }
            tool.signal(SIGINT)
            #expect(tool.finish() == 0, "\(tool.stderr.text)")
            let summary = try #require(tool.stderr.text.firstMatch(of: /mkdirtrace: (\d+) events, (\d+) lost/), "\(tool.stderr.text)")
            let delivered = Int(summary.1) ?? -1, lost = Int(summary.2) ?? -1
            #expect(lost > 0, "a page per CPU cannot hold the storm")
            #expect(delivered == tool.jsonLines.count)
            #expect(delivered + lost == storm, "\(delivered) delivered + \(lost) lost")
            #expect(lostSoFar(tool.stderr.text) == lost, "each loss said as it was noticed: \(tool.stderr.text)")
        }

        /// A tool whose kernel publishes no BTF: /sys/kernel/btf hidden
        /// under an empty tmpfs, in a mount namespace of the tool's own.
        static let withoutKernelBTF = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                       "mount -t tmpfs none /sys/kernel/btf && exec \"$0\" \"$@\""]

        /// Without the kernel's BTF, tools relocate against the BTF built
        /// in for this release (make btf-archive): exact events from a
        /// record built in place (exitsnoop), from the syscall tracepoints
        /// standing in for tp_btf (mkdirtrace), and from a kprobe or
        /// fentry tool where the kernel has either (filelife: without kernel
        /// BTF, fentry cannot attach, so kprobes).
        @Test func toolsRunFromTheBuiltInBTF() throws {
            try #require(KernelBTF.embeddedReleases.contains(Kernel.release),
                         "no built-in BTF for \(Kernel.release) (it has \(KernelBTF.embeddedReleases)): run 'make btf-archive'")
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let mkdirs = try ToolRun("mkdirtrace", ["--json", "-p", "\(helper.pid)", "--verbose"], wrapper: Self.withoutKernelBTF)
            let exits = try ToolRun("exitsnoop", ["--json", "-p", "\(helper.pid)"], wrapper: Self.withoutKernelBTF)
            #expect(mkdirs.waitUntilAttached() && exits.waitUntilAttached(), "\(mkdirs.stderr.text.suffix(2000)) \(exits.stderr.text)")
            #expect(mkdirs.stderr.text.contains("mkdirtrace: BTF: built in, for \(Kernel.release)")
                    && mkdirs.stderr.text.contains("mkdirtrace: syscalls seen at their tracepoints"), "\(mkdirs.stderr.text.suffix(2000))")
            #expect(helper.run("mkdir \(dir)/b 705") == "ok 0")
            #expect(mkdirs.stdout.wait(for: "/b\""))
            _ = helper.run("exit")
            #expect(exits.stdout.wait(for: "\"exit_code\""), "\(exits.stderr.text)")
            for run in [mkdirs, exits] { run.signal(SIGINT) }
            #expect(mkdirs.finish() == 0 && exits.finish() == 0, "\(exits.stderr.text)")
            let made = mkdirs.jsonLines
            #expect(made.count == 1 && made.first?["path"] as? String == "\(dir)/b" && made.first?["mode"] as? String == "0705"
                    && made.first?["pid"] as? Int == Int(helper.pid) && made.first?["syscall"] as? String == "mkdir", "\(mkdirs.stdout.text)")
            let exited = exits.jsonLines
            #expect(exited.count == 1 && exited.first?["pid"] as? Int == Int(helper.pid) && exited.first?["exit_code"] as? Int == 0,
                    "\(exits.stdout.text)")

            if Kernel.supports(.kprobes) {
                let files = try TestEnvironment.temporaryDirectory(under: "/dev/shm")
                let creator = try Helper()
                let life = try ToolRun("filelife", ["--json", "-p", "\(creator.pid)", "--verbose"], wrapper: Self.withoutKernelBTF)
                #expect(life.waitUntilAttached(), "\(life.stderr.text.suffix(2000))")
                #expect(life.stderr.text.contains("with kprobe"), "\(life.stderr.text.suffix(2000))")
                #expect(creator.run("create \(files)/f").hasPrefix("ok "))
                #expect(creator.run("unlink \(files)/f") == "ok 0")
                #expect(life.stdout.wait(for: "\"f\""), "\(life.stderr.text.suffix(2000))")
                life.signal(SIGINT)
                #expect(life.finish() == 0)
                let died = life.jsonLines
                #expect(died.count == 1 && died.first?["file"] as? String == "f" && died.first?["creator_pid"] as? Int == Int(creator.pid),
                        "\(life.stdout.text)")
            }
        }

        /// pktjourney without the kernel's BTF: its probes relocate against
        /// the built-in BTF, drops lose their names (which come from the
        /// kernel's own BTF, and it says so), and a ping on a namespace's
        /// loopback is followed, out and back.
        @Test func pktjourneyRunsFromTheBuiltInBTF() throws {
            try #require(KernelBTF.embeddedReleases.contains(Kernel.release),
                         "no built-in BTF for \(Kernel.release) (it has \(KernelBTF.embeddedReleases)): run 'make btf-archive'")
            let ns = "swbpf-btf-\(getpid() % 100_000)"
            _ = try? Command.run(["ip", "netns", "del", ns])
            #expect(try Command.run(["ip", "netns", "add", ns]).status == 0)
            defer { _ = try? Command.run(["ip", "netns", "del", ns]) }
            #expect(try Command.run(["ip", "-n", ns, "link", "set", "lo", "up"]).status == 0)
            let run = try ToolRun("pktjourney", ["--json", "--netns", ns, "--proto", "icmp"], wrapper: Self.withoutKernelBTF)
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end", timeout: 60), "\(run.stderr.text)")
            #expect(run.stderr.text.contains("pktjourney: drops are shown without their reason: "
                    + (Kernel.supports(.dropReasons) ? "their names come from the kernel's own BTF" : "drop reasons need Linux 5.17")),
                    "\(run.stderr.text)")
            #expect(try Command.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", "127.0.0.1"]).status == 0)
            let end = Date().addingTimeInterval(10)
            while run.jsonLines.count < 2 && Date() < end { usleep(50_000) }
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let devices = run.jsonLines.map { Privileged.PacketJourney.path($0).filter { $0.hasPrefix("rx ") || $0.hasPrefix("tx ") } }
            #expect(devices == [["tx lo", "rx lo"], ["tx lo", "rx lo"]], "\(run.stdout.text)")
        }

        /// Without the kernel's BTF and none built in for its release (a
        /// release no kernel has: setarch's 2.6 personality), a tool says so
        /// in one line and exits 1; --btf with a file that is not there is
        /// a usage error.
        @Test func withoutAnyBTFAToolSaysSo() throws {
            let run = try ToolRun.complete("exitsnoop", [], wrapper: Self.withoutKernelBTF + ["/usr/bin/setarch", "x86_64", "--uname-2.6"])
            let lines = run.stderr.split(separator: "\n")
            #expect(run.status == 1 && lines.count == 1 && lines.first?.hasPrefix("exitsnoop: error: this kernel (2.6.") == true
                    && run.stderr.contains("has no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF, Linux 5.2+) and none is built in for it")
                    && run.stderr.contains("give one with --btf FILE or SWIFTBPF_BTF"), "\(run.status) \(run.stderr)")
            let missing = try ToolRun.complete("exitsnoop", ["--btf", "/nonexistent/vmlinux.btf"])
            #expect(missing.status == 2 && missing.stderr.hasPrefix("exitsnoop: error: --btf /nonexistent/vmlinux.btf: No such file or directory"),
                    "\(missing.status) \(missing.stderr)")
        }

        @Test func theLibraryFindsWhatThisKernelHas() throws {
            let v = Kernel.version
            let facts = try #require(KernelFacts.known["\(v.major).\(v.minor)"], "no facts written down for Linux \(v.major).\(v.minor)")
            for (feature, has) in facts {
                #expect(Kernel.supports(feature) == has, "\(feature) on \(Kernel.release)")
            }
        }
    }
}

/// The losses a tool has reported so far ("lost N events" lines).
private func lostSoFar(_ stderr: String) -> Int {
    stderr.matches(of: /lost (\d+) events/).compactMap { Int($0.1) }.reduce(0, +)
}
