// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Yams

/// What the exporter collects and serves: from flags, over an optional
/// YAML file (`--config`), over the defaults. A DaemonSet mounts the file
/// from a ConfigMap; a flag given on the command line wins over it.
struct Settings: Equatable {
    /// A family of metrics, switched on or off as a whole. The kernel
    /// probes behind a family load only when it is on.
    enum Collector: String, CaseIterable, Comparable {
        /// `syscalls_total`
        case syscalls
        /// `syscall_errors_total{errno}`
        case errors
        /// `file_opens_total`, `directories_created_total`
        case files
        /// `process_execs_total{comm}`
        case execs
        /// `syscall_latency_seconds` (a probe on every syscall entry too)
        case latency
        /// `packet_filter_*`: every pktfilter loaded on the node
        case packetFilter = "packet_filter"
        /// `egress_decisions_total`: every egressguard's decisions, per workload
        case egress
        /// `guard_decisions_total`: every execguard's and fileguard's decisions, per workload
        case guards
        /// `bpf_program_*`: the exporter's own programs (kernel.bpf_stats_enabled=1)
        case programs

        static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
        /// The collectors that need the sys_exit probe.
        static let syscallFamilies: Set<Self> = [.syscalls, .errors, .files, .latency]
    }

    /// A workload label a series may carry.
    enum Label: String, CaseIterable, Comparable {
        case container, pod, namespace
        static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    }

    var listen = "0.0.0.0:9435"
    var maxSeries = 10_000
    /// Command names per workload (and for the host) in process_execs_total;
    /// names past these count under comm="other".
    var maxComms = 20
    /// Seconds between sweeps of the kernel's maps for cgroups that are gone
    /// without their removal having been seen (a lost record).
    var reconcileInterval = 60
    var collectors = Set(Collector.allCases)
    /// The workload labels on each per-cgroup series; fewer labels mean
    /// fewer series (`[namespace]` counts per Kubernetes namespace).
    var labels = Label.allCases

    /// A bad file or value: the message names the file, the key and what
    /// is accepted.
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static let keys = ["listen", "max_series", "max_comms", "reconcile_interval", "collectors", "labels"]

    /// Reads a YAML file of the keys `listen`, `max_series`, `collectors`
    /// and `labels` (each optional) over these settings.
    mutating func read(file path: String) throws(Invalid) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Invalid(description: "--config \(path): cannot read the file (\(String(cString: strerror(errno))))")
        }
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw Invalid(description: "--config \(path): not YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let document else { return }  // an empty file changes nothing
        guard let map = document as? [String: Any] else {
            throw Invalid(description: "--config \(path): expected a mapping of \(Self.keys.joined(separator: ", "))")
        }
        for key in map.keys.sorted() where !Self.keys.contains(key) {
            throw Invalid(description: "--config \(path): unknown key '\(key)' (known: \(Self.keys.joined(separator: ", ")))")
        }
        if let value = map["listen"] {
            guard let s = value as? String else { throw Invalid(description: "--config \(path): listen: give \"HOST:PORT\"") }
            listen = s
        }
        func number(_ key: String, into value: inout Int) throws(Invalid) {
            guard let given = map[key] else { return }
            guard let n = given as? Int else { throw Invalid(description: "--config \(path): \(key): give a whole number") }
            value = n
        }
        try number("max_series", into: &maxSeries)
        try number("max_comms", into: &maxComms)
        try number("reconcile_interval", into: &reconcileInterval)
        if let value = map["collectors"] {
            collectors = Set(try Self.list(value, key: "collectors", file: path) as [Collector])
        }
        if let value = map["labels"] {
            labels = (try Self.list(value, key: "labels", file: path) as [Label]).sorted()
        }
    }

    /// A YAML list (or one comma-separated string) of known names.
    private static func list<T: RawRepresentable & CaseIterable>(_ value: Any, key: String, file: String) throws(Invalid) -> [T]
        where T.RawValue == String {
        let words: [String]
        if let array = value as? [Any] {
            words = array.map { "\($0)" }
        } else if let s = value as? String {
            words = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        } else {
            throw Invalid(description: "--config \(file): \(key): give a list")
        }
        do {
            return try parse(words, what: key)
        } catch {
            throw Invalid(description: "--config \(file): \(error.description)")
        }
    }

    /// Names to values, or an error naming the unknown one and the known.
    static func parse<T: RawRepresentable & CaseIterable>(_ words: [String], what: String) throws(Invalid) -> [T]
        where T.RawValue == String {
        var out: [T] = []
        for word in words where !word.isEmpty {
            guard let value = T(rawValue: word) else {
                let known = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "\(what): unknown '\(word)' (known: \(known))")
            }
            out.append(value)
        }
        return out
    }

    /// HOST and PORT of `listen`; nil when it is not HOST:PORT.
    var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        let host = String(listen[..<colon])
        return (host.isEmpty ? "0.0.0.0" : host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    func validate() throws(Invalid) {
        guard address != nil else { throw Invalid(description: "listen '\(listen)': give HOST:PORT, such as 0.0.0.0:9435") }
        guard maxSeries >= 1 else { throw Invalid(description: "max-series must be at least 1, got \(maxSeries)") }
        guard maxComms >= 1 else { throw Invalid(description: "max-comms must be at least 1, got \(maxComms)") }
        guard reconcileInterval >= 1 else { throw Invalid(description: "reconcile-interval must be at least 1 second, got \(reconcileInterval)") }
        guard !collectors.isEmpty else {
            throw Invalid(description: "no collector is on (known: \(Collector.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
