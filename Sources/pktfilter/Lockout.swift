// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import Glibc
import SwiftBPF
import Enforcers

/// An SSH connection this host serves: its TCP socket, as
/// /proc/net/tcp{,6} of this network namespace lists it.
struct SSHConnection {
    var family: Int
    var local: [UInt8], localPort: UInt16
    var peer: [UInt8], peerPort: UInt16

    var description: String {
        func show(_ a: [UInt8], _ port: UInt16) -> String {
            let text = IPPrefix(family: family, bytes: a, length: a.count * 8).description
            return family == 6 ? "[\(text)]:\(port)" : "\(text):\(port)"
        }
        return "\(show(peer, peerPort)) to \(show(local, localPort))"
    }

    /// What the filter sees of it: the peer's segments arriving.
    var flow: PacketRule.Flow {
        PacketRule.Flow(family: family, proto: 6, source: peer, destination: local, sourcePort: peerPort, destinationPort: localPort)
    }

    /// The ports sshd serves: 22, the one this session came in on (sudo
    /// clears $SSH_CONNECTION), and those that processes named sshd listen
    /// on, among `sockets`.
    static func ports(among sockets: [TCPSocket]) -> Set<UInt16> {
        var ports: Set<UInt16> = [22]
        // SSH_CONNECTION="client-address client-port server-address server-port"
        if let v = ProcessInfo.processInfo.environment["SSH_CONNECTION"]?.split(separator: " "), v.count == 4, let p = UInt16(v[3]) {
            ports.insert(p)
        }
        let listening = sockets.filter { $0.state == "0A" }  // LISTEN
        guard !listening.isEmpty else { return ports }
        let owned = socketInodes(ofProcessesNamed: "sshd")
        for s in listening where owned.contains(s.inode) { ports.insert(s.local.port) }
        return ports
    }

    /// A TCP socket as /proc/net/tcp{,6} lists it.
    struct TCPSocket {
        var state: Substring
        var family: Int
        var local: (address: [UInt8], port: UInt16), remote: (address: [UInt8], port: UInt16)
        var inode: Substring
    }

    /// TCP sockets of this network namespace.
    static func sockets() -> [TCPSocket] {
        var out: [TCPSocket] = []
        for (family, file) in [(4, "/proc/net/tcp"), (6, "/proc/net/tcp6")] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
                let f = line.split(separator: " ")
                guard f.count > 9, let l = endpoint(f[1], family), let r = endpoint(f[2], family) else { continue }
                out.append(TCPSocket(state: f[3], family: l.address.count == 4 ? 4 : 6, local: l, remote: r, inode: f[9]))
            }
        }
        return out
    }

    /// Inodes of the sockets that processes called `name` hold open.
    static func socketInodes(ofProcessesNamed name: String) -> Set<Substring> {
        var inodes: Set<Substring> = []
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.first?.isNumber == true {
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .newlines) == name,
                  let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in fds {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                      target.hasPrefix("socket:[") else { continue }
                inodes.insert(Substring(target.dropFirst(8).dropLast()))
            }
        }
        return inodes
    }

    /// Established connections to an SSH port whose packets arrive on
    /// `interface`: its address is theirs, or the route to the peer leaves
    /// through it (or through the bridge or bond it belongs to).
    static func carried(by interface: String) -> [SSHConnection] {
        let sockets = sockets()
        let ports = ports(among: sockets)
        var devices = [interface]
        if let master = try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/class/net/\(interface)/master") {
            devices.append(String(master.split(separator: "/").last ?? ""))
        }
        let local = devices.reduce(into: Set<[UInt8]>()) { $0.formUnion(localAddresses(of: $1)) }
        var out: [SSHConnection] = []
        for s in sockets where s.state == "01" && ports.contains(s.local.port) {  // ESTABLISHED
            let c = SSHConnection(family: s.family, local: s.local.address, localPort: s.local.port, peer: s.remote.address, peerPort: s.remote.port)
            if local.contains(c.local) || Routes.device(toward: c.peer, family: c.family).map(devices.contains) == true { out.append(c) }
        }
        return out
    }

    /// "0100007F:0016": the address as the kernel's words in host order, the
    /// port in hex; 4 bytes for IPv4, and for IPv4-mapped IPv6 addresses.
    static func endpoint(_ field: Substring, _ family: Int) -> (address: [UInt8], port: UInt16)? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1], radix: 16), parts[0].count == (family == 4 ? 8 : 32) else { return nil }
        var bytes: [UInt8] = []
        var hex = Substring(parts[0])
        while !hex.isEmpty {
            guard let word = UInt32(hex.prefix(8), radix: 16) else { return nil }
            withUnsafeBytes(of: word) { bytes += $0 }  // host order, as the kernel printed it
            hex = hex.dropFirst(8)
        }
        // An IPv4 peer of a dual-stack socket, ::ffff:a.b.c.d, is IPv4 on the wire.
        if bytes.count == 16 && bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        return (bytes, port)
    }

    static func localAddresses(of interface: String) -> Set<[UInt8]> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: Set<[UInt8]> = []
        var entry = list
        while let e = entry {
            defer { entry = e.pointee.ifa_next }
            guard let a = e.pointee.ifa_addr, String(cString: e.pointee.ifa_name) == interface else { continue }
            if Int32(a.pointee.sa_family) == AF_INET {
                a.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in withUnsafeBytes(of: p.pointee.sin_addr) { out.insert(Array($0)) } }
            } else if Int32(a.pointee.sa_family) == AF_INET6 {
                a.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in withUnsafeBytes(of: p.pointee.sin6_addr) { out.insert(Array($0)) } }
            }
        }
        return out
    }
}

