// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

/// Buffered standard output for event lines. On a terminal every line is
/// written as it completes; into a pipe or file lines are batched (64 KiB,
/// or every 100 ms by `TraceSession`), since a pipeline wants throughput.
/// Used from one queue at a time.
public final class Output: @unchecked Sendable {
    public let isTerminal: Bool
    private let fd: Int32
    @usableFromInline var buffer: [UInt8] = []
    /// Set when the reader went away (EPIPE); the session then stops.
    public private(set) var isBroken = false
    private var lastSecond: Int64 = .min
    private var lastClock: [UInt8] = []

    /// Everything flushed so far, for an output made with `capturing()`.
    public private(set) var captured: [UInt8] = []

    public init(fileDescriptor: Int32 = STDOUT_FILENO) {
        fd = fileDescriptor
        isTerminal = isatty(fileDescriptor) == 1
        buffer.reserveCapacity(1 << 16)
    }

    /// An output that keeps what it is given instead of writing it.
    public static func capturing() -> Output { Output(fileDescriptor: -1) }

    /// What a capturing output holds, flushed, as text.
    public var capturedText: String {
        flush()
        return String(decoding: captured, as: UTF8.self)
    }

    public func append(_ text: String) { buffer.append(contentsOf: text.utf8) }
    public func append(byte: UInt8) { buffer.append(byte) }
    public func append<C: Collection>(bytes: C) where C.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// Appends `text` left-aligned in `width` columns, then one space.
    public func column(_ text: String, _ width: Int) {
        let start = buffer.count
        buffer.append(contentsOf: text.utf8)
        let used = buffer.count - start
        if used < width { buffer.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - used)) }
        buffer.append(UInt8(ascii: " "))
    }

    /// Appends an integer left-aligned in `width` columns, then one space.
    @inlinable
    public func column<T: BinaryInteger>(_ value: T, _ width: Int) {
        let start = buffer.count
        if T.isSigned { appendDecimal(Int64(truncatingIfNeeded: value)) } else { appendDecimal(UInt64(truncatingIfNeeded: value)) }
        pad(from: start, to: width)
    }

    /// Appends escaped bytes (see `appendEscaped`) in `width` columns, then one space.
    public func columnEscaped(_ bytes: UnsafeRawBufferPointer, _ width: Int) {
        let start = buffer.count
        TextEscaping.appendHuman(bytes, to: &buffer)
        pad(from: start, to: width)
    }

    @usableFromInline
    func pad(from start: Int, to width: Int) {
        let used = buffer.count - start
        if used < width { buffer.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - used)) }
        buffer.append(UInt8(ascii: " "))
    }

    /// Appends a number in decimal.
    @usableFromInline
    func appendDecimal(_ value: Int64) { Digits.append(value, to: &buffer) }
    @usableFromInline
    func appendDecimal(_ value: UInt64) { Digits.append(value, to: &buffer) }

    /// Appends a number in octal, zero-padded to `minimumDigits`.
    public func appendOctal(_ value: UInt64, minimumDigits: Int = 1) { Digits.appendOctal(value, minimumDigits: minimumDigits, to: &buffer) }

    /// Appends bytes for a person to read: valid UTF-8 as is, control
    /// characters and invalid bytes as escapes, so one event stays one line.
    public func appendEscaped(_ bytes: UnsafeRawBufferPointer) {
        TextEscaping.appendHuman(bytes, to: &buffer)
    }

    public func appendEscaped(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { TextEscaping.appendHuman($0, to: &buffer) }
    }

    /// Ends a line; flushes now on a terminal or when the batch is full.
    public func endLine() {
        buffer.append(UInt8(ascii: "\n"))
        if isTerminal || buffer.count >= 1 << 16 { flush() }
    }

    /// Writes everything buffered.
    public func flush() {
        guard !buffer.isEmpty, !isBroken else { buffer.removeAll(keepingCapacity: true); return }
        if fd < 0 {
            captured.append(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
            return
        }
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    isBroken = true
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The TIME column every tool starts with: seconds since `start` with
    /// `relative` (-T), else the wall clock as HH:MM:SS.
    public func timeColumn(_ ns: UInt64, relative: Bool, start: UInt64, clockOffset: Int64) {
        if relative {
            column(TimeFormat.relative(ns, since: start), 8)
        } else {
            appendClock(monotonicNanoseconds: ns, offset: clockOffset)
            buffer.append(UInt8(ascii: " "))
        }
    }

    /// The TIME column's heading, matching `timeColumn`.
    public static func timeHeading(relative: Bool) -> String { relative ? "TIME(s)  " : "TIME     " }

    /// Appends the wall-clock time of a BPF timestamp as HH:MM:SS.
    public func appendClock(monotonicNanoseconds ns: UInt64, offset: Int64) {
        let second = (Int64(bitPattern: ns) + offset) / 1_000_000_000
        if second != lastSecond {
            var t = time_t(second), tm = tm()
            localtime_r(&t, &tm)
            lastClock = Array(String(format: "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec).utf8)
            lastSecond = second
        }
        buffer.append(contentsOf: lastClock)
    }
}

/// Time stamps in the forms the tools print.
public enum TimeFormat {
    /// "2026-11-26T18:30:01.123456789Z" for a BPF (CLOCK_MONOTONIC) time.
    /// Formatted by hand: Foundation's String(format:) costs microseconds,
    /// which a tracer pays per event.
    public static func iso8601(monotonicNanoseconds ns: UInt64, offset: Int64) -> String {
        let real = Int64(bitPattern: ns) + offset
        var t = time_t(real / 1_000_000_000), tm = tm()
        gmtime_r(&t, &tm)
        var b: [UInt8] = []
        b.reserveCapacity(30)
        func two(_ v: Int32) { b.append(UInt8(48 + v / 10)); b.append(UInt8(48 + v % 10)) }
        Digits.appendPadded(UInt64(tm.tm_year + 1900), width: 4, to: &b)
        b.append(UInt8(ascii: "-")); two(tm.tm_mon + 1)
        b.append(UInt8(ascii: "-")); two(tm.tm_mday)
        b.append(UInt8(ascii: "T")); two(tm.tm_hour)
        b.append(UInt8(ascii: ":")); two(tm.tm_min)
        b.append(UInt8(ascii: ":")); two(tm.tm_sec)
        b.append(UInt8(ascii: "."))
        Digits.appendPadded(UInt64(real % 1_000_000_000), width: 9, to: &b)
        b.append(UInt8(ascii: "Z"))
        return String(decoding: b, as: UTF8.self)
    }

    /// Seconds since `start`, with microseconds: "12.345678".
    public static func relative(_ ns: UInt64, since start: UInt64) -> String {
        let d = ns >= start ? ns - start : 0
        let micros = (d / 1000) % 1_000_000
        let padded = String(micros)
        return "\(d / 1_000_000_000)." + String(repeating: "0", count: 6 - padded.count) + padded
    }
}

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
            let n = c >= 0x80 ? sequenceLength(b, i) : 0
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

/// Writes one JSON object into an `Output`, field by field, without
/// building intermediate dictionaries.
public struct JSONObject {
    @usableFromInline var bytes: [UInt8] = [UInt8(ascii: "{")]
    @usableFromInline var first = true

    public init() {}

    @usableFromInline
    mutating func key(_ name: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    @inlinable
    public mutating func field<T: BinaryInteger>(_ name: String, _ value: T) {
        key(name)
        if T.isSigned { Digits.append(Int64(truncatingIfNeeded: value), to: &bytes) } else { Digits.append(UInt64(truncatingIfNeeded: value), to: &bytes) }
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { TextEscaping.appendJSONString(value.utf8, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    /// Raw kernel bytes as a string; when they are not valid UTF-8 the
    /// exact bytes follow in `<name>_base64`.
    public mutating func field(_ name: String, bytes raw: UnsafeRawBufferPointer) {
        key(name)
        if !TextEscaping.appendJSONString(raw, to: &bytes) {
            key(name + "_base64")
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: Data(raw).base64EncodedString().utf8)
            bytes.append(UInt8(ascii: "\""))
        }
    }

    public mutating func field(_ name: String, bytes raw: [UInt8]) {
        raw.withUnsafeBytes { field(name, bytes: $0) }
    }

    /// A JSON array of strings made from raw bytes.
    public mutating func array(_ name: String, _ body: (inout JSONStringList) -> Void) {
        key(name)
        var list = JSONStringList()
        body(&list)
        bytes.append(UInt8(ascii: "["))
        bytes.append(contentsOf: list.bytes)
        bytes.append(UInt8(ascii: "]"))
    }

    /// An array of already-encoded JSON values (objects, numbers).
    public mutating func rawArray(_ name: String, _ values: [[UInt8]]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: v)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A nested object.
    public mutating func object(_ name: String, _ value: JSONObject) {
        key(name)
        bytes.append(contentsOf: value.text)
    }

    /// `time` (UTC, ISO 8601) and `ts_ns` (the BPF clock), as every event has.
    public mutating func timestamp(_ ns: UInt64, clockOffset: Int64) {
        field("time", TimeFormat.iso8601(monotonicNanoseconds: ns, offset: clockOffset))
        field("ts_ns", ns)
    }

    /// The fields every task event has, in one order for every tool:
    /// `time`, `ts_ns`, `pid`, `tid`, `uid`, `comm`, `cgroup_id`.
    public mutating func task(_ e: some TaskEvent, clockOffset: Int64) {
        timestamp(e.timestamp, clockOffset: clockOffset)
        field("pid", e.pid)
        field("tid", e.tid)
        field("uid", e.uid)
        field("comm", bytes: e.comm)
        field("cgroup_id", e.cgroupID)
    }

    /// A syscall's result: `ret` (0, a value, or -errno) and `errno` (its
    /// name, or null when it succeeded).
    public mutating func result<T: BinaryInteger>(_ ret: T) {
        field("ret", ret)
        field("errno", ErrnoName.ifFailed(ret))
    }

    /// The finished object, without a newline.
    public var text: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// Appends the object and ends the line.
    public func write(to output: Output) {
        output.append(bytes: bytes)
        output.append(byte: UInt8(ascii: "}"))
        output.endLine()
    }
}

/// The elements of a JSON array of strings.
public struct JSONStringList {
    fileprivate var bytes: [UInt8] = []

    /// Appends raw bytes as a string (invalid UTF-8 becomes U+FFFD).
    public mutating func string<C: Collection>(bytes raw: C) where C.Element == UInt8 {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
        TextEscaping.appendJSONString(raw, to: &bytes)
    }
}

/// Decimal and octal digits straight into a byte buffer.
public enum Digits {
    public static func append(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            append(value.magnitude, to: &out)
        } else {
            append(UInt64(value), to: &out)
        }
    }

    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        appendPadded(value, width: 1, to: &out)
    }

    /// `value` in decimal, zero-padded to `width` digits.
    public static func appendPadded(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var n = 0, v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            while n < min(width, d.count) { d[n] = 48; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    public static func appendOctal(_ value: UInt64, minimumDigits: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var n = 0, v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + v & 7)
                v >>= 3
                n += 1
            } while v > 0
            while n < min(minimumDigits, d.count) { d[n] = 48; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }
}
