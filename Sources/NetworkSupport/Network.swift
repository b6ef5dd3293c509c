// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Containers
import Foundation
import ProbeEvents
import SwiftBPF
import Synchronization
import ToolSupport

/// The network tools' filters, applied in the kernel: `--netns`, `--host`,
/// `--port`.
public struct NetworkOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: ArgumentHelp("Only this network namespace: a name from 'ip netns', pid:PID for a process's, or an inode number.", valueName: "netns"))
    public var netns: String?

    @Option(name: .long, help: ArgumentHelp("Only flows with this IPv4 or IPv6 address at either end.", valueName: "address"))
    public var host: String?

    @Option(name: .long, help: ArgumentHelp("Only flows with this port at either end.", valueName: "port"))
    public var port: UInt16?

    public init() {}

    public func validate() throws { _ = try config() }

    /// The probe's `net_cfg`.
    public func config() throws -> net_config {
        var c = net_config()
        if let netns { c.netns = try NetworkNamespaces.inode(of: netns) }
        if let port {
            guard port > 0 else { throw ValidationError("--port must be from 1 to 65535") }
            c.port = port
        }
        if let host {
            var v4 = in_addr(), v6 = in6_addr()
            if inet_pton(AF_INET, host, &v4) == 1 {
                c.host_family = UInt16(AF_INET)
                withUnsafeMutableBytes(of: &c.host) { $0.copyMemory(from: withUnsafeBytes(of: v4) { UnsafeRawBufferPointer($0) }) }
            } else if inet_pton(AF_INET6, host, &v6) == 1 {
                c.host_family = UInt16(AF_INET6)
                withUnsafeMutableBytes(of: &c.host) { $0.copyMemory(from: withUnsafeBytes(of: v6) { UnsafeRawBufferPointer($0) }) }
            } else {
                throw ValidationError("--host '\(host)' is not an IPv4 or IPv6 address")
            }
        }
        return c
    }
}

/// Network namespaces by inode number, the form the probes report them in,
/// and by the names `ip netns` gives them (bind mounts in /run/netns).
public enum NetworkNamespaces {
    static func inode(ofFile path: String) -> UInt32? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt32(truncatingIfNeeded: st.st_ino)
    }

    /// The network namespaces named in /run/netns other than the caller's,
    /// as paths.
    public static func named() -> [String] {
        let own = inode(ofFile: "/proc/thread-self/ns/net")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).sorted()
        return names.map { "/run/netns/" + $0 }.filter { path in inode(ofFile: path).map { $0 != own } ?? false }
    }

    /// An inode number, `pid:PID`, or a name from /run/netns.
    public static func inode(of spec: String) throws -> UInt32 {
        if let n = UInt32(spec), n > 0 { return n }
        if spec.hasPrefix("pid:"), let pid = Int32(spec.dropFirst(4)) {
            guard let n = inode(ofFile: "/proc/\(pid)/ns/net") else { throw ValidationError("--netns \(spec): no process \(pid) (or its namespace cannot be read)") }
            return n
        }
        guard !spec.contains("/"), let n = inode(ofFile: "/run/netns/" + spec) else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).sorted()
            throw ValidationError("--netns \(spec): no namespace of that name in /run/netns"
                                  + (known.isEmpty ? "" : " (there are: \(known.joined(separator: ", ")))")
                                  + "; give a name, pid:PID or an inode number")
        }
        return n
    }

    private static let names = Mutex<(byInode: [UInt32: String], readAt: Double)>(([:], 0))

    /// "host" for PID 1's namespace, a name from /run/netns, or nil. The
    /// names are read again at most once a second, when one is missing.
    public static func name(of inode: UInt32) -> String? {
        names.withLock { cache in
            if let name = cache.byInode[inode] { return name }
            let now = Date().timeIntervalSince1970
            guard now - cache.readAt >= 1 else { return nil }
            cache.readAt = now
            var found: [UInt32: String] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [] {
                if let n = Self.inode(ofFile: "/run/netns/" + name) { found[n] = name }
            }
            if let host = Self.inode(ofFile: "/proc/1/ns/net") { found[host] = "host" }
            cache.byInode = found
            return found[inode]
        }
    }
}

extension SharedFlags {
    /// For the network tools whose events happen in no task's context: each
    /// flag that selects or describes tasks is a usage error that says what
    /// to use instead. (`-C` stays: it names a namespace's pod there.)
    public func refusingTaskFlags(because context: String, except taken: Set<Flag> = []) -> SharedFlags {
        refusing(Self.taskSelection.union([.failed, .containerPIDs]).subtracting(taken)) { _ in "\(context), with no task (use --netns, --host or --port)" }
    }
}

