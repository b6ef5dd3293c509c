// SPDX-License-Identifier: BSD-2-Clause
// What the test targets share: where the built tools are, temporary
// directories, a syscall helper process, and tools run as child processes.
import Foundation
import SwiftBPF
import Synchronization

public enum TestEnvironment {
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    public static let runPrivileged = isCI || Kernel.privileges.canUseBPF
    /// Inside the kernel lane's guest (scripts/kernel-lane-guest.sh).
    public static let inKernelLane = ProcessInfo.processInfo.environment["SWIFTBPF_KERNEL_LANE"] == "1"

    /// Where SwiftPM put the executables (beside the test bundle).
    public static let productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    public static func product(_ name: String) -> String { productsDirectory + "/" + name }
    public static var helper: String { product("swiftbpf-testhelper") }

    /// The kernel's ID of the calling thread.
    public static func currentThreadID() -> UInt32 {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return UInt32(target.split(separator: "/").last ?? "") ?? 0
    }

    /// A fresh directory under /tmp (or `parent`), world-writable so helpers running as
    /// another user can use it too; removed when the test process exits.
    public static func temporaryDirectory(under parent: String = "/tmp") throws -> String {
        let path = "\(parent)/swiftbpf-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o1777)
        let first = temporaryDirectories.withLock { dirs -> Bool in
            dirs.append(path)
            return dirs.count == 1
        }
        if first { atexit { TestEnvironment.removeTemporaryDirectories() } }
        return path
    }

    static let temporaryDirectories = Mutex<[String]>([])

    static func removeTemporaryDirectories() {
        for dir in temporaryDirectories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }
}

/// Reads a pipe in the background and keeps everything it read.
public final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
        let fd = handle.fileDescriptor
        Thread.detachNewThread { [self] in
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }
                lock.lock(); data.append(contentsOf: buf[0..<n]); lock.unlock()
            }
            done.signal()
        }
    }

    public var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

    /// Waits until the text contains `needle`; false on timeout.
    public func wait(for needle: String, timeout: Double = 20) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if text.contains(needle) { return true }
            usleep(20_000)
        }
        return text.contains(needle)
    }

    private var reachedEOF = false

    /// Waits for end of file; at once if it was reached before (a second
    /// `finish()` must not wait again).
    public func waitForEOF(timeout: Double = 20) {
        lock.lock()
        let reached = reachedEOF
        lock.unlock()
        guard !reached, done.wait(timeout: .now() + timeout) == .success else { return }
        lock.lock()
        reachedEOF = true
        lock.unlock()
    }
}

/// A running swiftbpf-testhelper: performs syscalls on command.
public final class Helper {
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    public let pid: Int32

    /// Starts the helper, optionally through a wrapper (e.g. setpriv) or
    /// under another executable name (which becomes its comm).
    public init(executable: String = TestEnvironment.helper, wrapper: [String] = []) throws {
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: executable)
        } else {
            process.executableURL = URL(fileURLWithPath: wrapper[0])
            process.arguments = Array(wrapper.dropFirst()) + [executable]
        }
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        pid = process.processIdentifier
        let ready = readLine()
        guard ready.hasPrefix("ready ") else { throw HelperError.notReady(ready) }
    }

    public enum HelperError: Error { case notReady(String) }

    /// The helper's next line. A helper stuck in the kernel would block
    /// this forever, so after 120 s without a byte it gives up and says so.
    private func readLine() -> String {
        var bytes: [UInt8] = []
        var c: UInt8 = 0
        let fd = output.fileHandleForReading.fileDescriptor
        while true {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 120_000) == 1 else {
                FileHandle.standardError.write(Data("test support: helper \(pid) did not answer in 120 s (stuck in the kernel?)\n".utf8))
                return "timeout"
            }
            guard read(fd, &c, 1) == 1, c != 10 else { break }
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends a command without waiting for an answer (for exec).
    public func send(_ command: String) {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
    }

    /// Waits for the helper to exit; its status.
    public func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs one command; returns the helper's answer ("ok N" / "err E").
    @discardableResult
    public func run(_ command: String) -> String {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        return readLine()
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// A tool run as a child process with its output collected.
public final class ToolRun {
    public let process = Process()
    public let stdout: PipeCollector
    public let stderr: PipeCollector

    public convenience init(_ tool: String, _ arguments: [String], wrapper: [String] = []) throws {
        try self.init(absolute: TestEnvironment.product(tool), arguments, wrapper: wrapper)
    }

    /// Runs any executable (e.g. a libbpf-tools yardstick).
    public init(absolute path: String, _ arguments: [String], wrapper: [String] = []) throws {
        let out = Pipe(), err = Pipe()
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: wrapper[0])
            process.arguments = Array(wrapper.dropFirst()) + [path] + arguments
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        stdout = PipeCollector(out.fileHandleForReading)
        stderr = PipeCollector(err.fileHandleForReading)
        try process.run()
    }

    /// Waits for the "Tracing ..." line that follows a successful attach.
    public func waitUntilAttached() -> Bool { stderr.wait(for: "Hit Ctrl-C to end") }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for exit; returns the exit status (or 128+signal).
    @discardableResult
    public func finish(timeout: Double = 20) -> Int32 {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            // A task stuck in the kernel ignores even SIGKILL: say so, and
            // do not hang the whole run waiting for it.
            let killed = Date().addingTimeInterval(10)
            while process.isRunning && Date() < killed { usleep(20_000) }
            if process.isRunning {
                FileHandle.standardError.write(Data("test support: pid \(process.processIdentifier) survived SIGKILL (stuck in the kernel)\n".utf8))
                return -1
            }
        }
        process.waitUntilExit()
        stdout.waitForEOF(); stderr.waitForEOF()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Runs to completion (for usage errors and the like).
    public static func complete(_ tool: String, _ arguments: [String], wrapper: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let run = try ToolRun(tool, arguments, wrapper: wrapper)
        let status = run.finish()
        return (status, run.stdout.text, run.stderr.text)
    }

    /// The JSON objects printed on standard output.
    public var jsonLines: [[String: Any]] {
        stdout.text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// Program IDs of the given names currently loaded in the kernel.
public func loadedProgramIDs(named names: Set<String>) -> Set<UInt32> {
    Set(Kernel.loadedPrograms().filter { names.contains($0.name) }.map(\.id))
}

/// Waits until none of `ids` is loaded (the kernel frees programs after an
/// RCU grace period); returns those still loaded.
public func waitUntilUnloaded(_ ids: Set<UInt32>, timeout: Double = 5) -> Set<UInt32> {
    let end = Date().addingTimeInterval(timeout)
    var left = ids
    repeat {
        left = ids.intersection(Kernel.loadedPrograms().map(\.id))
        if left.isEmpty { return left }
        usleep(50_000)
    } while Date() < end
    return left
}

/// A command run to completion, found on PATH.
public enum Command {
    /// Its exit status and what it printed (standard output and error
    /// together). posix_spawn and waitpid, through a file rather than a
    /// pipe: a command that leaves a daemon behind (`podman run -d` leaves
    /// conmon) keeps a pipe open, and Foundation's Process was seen never
    /// to return from waiting for such a child.
    public static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        let path = try TestEnvironment.temporaryDirectory() + "/output"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { return (127, "cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: path)
        // Exit status, or 128 + the signal that ended it.
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }
}
