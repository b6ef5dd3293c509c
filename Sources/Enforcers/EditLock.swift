// SPDX-License-Identifier: BSD-2-Clause
import Dispatch
import Foundation
import Glibc
import SwiftBPF
import BPFProbes
import ToolSupport

/// A lock that lives in a loaded object itself: a one-slot socket map
/// (`BPF_MAP_TYPE_SOCKHASH`, bound to a program so that it is listed with
/// the program's maps). Taking it inserts a socket of this process with
/// BPF_NOEXIST, which one process at a time can do, and the kernel removes
/// the entry when that socket closes, however the process ends. Reaching
/// the map needs what editing needs (CAP_SYS_ADMIN to open it by ID).
/// Linux 5.7+ (UDP sockets in socket maps).
enum EditLock {
    static func holding<T>(_ lock: TypedMap<UInt32, UInt64>, busy: @autoclosure () -> String,
                           _ body: () throws(BPFError) -> T) throws(BPFError) -> T {
        // A socket map takes a UDP socket once it is bound (hashed): to a
        // port the kernel picks, for the few milliseconds of the edit.
        var fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var bound: Int32 = -1
        if fd >= 0 {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if bound != 0 {
            if fd >= 0 { close(fd) }
            fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            if fd >= 0 {
                bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            }
        }
        guard fd >= 0, bound == 0 else {
            let e = errno
            if fd >= 0 { close(fd) }
            throw BPFError.system("cannot create the edit lock's socket", e)
        }
        defer { close(fd) }
        let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
        while true {
            do {
                try lock.update(0, UInt64(fd), flags: .noExist)
                break
            } catch where error.errno == .fileExists {
                guard DispatchTime.now().uptimeNanoseconds < deadline else {
                    throw BPFError(.busy, busy(), errno: .resourceBusy)
                }
                usleep(2_000)
            }
        }
        defer { _ = try? lock.delete(0) }
        return try body()
    }
}