extension NetworkNamespaces {
    /// The network namespaces of the processes of the containers and pods
    /// that `selector` picks (a pod's containers share its sandbox's), as
    /// inode numbers, and how many processes were found: no namespaces
    /// when none runs, or none's could be read.
    public static func of(_ selector: WorkloadSelector, in directory: ContainerDirectory) -> (namespaces: Set<UInt32>, processes: Int) {
        var found: Set<UInt32> = []
        var processes = 0
        for cgroup in directory.all() where selector.matches(cgroup.workload) {
            let procs = directory.hierarchy.mountPoint + (cgroup.path == "/" ? "" : cgroup.path) + "/cgroup.procs"
            guard let text = try? String(contentsOfFile: procs, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let pid = Int32(line), pid > 0 else { continue }
                processes += 1
                if let inode = inode(ofFile: "/proc/\(pid)/ns/net") { found.insert(inode) }
            }
        }
        return (found, processes)
    }

    /// The host's network namespace (PID 1's), as an inode number.
    public static var host: UInt32? { inode(ofFile: "/proc/1/ns/net") }
}

/// The container and pod that own a network namespace: on a Kubernetes
/// node every pod has one, held by its sandbox's processes. Found through
/// /proc (a process in the namespace, then its cgroup), and read again at
/// most once a second when a namespace is not known.
public final class NetworkNamespaceOwners: Sendable {
    let directory: ContainerDirectory
    private let known = Mutex<(byInode: [UInt32: Workload], readAt: Double)>(([:], 0))

    public init(directory: ContainerDirectory) { self.directory = directory }

    /// The workload of namespace `inode`; empty for the host's, or when no
    /// process of a container is in it.
    public func workload(of inode: UInt32) -> Workload {
        if let w = known.withLock({ $0.byInode[inode] }) { return w }
        let now = Date().timeIntervalSince1970
        guard known.withLock({ cache in
            guard now - cache.readAt >= 1 else { return false }
            cache.readAt = now
            return true
        }) else { return Workload() }
        let found = scan()
        known.withLock { $0.byInode = found }
        return found[inode] ?? Workload()
    }

    /// Every namespace's workload: the first process in it that belongs to
    /// a pod (or else to a container) names it. Namespaces of no container
    /// (the host's) are kept too, as empty, so they cause no new scan.
    private func scan() -> [UInt32: Workload] {
        var out: [UInt32: Workload] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard Int32(entry) != nil, let inode = NetworkNamespaces.inode(ofFile: "/proc/\(entry)/ns/net"),
                  out[inode]?.pod == nil, let cgroup = cgroupID(ofProcess: entry) else { continue }
            let w = directory.workload(ofCgroup: cgroup)
            if !w.isEmpty || out[inode] == nil { out[inode] = w }
        }
        return out
    }

    /// The cgroup v2 ID of a process, from its path in /proc/PID/cgroup.
    /// The kernel writes cgroup names as they are, and a workload names its
    /// own cgroups: a name may hold a newline and a forged `0::/...` line.
    /// The unified hierarchy's line comes last and runs to the end, so each
    /// `0::` line start gives a candidate path to the end; the one taken is
    /// the one whose cgroup.procs lists the process.
    func cgroupID(ofProcess pid: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8), let number = Int32(pid) else { return nil }
        let body = text.hasSuffix("\n") ? Substring(text.dropLast()) : Substring(text)
        var candidates: [String] = []
        var index = body.startIndex
        while index < body.endIndex {
            if body[index...].hasPrefix("0::") { candidates.append(String(body[body.index(index, offsetBy: 3)...])) }
            guard let newline = body[index...].firstIndex(of: "\n") else { break }
            index = body.index(after: newline)
        }
        if candidates.count == 1, let path = candidates.first { return directory.hierarchy.id(of: path) }
        for path in candidates where Self.lists(directory.hierarchy.mountPoint + path + "/cgroup.procs", pid: number) {
            return directory.hierarchy.id(of: path)
        }
        return nil
    }

    static func lists(_ procs: String, pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: procs, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { Int32($0) == pid }
    }
}

/// How the network tools print flows and TCP states.
public enum FlowText {
    /// An address from its bytes (4 or 16).
    public static func address(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 16 ? AF_INET6 : AF_INET
        return bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil ? String(cString: text) : "?"
        }
    }

    /// "10.0.0.1:80", "[fd00::1]:80", an address alone for a protocol
    /// without ports; "-" for a flow whose headers were not read.
    public static func endpoint(_ bytes: [UInt8], _ port: UInt16, _ f: flow) -> String {
        guard f.family != 0 else { return "-" }
        return endpoint(bytes, port, ports: f.hasPorts)
    }

    /// "10.0.0.1:80", "[fd00::1]:80" (the family from the address's
    /// length), or the address alone when the protocol has no `ports`.
    public static func endpoint(_ bytes: [UInt8], _ port: UInt16, ports: Bool) -> String {
        let a = address(bytes)
        guard ports else { return a }
        return (bytes.count == 16 ? "[\(a)]" : a) + ":\(port)"
    }

    /// TCP states as /proc/net/tcp numbers them (a stable kernel ABI).
    static let tcpStates = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                            "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE"]

    public static func tcpState(_ n: Int32) -> String {
        n > 0 && Int(n) < tcpStates.count ? tcpStates[Int(n)] : "STATE\(n)"
    }

    public static func netns(_ inode: UInt32) -> String {
        inode == 0 ? "-" : NetworkNamespaces.name(of: inode) ?? String(inode)
    }
}

