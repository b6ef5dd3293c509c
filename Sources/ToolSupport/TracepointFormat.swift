// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

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
