// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

/// Syscall names and numbers of the running system. Names come from the
/// kernel's own tracepoints (`syscalls:sys_enter_NAME`); numbers, which
/// tracefs does not expose, from the system's `asm/unistd` header, parsed
/// at run time, or where there is none (a release tarball's machine, the
/// image) from the x86_64 table built in (SyscallNumbers.swift). A number
/// neither knows is shown as `syscall_N`.
public struct SyscallTable: Sendable {
    public let nameByNumber: [Int32: String]
    public let numberByName: [String: Int32]
    /// Syscalls the running kernel has a tracepoint for.
    public let traceable: Set<String>

    public init(headerText: String, traceable: Set<String>) {
        var names: [Int32: String] = [:], numbers: [String: Int32] = [:]
        for line in headerText.split(separator: "\n") {
            let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard w.count >= 3, w[0] == "#define", w[1].hasPrefix("__NR_"), let n = Int32(w[2]) else { continue }
            let name = String(w[1].dropFirst(5))
            names[n] = name
            numbers[name] = n
        }
        nameByNumber = names
        numberByName = numbers
        self.traceable = traceable
    }

    static let headerCandidates = [
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h",
        "/usr/include/aarch64-linux-gnu/asm/unistd.h", "/usr/include/asm-generic/unistd.h",
    ]

    /// The table for this machine (tracefs is mounted if needed).
    public static func current() throws(BPFError) -> SyscallTable {
        let events = try Kernel.tracepoints(in: "syscalls")
        let names = Set(events.filter { $0.hasPrefix("sys_enter_") }.map { String($0.dropFirst("sys_enter_".count)) })
        let header = headerCandidates.lazy.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.first ?? embeddedSyscallNumbers
        return SyscallTable(headerText: header, traceable: names)
    }

    public func name(_ number: Int32) -> String { nameByNumber[number] ?? "syscall_\(number)" }

    /// Every name either source knows, sorted.
    public var allNames: [String] { Set(numberByName.keys).union(traceable).sorted() }

    /// Close matches for a misspelt name, best first.
    public func suggestions(for name: String, among candidates: [String]? = nil) -> [String] {
        Suggest.closest(to: name, in: candidates ?? allNames)
    }
}
