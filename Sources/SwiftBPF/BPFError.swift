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
        /// A typed map view whose key or value size differs from the map's.
        case sizeMismatch
        /// The object file is not a usable BPF object.
        case invalidObject
        /// A program, map, interface, file or function that does not exist.
        case notFound
        /// tracefs is not mounted and could not be mounted.
        case tracefsUnavailable
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

    /// An error for a libbpf call that returned `-errno` (or set `errno`).
    static func system(_ what: String, _ code: Int32, libbpfMessages: [String] = []) -> BPFError {
        let e = Errno(rawValue: abs(code))
        var text = "\(what): \(e.description)"
        if let detail = libbpfMessages.last(where: { !$0.isEmpty }) { text += " (libbpf: \(detail))" }
        switch e {
        case .permissionDenied, .notPermitted:
            if !Kernel.privileges.canUseBPF {
                return BPFError(.notPrivileged, "\(what): \(e.description); \(Privileges.requirement)", errno: e)
            }
        default: break
        }
        return BPFError(.systemCall, text, errno: e)
    }
}
