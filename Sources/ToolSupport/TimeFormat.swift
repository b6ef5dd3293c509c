// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

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
