// SPDX-License-Identifier: BSD-2-Clause
// SignalWatch: prints every signal sent on this machine, consuming the ring
// buffer as an AsyncSequence. Run as root: `swift run SignalWatch [COUNT]`.
import Foundation
import SignalProbe
import SwiftBPF

@main
struct SignalWatch {
    static func main() async {
        let limit = CommandLine.arguments.dropFirst().first.flatMap { Int($0) }
        do {
            try Kernel.requirePrivileges()
            var open = try SignalwatchSkeleton.open()
            // `events` and `lost_events` come from swift-bpf's swiftbpf.bpf.h.
            try open.setMaxEntries(256 * 1024, for: .events)
            let probe = try open.load()
            let links = try probe.attachAll()
            print("SENDER            PID      SIGNAL   TARGET            PID      RESULT")
            var seen = 0
            for await element in try RingBuffer.events(probe.maps.events, lostCounter: probe.maps.lostEvents) {
                switch element {
                case .event(let bytes):
                    bytes.withUnsafeBytes { raw in
                        guard let e = RecordReader<signal_event>(raw, minimumSize: MemoryLayout<signal_event>.size) else { return }
                        let sender = String(decoding: e.string(\.sender_comm), as: UTF8.self)
                        let target = String(decoding: e.string(\.target_comm), as: UTF8.self)
                        let name = signalName(e(\.sig))
                        print(pad(sender, 17), pad("\(e(\.sender_pid))", 8), pad(name, 8), pad(target, 17), pad("\(e(\.target_pid))", 8), e(\.result))
                    }
                    seen += 1
                case .lost(let n):
                    print("(\(n) signals lost: the ring buffer was full)")
                }
                if let limit, seen >= limit { break }
            }
            links.forEach { $0.detach() }
        } catch {
            FileHandle.standardError.write(Data("SignalWatch: error: \(error)\n".utf8))
            exit(1)
        }
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func signalName(_ sig: Int32) -> String {
        let names = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 9: "SIGKILL", 10: "SIGUSR1", 12: "SIGUSR2",
                     13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP"]
        return names[Int(sig)] ?? "SIG\(sig)"
    }
}
