// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import SystemPackage
import Foundation
import SwiftBPF
import TestProbeEvents
import TestSupport
import Testing

/// A fresh machine has neither the BPF filesystem nor tracefs mounted, and
/// `ip netns exec` gives a command a fresh /sys. These start each tool in a
/// mount namespace of its own with those unmounted, so they hold whatever
/// the machine running the tests has mounted.
enum FreshMount {
    /// Runs the command in a private mount namespace after unmounting
    /// `paths`; exits 99 if one is still mounted.
    static func wrapper(unmounting paths: [String]) -> [String] {
        let unmount = paths.map { "umount -l \($0) 2>/dev/null; mountpoint -q \($0) && exit 99;" }.joined(separator: " ")
        return ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "\(unmount) exec \"$0\" \"$@\""]
    }

    static let tracing = ["/sys/kernel/debug", "/sys/kernel/tracing"]

    /// Whether this process runs in a mount namespace of its own, as
    /// `make test` gives the suite: it records the namespace it started
    /// from in SWIFTBPF_OUTER_MNTNS (PID 1's may be out of reach).
    static var inPrivateMountNamespace: Bool {
        guard let outer = ProcessInfo.processInfo.environment["SWIFTBPF_OUTER_MNTNS"], !outer.isEmpty,
              let mine = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt") else { return false }
        return mine != outer
    }
}

extension Privileged {
    @Suite struct FreshMachine {
        init() throws { _ = try Privileged() }

        /// Tracepoint tools mount tracefs themselves (mkdirtrace attaches
        /// by name; sysnoop also reads the syscalls' format files).
        @Test func tracingToolsStartWithoutTracefs() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let helper = try Helper()
            let wrapper = FreshMount.wrapper(unmounting: FreshMount.tracing + ["/sys/fs/bpf"])
            let mkdirs = try ToolRun("mkdirtrace", ["--json", "-p", "\(helper.pid)"], wrapper: wrapper)
            let calls = try ToolRun("sysnoop", ["mkdir", "--json", "-p", "\(helper.pid)"], wrapper: wrapper)
            #expect(mkdirs.waitUntilAttached(), "\(mkdirs.stderr.text)")
            #expect(calls.waitUntilAttached(), "\(calls.stderr.text)")
            #expect(helper.run("mkdir \(dir)/fresh 755") == "ok 0")
            #expect(mkdirs.stdout.wait(for: "fresh"))
            #expect(calls.stdout.wait(for: "fresh"))
            mkdirs.signal(SIGINT)
            calls.signal(SIGINT)
            #expect(mkdirs.finish() == 0)
            #expect(calls.finish() == 0)
            #expect(mkdirs.jsonLines.map { $0["path"] as? String } == ["\(dir)/fresh"])
            let args = calls.jsonLines.first?["args"] as? [String: Any]
            #expect(args?["pathname"] as? String == "\(dir)/fresh", "\(calls.stdout.text)")
            #expect(args?["mode"] as? Int == 0o755, "\(calls.stdout.text)")
        }

        /// The packet filter needs no BPF filesystem at all: started with
        /// none, edited from a separate `ip netns exec`, ended by SIGKILL.
        @Test func pktfilterNeedsNoBPFFilesystem() throws {
            let net = try TestNetwork()
            let wrapper = FreshMount.wrapper(unmounting: ["/sys/fs/bpf"] + FreshMount.tracing) + net.inside(net.target)
            let run = try ToolRun("pktfilter", ["run", net.targetIf, "--drop", "icmp:8"], wrapper: wrapper)
            #expect(run.stderr.wait(for: "Hit Ctrl-C to end"), "\(run.stderr.text)")
            #expect(try net.ping(count: 2) == 0)
            let list = try net.pktfilter(["list", "-i", net.targetIf])
            #expect(list.status == 0 && list.stdout.contains("drop icmp type 8"), "\(list.stdout)\(list.stderr)")
            #expect(list.stdout.contains("dropped 2,"), "the two echo requests: \(list.stdout)")
            run.signal(SIGKILL)
            _ = run.finish()
            var attached = true
            for _ in 0..<50 where attached { attached = try net.xdpAttached(); if attached { usleep(100_000) } }
            #expect(!attached)
            #expect(try net.ping(count: 1) == 1)
        }

        /// Pinning mounts bpffs at /sys/fs/bpf when it is missing. It
        /// unmounts bpffs first, so it runs only where the suite has a mount
        /// namespace of its own (`make test`); CI=true requires that.
        @Test(.enabled(if: FreshMount.inPrivateMountNamespace || TestEnvironment.isCI, "needs the private mount namespace make test gives"))
        func pinningMountsTheBPFFilesystem() throws {
            try #require(FreshMount.inPrivateMountNamespace, "run the suite through make test (a private mount namespace)")
            _ = umount2("/sys/fs/bpf", Int32(MNT_DETACH))
            #expect(!Kernel.isOnBPFFS("/sys/fs/bpf"))
            var open = try TestprobesSkeleton.open()
            open.testCfg = test_config(target_pid: UInt32(getpid()), target_syscall: 0)
            let probe = try open.load()
            let link = try probe.programs.syscallEntry.attachRawTracepoint("sys_enter")
            let pin = "/sys/fs/bpf/swiftbpf-test-\(getpid())/link"
            try link.pin(at: FilePath(pin))
            #expect(Kernel.isOnBPFFS("/sys/fs/bpf"))
            #expect(access(pin, F_OK) == 0)
            unlink(pin)
            rmdir("/sys/fs/bpf/swiftbpf-test-\(getpid())")
            // Somewhere that is no BPF filesystem: the error names it.
            let dir = try TestEnvironment.temporaryDirectory()
            let error = #expect(throws: BPFError.self) { try link.pin(at: FilePath("\(dir)/link")) }
            #expect(error?.code == .bpffsUnavailable)
            #expect(error?.message.contains(dir) == true, "\(String(describing: error))")
        }
    }
}
