// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser

/// Which of the flags every tool shares (`TraceOptions`) a tool honours.
/// A tool says once which it refuses and why; `TraceSession` turns a
/// refused flag that was given into the usage error (exit 2), before any
/// BPF work, so no tool ignores one silently.
public struct SharedFlags: Sendable {
    /// A shared flag, or a group of them that a tool takes or refuses together.
    public enum Flag: CaseIterable, Sendable {
        case pid, tid, comm, uid, cgroup
        /// `--container`, `--pod` and `--namespace`.
        case workloads
        case failed, timestamp, json
        /// `-C`.
        case containers
        case containerPIDs

        /// What the flag does, as the error says it.
        var does: String {
            switch self {
            case .pid: "-p selects tasks"
            case .tid: "-t selects tasks"
            case .comm: "-c selects tasks"
            case .uid: "-u selects tasks"
            case .cgroup: "--cgroup selects tasks"
            case .workloads: "--container, --pod and --namespace select tasks"
            case .failed: "-x selects failed calls"
            case .timestamp: "-T times events"
            case .json: "--json writes events"
            case .containers: "-C adds columns to tools that print events"
            case .containerPIDs: "--container-pids adds a column to tools that print events"
            }
        }

        func isGiven(in options: TraceOptions) -> Bool {
            switch self {
            case .pid: options.pid != nil
            case .tid: options.tid != nil
            case .comm: options.comm != nil
            case .uid: options.uid != nil
            case .cgroup: options.cgroup != nil
            case .workloads: !options.workloads.isEmpty
            case .failed: options.failed
            case .timestamp: options.timestamp
            case .json: options.json
            case .containers: options.containers
            case .containerPIDs: options.containerPIDs
            }
        }
    }

    /// The flags that select tasks.
    public static let taskSelection: Set<Flag> = [.pid, .tid, .comm, .uid, .cgroup, .workloads]

    private var refusals: [(flags: Set<Flag>, reason: @Sendable (String) -> String)] = []
    /// The tool counts in the kernel and prints totals: a container filter
    /// selects only cgroups already decided.
    public private(set) var aggregating = false

    /// Every shared flag.
    public static let all = SharedFlags()

    /// For tools that count in the kernel and print totals, not events:
    /// the columns `-C` and `--container-pids` add are refused.
    public static let counting: SharedFlags = {
        var flags = SharedFlags.all.refusing([.containers]) { "\($0) counts in the kernel (--container, --pod and --namespace select what it counts)" }
            .refusing([.containerPIDs]) { "\($0) counts in the kernel" }
        flags.aggregating = true
        return flags
    }()

    /// Refuses `flags`; the error says what the flag does, then
    /// `reason(tool)`.
    public func refusing(_ flags: Set<Flag>, because reason: @escaping @Sendable (_ tool: String) -> String) -> SharedFlags {
        var copy = self
        copy.refusals.append((flags, reason))
        return copy
    }

    /// The usage error for the first refused flag given, if any.
    public func check(_ options: TraceOptions, tool: String) throws {
        for flag in Flag.allCases where flag.isGiven(in: options) {
            if let refusal = refusals.first(where: { $0.flags.contains(flag) }) {
                throw ValidationError("\(flag.does); \(refusal.reason(tool))")
            }
        }
    }
}