/// The main routing table's device toward an address (/proc/net/route and
/// /proc/net/ipv6_route, longest prefix wins).
enum Routes {
    static func device(toward address: [UInt8], family: Int) -> String? {
        var best: (length: Int, device: String)? = nil
        func consider(_ prefix: IPPrefix, _ device: String) {
            guard prefix.contains(IPPrefix(family: family, bytes: address, length: address.count * 8)),
                  prefix.length >= best?.length ?? -1 else { return }
            best = (prefix.length, device)
        }
        if family == 4 {
            guard let text = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) else { return nil }
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: words in host order.
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard f.count > 7, let d = UInt32(f[1], radix: 16), let m = UInt32(f[7], radix: 16) else { continue }
                let bytes = withUnsafeBytes(of: d) { Array($0) }
                consider(IPPrefix(family: 4, bytes: bytes, length: m.nonzeroBitCount), String(f[0]))
            }
        } else {
            guard let text = try? String(contentsOfFile: "/proc/net/ipv6_route", encoding: .utf8) else { return nil }
            // dest plen src plen next-hop metric refcnt use flags device: addresses in network order.
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count >= 10, f[0].count == 32, let plen = Int(f[1], radix: 16) else { continue }
                var bytes: [UInt8] = []
                var hex = f[0]
                while !hex.isEmpty { bytes.append(UInt8(hex.prefix(2), radix: 16) ?? 0); hex = hex.dropFirst(2) }
                guard f[9] != "lo" else { continue }
                consider(IPPrefix(family: 6, bytes: bytes, length: plen), String(f[9]))
            }
        }
        return best?.device
    }
}

/// A check that refuses a change after which the filter on `interface`
/// would drop an SSH connection that arrives through it (the one you may
/// be typing through), unless `force`; ufw asks the same before it
/// enables. Given to the filter's edits, which run it under the edit lock
/// on the rules and policy the change would leave.
func lockoutCheck(interface: String, force: Bool, what: String) -> PacketFilter.EditCheck {
    let connections = force ? [] : SSHConnection.carried(by: interface)
    return { (rules, policy) throws(BPFError) in
        for c in connections where !PacketFilter.passes(c.flow, rules: rules, policy: policy) {
            throw BPFError(.invalidArgument,
                           "\(what) would cut the SSH connection from \(c.description) on \(interface); allow it first (pktfilter allow tcp:\(c.localPort)) or pass --force")
        }
    }
}