extension Field where Event: FlowEvent {
    /// NETNS (its `ip netns` name where it has one), and `netns`/`netns_name` in JSON.
    public static var netns: Field {
        Field(key: "netns", heading: "NETNS", width: 12,
              text: { e, out, _ in out.append(FlowText.netns(e.flow.netns)) },
              json: { e, o, _ in
                  o.field("netns", e.flow.netns)
                  o.field("netns_name", e.flow.netns == 0 ? nil : NetworkNamespaces.name(of: e.flow.netns))
              })
    }

    /// The pod (or container) that owns the event's network namespace:
    /// a POD column, and the container and pod fields in JSON.
    public static func namespaceOwner(_ owners: NetworkNamespaceOwners) -> Field {
        Field(key: "netns_owner", heading: "POD", width: 24,
              text: { e, out, _ in
                  let w = owners.workload(of: e.flow.netns)
                  if let p = w.pod { out.append("\(p.namespace ?? "?")/\(p.name ?? p.uid)") } else if let c = w.container { out.append(c.name ?? c.shortID) } else { out.append("-") }
              },
              json: { e, o, _ in o.workload(owners.workload(of: e.flow.netns)) })
    }

    /// Source and destination (local and remote for a socket) as two
    /// columns; `saddr`, `sport`, `daddr`, `dport` and `protocol` in JSON.
    public static func endpoints(_ source: String, _ destination: String, width: Int = 22) -> [Field] {
        [
            Field(key: "saddr", heading: source, width: width,
                  text: { e, out, _ in let f = e.flow; out.append(FlowText.endpoint(f.sourceBytes, f.sport, f)) },
                  json: { e, o, _ in
                      let f = e.flow
                      o.field("family", f.family == UInt16(AF_INET6) ? "ipv6" : f.family == UInt16(AF_INET) ? "ipv4" : nil)
                      o.field("protocol", f.protocol == 6 ? "tcp" : f.protocol == 17 ? "udp" : f.protocol == 1 ? "icmp" : f.family == 0 ? nil : String(f.protocol))
                      o.field("saddr", f.family == 0 ? nil : FlowText.address(f.sourceBytes))
                      o.field("sport", f.hasPorts ? f.sport : nil)
                  }),
            Field(key: "daddr", heading: destination, width: width,
                  text: { e, out, _ in let f = e.flow; out.append(FlowText.endpoint(f.destinationBytes, f.dport, f)) },
                  json: { e, o, _ in
                      let f = e.flow
                      o.field("daddr", f.family == 0 ? nil : FlowText.address(f.destinationBytes))
                      o.field("dport", f.hasPorts ? f.dport : nil)
                  }),
        ]
    }
}

/// An event that carries a `struct flow` (net.h), for the shared network
/// fields; the network tools' events conform.
public protocol FlowEvent: TaskEvent {
    var flow: flow { get }
}

extension flow {
    /// The source address's bytes: 4 for IPv4, 16 for IPv6.
    public var sourceBytes: [UInt8] { withUnsafeBytes(of: saddr) { Array($0.prefix(Int32(family) == AF_INET6 ? 16 : 4)) } }
    public var destinationBytes: [UInt8] { withUnsafeBytes(of: daddr) { Array($0.prefix(Int32(family) == AF_INET6 ? 16 : 4)) } }
    /// TCP and UDP have ports.
    public var hasPorts: Bool { family != 0 && (self.protocol == 6 || self.protocol == 17) }
}

extension EventTable where Event: FlowEvent {
    /// The table for events that happen in no task's context (dropped
    /// packets, retransmits): `-C` and JSON name the pod that owns the
    /// event's network namespace, instead of a task's container.
    public init(taskless fields: [Field<Event>], session: TraceSession) {
        var fields = fields
        if let directory = session.workloads {
            let owner = Field<Event>.namespaceOwner(NetworkNamespaceOwners(directory: directory))
            fields.insert(session.options.containers ? owner : owner.jsonOnly, at: 0)
        }
        self.init(fields, json: session.options.json, relativeTime: session.options.timestamp)
    }
}
