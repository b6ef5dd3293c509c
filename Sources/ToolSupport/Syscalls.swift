// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

/// Syscall names and numbers of the running system. Names come from the
/// kernel's own tracepoints (`syscalls:sys_enter_NAME`); numbers, which
/// tracefs does not expose, from the system's `asm/unistd` header, parsed
/// at run time. A number neither knows is shown as `syscall_N`.
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
        let header = headerCandidates.lazy.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.first ?? ""
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

/// Close-match suggestions for unknown names.
public enum Suggest {
    public static func closest(to word: String, in candidates: [String], limit: Int = 4) -> [String] {
        let scored = candidates.map { ($0, distance(word, $0)) }
        let budget = max(2, word.count / 3)
        let near = scored.filter { $0.1 <= budget || ($0.0.hasPrefix(word) && word.count >= 3) }
        return near.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(limit).map(\.0)
    }

    /// Levenshtein distance.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count), cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            if b.isEmpty { cur = [i] }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}

/// A tracepoint's `format` file: its fields, names and C types, as the
/// running kernel describes them.
public struct TracepointFormat: Sendable {
    public struct Field: Sendable, Equatable {
        public var type: String
        public var name: String
        public var offset: Int
        public var size: Int
        public var isSigned: Bool

        /// `const char *`: a C string worth fetching (but not a data buffer).
        public var isString: Bool { normalizedType == "const char *" && name != "buf" }
        public var isPointer: Bool { type.contains("*") }

        /// Syscall tracepoints describe every argument as 8 unsigned bytes,
        /// so signedness and width come from the C type's name instead.
        public var cIntegerKind: (signed: Bool, bits: Int) {
            let words = type.split(separator: " ").map(String.init)
            let base = words.last ?? type
            let unsignedNames: Set<String> = ["size_t", "umode_t", "uid_t", "gid_t", "qid_t", "aio_context_t", "key_t", "cap_user_header_t"]
            let isUnsigned = words.contains("unsigned") || base.hasPrefix("u") || base.hasPrefix("__u") || unsignedNames.contains(base)
            let narrow: Set<String> = ["int", "pid_t", "uid_t", "gid_t", "mode_t", "umode_t", "clockid_t", "key_serial_t", "timer_t",
                                       "__s32", "__u32", "u32", "s32", "qid_t", "mqd_t", "rwf_t", "key_t"]
            let bits = words.contains("short") ? 16 : words.contains("char") ? 8 : words.contains("long") ? 64
                : narrow.contains(base) ? 32 : 64
            return (!isUnsigned, min(bits, size * 8))
        }
        var normalizedType: String { type.split(separator: " ").joined(separator: " ").replacingOccurrences(of: " *", with: " *") }
    }

    public let fields: [Field]

    public init(text: String) {
        var fields: [Field] = []
        for line in text.split(separator: "\n") where line.contains("field:") {
            // "field:const char * pathname;	offset:24;	size:8;	signed:0;"
            let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 4, parts[0].hasPrefix("field:") else { continue }
            let decl = parts[0].dropFirst("field:".count).trimmingCharacters(in: .whitespaces)
            func value(_ key: String) -> Int { parts.first { $0.hasPrefix(key + ":") }.flatMap { Int($0.dropFirst(key.count + 1)) } ?? 0 }
            var name = String(decl.split(whereSeparator: { $0 == " " || $0 == "*" }).last ?? "")
            var type = String(decl.dropLast(name.count)).trimmingCharacters(in: .whitespaces)
            if let bracket = name.firstIndex(of: "[") {  // char comm[16]
                type += " " + name[bracket...]
                name = String(name[..<bracket])
            }
            fields.append(Field(type: type, name: name, offset: value("offset"), size: value("size"), isSigned: value("signed") == 1))
        }
        self.fields = fields
    }

    /// The format of `category:name`, or `.unknownTracepoint`.
    public static func load(category: String, name: String) throws(BPFError) -> TracepointFormat {
        let root = try Kernel.ensureTracefs()
        guard let text = try? String(contentsOfFile: "\(root.string)/events/\(category)/\(name)/format", encoding: .utf8) else {
            throw BPFError(.unknownTracepoint, "no tracepoint \(category):\(name) in this kernel")
        }
        return TracepointFormat(text: text)
    }

    /// A syscall entry's arguments: the fields after `__syscall_nr`.
    public var syscallArguments: [Field] {
        guard let i = fields.firstIndex(where: { $0.name == "__syscall_nr" }) else { return [] }
        return Array(fields[(i + 1)...])
    }
}

/// BCC-style log2 histograms.
public enum Log2Histogram {
    /// `buckets[i]` counts values in [2^i, 2^(i+1)) (bucket 0: 0 and 1).
    public static func render(_ buckets: [UInt64], unit: String, width: Int = 40) -> String {
        guard let last = buckets.lastIndex(where: { $0 > 0 }) else { return "" }
        let peak = buckets.max() ?? 1
        var lines = [String(repeating: " ", count: max(0, 24 - unit.count)) + unit + " : count    distribution"]
        for i in 0...last {
            let low: UInt64 = i == 0 ? 0 : 1 << UInt64(i)
            let high: UInt64 = (1 << UInt64(i + 1)) - 1
            let stars = Int((Double(buckets[i]) / Double(peak) * Double(width)).rounded(.down))
            let range = "\(low) -> \(high)"
            lines.append(String(repeating: " ", count: max(0, 24 - range.count)) + range + " : "
                         + String(buckets[i]).padding(toLength: 8, withPad: " ", startingAt: 0)
                         + " |" + String(repeating: "*", count: stars) + String(repeating: " ", count: width - stars) + "|")
        }
        return lines.joined(separator: "\n")
    }
}
