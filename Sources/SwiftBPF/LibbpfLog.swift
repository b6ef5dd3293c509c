// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import Foundation
import Synchronization

/// Routes libbpf's diagnostics: captured per thread while the library runs
/// a libbpf call (so they can go into a thrown error), printed only when
/// `LibbpfLog.verbose` is set or `SWIFTBPF_DEBUG` is in the environment.
public enum LibbpfLog {
    private struct State: ~Copyable {
        var captures: [UInt: [String]] = [:]
        var verbose = ProcessInfo.processInfo.environment["SWIFTBPF_DEBUG"] != nil
        var installed = false
    }
    private static let state = Mutex(State())

    /// Print every libbpf message to standard error.
    public static var verbose: Bool {
        get { state.withLock { $0.verbose } }
        set { state.withLock { $0.verbose = newValue } }
    }

    static func installIfNeeded() {
        let first = state.withLock { s -> Bool in
            defer { s.installed = true }
            return !s.installed
        }
        if first { _ = libbpf_set_print(libbpfPrint) }
    }

    /// Runs `body`, returning what libbpf printed on this thread meanwhile.
    static func capturing<T, E: Error>(_ body: () throws(E) -> T) -> (Result<T, E>, [String]) {
        installIfNeeded()
        let tid = UInt(pthread_self())
        state.withLock { $0.captures[tid] = [] }
        let result: Result<T, E>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let lines = state.withLock { $0.captures.removeValue(forKey: tid) ?? [] }
        return (result, lines)
    }

    fileprivate static func record(_ level: libbpf_print_level, _ text: String) {
        let tid = UInt(pthread_self())
        let echo = state.withLock { s -> Bool in
            if s.captures[tid] != nil { s.captures[tid]!.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)) }
            return s.verbose
        }
        if echo { StandardStreams.write(text, to: STDERR_FILENO) }
    }
}

private func libbpfPrint(_ level: libbpf_print_level, _ format: UnsafePointer<CChar>?, _ args: CVaListPointer?) -> Int32 {
    // Debug chatter is only formatted when someone will read it.
    guard let format, let args, level != LIBBPF_DEBUG || LibbpfLog.verbose else { return 0 }
    // Verifier logs do not come through here (they go to a per-program
    // buffer, see OpenObject.load), so one page-sized line buffer is enough.
    var buffer = [CChar](repeating: 0, count: 8192)
    let n = vsnprintf(&buffer, buffer.count, format, args)
    guard n > 0 else { return 0 }
    let length = buffer.firstIndex(of: 0) ?? buffer.count
    LibbpfLog.record(level, String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    return n
}
