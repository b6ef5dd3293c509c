// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Glibc
import SystemPackage

/// An error from loading, attaching or using BPF objects, worded so that the
/// person running the tool can act on it.
public struct BPFError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for callers that react to it.
    public enum Code: Sendable, Equatable {
        /// Neither root nor CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
        case notPrivileged
        /// The running kernel lacks a feature the operation needs.
        case featureMissing(KernelFeature)
        /// No such tracepoint (or raw tracepoint) in the running kernel.
        case unknownTracepoint
        /// The verifier refused a program; see `verifierLog`.
        case verifierRejected
        /// A typed view or value whose size differs from the map's or the
        /// global variable's.
        case sizeMismatch
        /// An offset or length outside the object it addresses.
        case outOfBounds
        /// A map used as a kind it is not (a hash as a ring buffer, a
        /// per-CPU map through a plain typed view).
        case wrongMapType
        /// The object file is not a usable BPF object.
        case invalidObject
        /// A program, map, interface, file or function that does not exist.
        case notFound
        /// tracefs is not mounted and could not be mounted.
        case tracefsUnavailable
        /// The BPF filesystem (for pins) is not mounted and could not be mounted.
        case bpffsUnavailable
        /// A BPF object in the kernel (program, map, link) that is not what
        /// the caller expected, such as another tool's XDP program.
        case foreignObject
        /// The kernel object is busy: an interface already has an XDP program.
        case busy
        /// An argument the operation cannot take (a ring buffer size that is
        /// not a power of two, XDP attached as a tracepoint).
        case invalidArgument
        /// A program that was left out of the load (autoload off).
        case notLoaded
        /// A fixed capacity is used up (every rule slot of a filter).
        case full
        /// Something else failed with an errno.
        case systemCall
    }

    public let code: Code
    /// One line, without a trailing period.
    public let message: String
    /// The errno behind the failure, when there was one.
    public let errno: Errno?
    /// For `.verifierRejected`: the verifier's last lines, which name the
    /// instruction and the reason.
    public let verifierLog: [String]

    public init(_ code: Code, _ message: String, errno: Errno? = nil, verifierLog: [String] = []) {
        self.code = code
        self.message = message
        self.errno = errno
        self.verifierLog = verifierLog
    }

    public var description: String { message }

    /// The message, then the verifier lines indented, as a tool prints it.
    public var report: String {
        guard !verifierLog.isEmpty else { return message }
        return ([message, "verifier log (last lines):"] + verifierLog.map { "  " + $0 }).joined(separator: "\n")
    }

    /// An error for the call that just failed and set `errno`, which is
    /// read before `what` is built: building a message can itself change
    /// errno (it allocates), so the reason would be another call's.
    public static func fromErrno(_ what: @autoclosure () -> String) -> BPFError {
        let code = Glibc.errno
        return system(what(), code)
    }

    /// An error for a call that returned `-errno` (or set `errno`), worded
    /// "what: reason"; `what` names the object or path concerned.
    public static func system(_ what: String, _ code: Int32, libbpfMessages: [String] = []) -> BPFError {
        let e = Errno(rawValue: abs(code))
        var text = "\(what): \(e.description)"
        if let detail = mostSpecific(libbpfMessages) { text += " (libbpf: \(detail))" }
        switch e {
        case .permissionDenied, .notPermitted:
            if !Kernel.privileges.canUseBPF {
                return BPFError(.notPrivileged, "\(what): \(e.description); \(Privileges.requirement)", errno: e)
            }
        default: break
        }
        return BPFError(.systemCall, text, errno: e)
    }

    /// The libbpf line that says most about a failure: the one naming a
    /// map, program or path, rather than the closing "failed to load
    /// object" that only repeats the errno.
    static func mostSpecific(_ lines: [String]) -> String? {
        let useful = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let specific = useful.first { line in
            ["map '", "prog '", "pin", "path"].contains { line.contains($0) } && !line.contains("failed to load object")
        }
        return (specific ?? useful.last).map { $0.hasPrefix("libbpf: ") ? String($0.dropFirst(8)) : $0 }
    }
}
