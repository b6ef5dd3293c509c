// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

/// Escaping of raw kernel bytes (paths, command names) for people and JSON.
public enum TextEscaping {
    /// Length of the valid UTF-8 sequence at `i`, or 0 if the byte there
    /// does not start one.
    static func sequenceLength(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let c = b[i]
        func cont(_ k: Int) -> Bool { i + k < b.count && b[i + k] & 0xC0 == 0x80 }
        switch c {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1) && b[i + 1] >= 0xA0 && cont(2) ? 3 : 0
        case 0xED: return cont(1) && b[i + 1] < 0xA0 && cont(2) ? 3 : 0  // no surrogates
        case 0xE1...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xF0: return cont(1) && b[i + 1] >= 0x90 && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1) && b[i + 1] < 0x90 && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// `text` as one line a person reads: control bytes and backslashes
    /// escaped (`\n`, `\t`, `\x1b`, `\\`), so a name a workload chose
    /// cannot end a line or forge another. Every text output of a name,
    /// path or symbol a workload controls goes through this (or
    /// `Output.appendEscaped`, the same escaping).
    public static func human(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == UInt8(ascii: "\\") }) else { return text }
        var out: [UInt8] = []
        bytes.withUnsafeBytes { appendHuman($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    static func appendHuman(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        // The usual case, printable ASCII, is copied whole.
        if !b.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: b)
            return
        }
        var i = 0
        while i < b.count {
            let c = b[i]
            if c >= 0x20 && c < 0x7F && c != UInt8(ascii: "\\") {
                out.append(c); i += 1; continue
            }
            var n = c >= 0x80 ? sequenceLength(b, i) : 0
            // C1 controls (U+0080-U+009F: CSI, NEL...) are valid UTF-8
            // that terminals obey: escaped byte by byte.
            if n == 2 && c == 0xC2 && b[i + 1] < 0xA0 { n = 0 }
            if n > 1 {
                out.append(contentsOf: b[i..<i + n]); i += n; continue
            }
            switch c {
            case UInt8(ascii: "\\"): out.append(contentsOf: Array("\\\\".utf8))
            case UInt8(ascii: "\n"): out.append(contentsOf: Array("\\n".utf8))
            case UInt8(ascii: "\t"): out.append(contentsOf: Array("\\t".utf8))
            case UInt8(ascii: "\r"): out.append(contentsOf: Array("\\r".utf8))
            default: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]])
            }
            i += 1
        }
    }

    /// The bytes as a quoted JSON string. Invalid UTF-8 becomes U+FFFD;
    /// returns false in that case, so the caller can add the exact bytes.
    @discardableResult
    public static func appendJSONString<C: Collection>(_ input: C, to out: inout [UInt8]) -> Bool where C.Element == UInt8 {
        if let r = input.withContiguousStorageIfAvailable({ appendJSONString(UnsafeRawBufferPointer($0), to: &out) }) { return r }
        return Array(input).withUnsafeBytes { appendJSONString($0, to: &out) }
    }

    @discardableResult
    public static func appendJSONString(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        var valid = true
        out.append(UInt8(ascii: "\""))
        if !b.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: b)
            out.append(UInt8(ascii: "\""))
            return true
        }
        var i = 0
        while i < b.count {
            let c = b[i]
            if c >= 0x80 {
                let n = sequenceLength(b, i)
                if n > 1 { out.append(contentsOf: b[i..<i + n]); i += n } else { out.append(contentsOf: [0xEF, 0xBF, 0xBD]); valid = false; i += 1 }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: Array("\\\"".utf8))
            case UInt8(ascii: "\\"): out.append(contentsOf: Array("\\\\".utf8))
            case UInt8(ascii: "\n"): out.append(contentsOf: Array("\\n".utf8))
            case UInt8(ascii: "\t"): out.append(contentsOf: Array("\\t".utf8))
            case UInt8(ascii: "\r"): out.append(contentsOf: Array("\\r".utf8))
            case 0..<0x20, 0x7F: out.append(contentsOf: Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
            i += 1
        }
        out.append(UInt8(ascii: "\""))
        return valid
    }

    /// A human-readable rendering as a String (for tests and messages).
    public static func human<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        Array(bytes).withUnsafeBytes { appendHuman($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }
}
