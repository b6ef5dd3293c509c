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
    /// What is written per event, behind a pointer: every access to a
    /// class's stored `var` is checked for exclusivity at run time, which
    /// took a third of a tool's CPU at half a million events a second;
    /// access through a pointer is not. (One queue at a time uses this.)
    @usableFromInline struct LineState {
        @usableFromInline var buffer: [UInt8] = []
        var lastSecond: Int64 = .min
        var lastClock: [UInt8] = []
    }
    @usableFromInline let state: UnsafeMutablePointer<LineState>
    @usableFromInline var buffer: [UInt8] {
        @inline(__always) _read { yield state.pointee.buffer }
        @inline(__always) _modify { yield &state.pointee.buffer }
    }
    /// Set when the reader went away (EPIPE); the session then stops.
    public private(set) var isBroken = false

    /// Everything flushed so far, for an output made with `capturing()`.
    public private(set) var captured: [UInt8] = []

    public init(fileDescriptor: Int32 = STDOUT_FILENO) {
        fd = fileDescriptor
        isTerminal = isatty(fileDescriptor) == 1
        state = .allocate(capacity: 1)
        state.initialize(to: LineState())
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
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
        pad(from: start, to: width)
    }

    /// Appends an integer left-aligned in `width` columns, then one space.
    @inlinable
    public func column<T: BinaryInteger>(_ value: T, _ width: Int) {
        let start = buffer.count
        appendNumber(value)
        pad(from: start, to: width)
    }

    /// Appends escaped bytes (see `appendEscaped`) in `width` columns, then one space.
    public func columnEscaped(_ bytes: UnsafeRawBufferPointer, _ width: Int) {
        let start = buffer.count
        TextEscaping.appendHuman(bytes, to: &buffer)
        pad(from: start, to: width)
    }

    /// Bytes buffered so far; with `pad(from:to:)`, for columns whose
    /// value is appended in pieces.
    @usableFromInline var count: Int { buffer.count }

    /// Appends an integer in decimal.
    @inlinable
    public func appendNumber<T: BinaryInteger>(_ value: T) {
        if T.isSigned { appendDecimal(Int64(truncatingIfNeeded: value)) } else { appendDecimal(UInt64(truncatingIfNeeded: value)) }
    }

    /// Padding, appended as a slice (one copy, not a call per space).
    @usableFromInline static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 64)

    /// Pads what was appended since `start` to `width` columns, then one space.
    @usableFromInline
    func pad(from start: Int, to width: Int) {
        var missing = max(width - (buffer.count - start), 0) + 1
        while missing > 0 {
            let n = min(missing, Output.spaces.count)
            buffer.append(contentsOf: Output.spaces[0..<n])
            missing -= n
        }
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

    /// Appends escaped bytes with each `"` preceded by a backslash, for a
    /// value the caller puts between double quotes.
    public func appendEscapedForQuotes(_ bytes: UnsafeRawBufferPointer) {
        appendEscaped(bytes.flatMap { $0 == UInt8(ascii: "\"") ? [UInt8(ascii: "\\"), $0] : [$0] })
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
        if second != state.pointee.lastSecond {
            var t = time_t(second), tm = tm()
            localtime_r(&t, &tm)
            state.pointee.lastClock = Array(String(format: "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec).utf8)
            state.pointee.lastSecond = second
        }
        state.pointee.buffer.append(contentsOf: state.pointee.lastClock)
    }
}
