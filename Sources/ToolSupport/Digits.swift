// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import SwiftBPF

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

    /// `value` in octal, zero-padded to `minimumDigits` ("0755").
    public static func octal(_ value: UInt64, minimumDigits: Int) -> String {
        var out: [UInt8] = []
        appendOctal(value, minimumDigits: minimumDigits, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
