// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import TestSupport
import Testing
import ToolSupport
@testable import NetworkSupport
@testable import HistogramSupport
@testable import mkdirtrace
@testable import SwiftBPF

@Suite struct Escaping {
    @Test func humanTextKeepsOneEventOnOneLine() {
        #expect(TextEscaping.human(Array("/tmp/dir with space".utf8)) == "/tmp/dir with space")
        #expect(TextEscaping.human(Array("a\nb\tc".utf8)) == #"a\nb\tc"#)
        #expect(TextEscaping.human([0x61, 0xFF, 0x62]) == #"a\xffb"#)
        #expect(TextEscaping.human(Array("ünïcødé/日本".utf8)) == "ünïcødé/日本")
        #expect(TextEscaping.human(Array(#"back\slash"#.utf8)) == #"back\\slash"#)
        #expect(TextEscaping.human([0xED, 0xA0, 0x80]) == #"\xed\xa0\x80"#, "UTF-8 surrogates are not valid")
        #expect(TextEscaping.human([0x1B]) == #"\x1b"#, "no terminal escapes reach the screen")
    }

    @Test func jsonStringsAreValidJSONForAnyBytes() throws {
        let cases: [[UInt8]] = [
            Array("plain".utf8), Array("with space".utf8), Array("new\nline".utf8), Array("quote\"and\\".utf8),
            [0x61, 0xFF, 0x62], [0x01, 0x7F], Array("ünï".utf8),
        ]
        for bytes in cases {
            var o = JSONObject()
            o.field("path", bytes: bytes)
            let parsed = try JSONSerialization.jsonObject(with: Data(o.text)) as? [String: Any]
            let path = try #require(parsed?["path"] as? String)
            if let valid = String(validating: bytes, as: UTF8.self) {
                #expect(path == valid)
                #expect(parsed?["path_base64"] == nil)
            } else {
                #expect(path.contains("\u{FFFD}"))
                #expect(parsed?["path_base64"] as? String == Data(bytes).base64EncodedString())
            }
        }
    }

    @Test func jsonFieldsOfEachKind() {
        var o = JSONObject()
        o.field("n", Int32(-5))
        o.field("b", true)
        o.field("s", "x" as String?)
        o.field("none", nil as String?)
        #expect(String(decoding: o.text, as: UTF8.self) == #"{"n":-5,"b":true,"s":"x","none":null}"#)
    }
}

@Suite struct Formatting {
    @Test func errnoNames() {
        #expect(ErrnoName.name(17) == "EEXIST")
        #expect(ErrnoName.name(-2) == "ENOENT")
        #expect(ErrnoName.name(-13) == "EACCES")
        #expect(ErrnoName.name(9999) == "E9999")
        #expect(ErrnoName.number("eexist") == 17)
        #expect(ErrnoName.ifFailed(Int64(-2)) == "ENOENT")
        #expect(ErrnoName.ifFailed(Int32(0)) == nil && ErrnoName.ifFailed(3) == nil)
    }

    @Test func relativeTime() {
        #expect(TimeFormat.relative(1_500_000_000 + 42, since: 42) == "1.500000")
        #expect(TimeFormat.relative(42_000_123_000, since: 0) == "42.000123")
        #expect(TimeFormat.relative(5, since: 10) == "0.000000")
    }

    @Test func isoTime() {
        #expect(TimeFormat.iso8601(monotonicNanoseconds: 1_000_000_123, offset: 1_700_000_000_000_000_000) == "2023-11-14T22:13:21.000000123Z")
    }

    /// Builds a record as the probe sends it: header plus path_len+1 bytes.
    static func record(path: [UInt8], ret: Int32, mode: UInt32 = 0o755, syscall: mkdir_syscall = MKDIR_SYSCALL_MKDIR,
                       flags: UInt8 = 0) -> [UInt8] {
        var e = path_event()
        e.task.ts_ns = 1_000_000_000
        e.task.pid = 1234; e.task.tid = 1235; e.task.ppid = 1; e.task.uid = 1000
        e.ret = ret; e.dfd = -100; e.mode = mode
        e.path_len = UInt16(path.count); e.syscall = UInt8(syscall.rawValue); e.flags = flags
        withUnsafeMutableBytes(of: &e.task.comm) { raw in for (i, b) in "mkdir".utf8.enumerated() { raw[i] = b } }
        let pathOffset = MemoryLayout<path_event>.offset(of: \.path)!
        var bytes = withUnsafeBytes(of: &e) { Array($0.prefix(pathOffset)) }
        bytes += path + [0]
        return bytes
    }

    @Test func textLine() {
        let out = Output.capturing()
        let format = MkdirFields.format(json: false, relativeTime: true)
        Self.record(path: Array("/tmp/x".utf8), ret: -17).withUnsafeBytes { raw in
            format.write(PathEvent(raw)!, to: out, clockOffset: 0, start: 0)
        }
        #expect(format.header == "TIME(s)  PID     PPID    UID    COMM             MODE RESULT       PATH")
        #expect(out.capturedText == "1.000000 1234    1       1000   mkdir            0755 EEXIST       /tmp/x\n")
        // Every heading starts where its column does.
        let header = Array(format.header!), row = Array(out.capturedText)
        for title in ["PID", "PPID", "UID", "COMM", "MODE", "RESULT", "PATH"] {
            let at = String(header).range(of: " " + title)!.upperBound.utf16Offset(in: String(header)) - title.count
            #expect(row[at - 1] == " " && row[at] != " ", "\(title) column")
        }
    }

    @Test func jsonLine() throws {
        let out = Output.capturing()
        let format = MkdirFields.format(json: true, relativeTime: false)
        #expect(format.header == nil)
        Self.record(path: [0x61, 0x0A, 0xFF], ret: 0, mode: 0o700, syscall: MKDIR_SYSCALL_MKDIRAT).withUnsafeBytes { raw in
            format.write(PathEvent(raw)!, to: out, clockOffset: 0, start: 0)
        }
        let text = out.capturedText
        #expect(text.hasSuffix("}\n") && text.split(separator: "\n").count == 1)
        // The task block and the tool's table never write a key twice.
        for key in ["time", "pid", "tid", "ppid", "uid", "comm", "cgroup_id", "ret", "errno", "path", "mode"] {
            #expect(text.components(separatedBy: "\"\(key)\":").count == 2, "\(key) once in \(text)")
        }
        let o = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(o["pid"] as? Int == 1234)
        #expect(o["tid"] as? Int == 1235)
        #expect(o["syscall"] as? String == "mkdirat")
        #expect(o["mode"] as? String == "0700")
        #expect(o["path"] as? String == "a\n\u{FFFD}")
        #expect(o["path_base64"] as? String == Data([0x61, 0x0A, 0xFF]).base64EncodedString())
        #expect(o["errno"] is NSNull)
        #expect(o["comm"] as? String == "mkdir")
        #expect(o["time"] as? String == "1970-01-01T00:00:01.000000000Z")
    }

    @Test func truncatedPathsSaySo() {
        let out = Output.capturing()
        Self.record(path: Array("/long".utf8), ret: 0, flags: UInt8(PATH_EVENT_TRUNCATED)).withUnsafeBytes { raw in
            MkdirFields.format(json: false, relativeTime: true).write(PathEvent(raw)!, to: out, clockOffset: 0, start: 0)
        }
        #expect(out.capturedText.hasSuffix("/long...\n"))
    }

    @Test func shortRecordsAreRejected() {
        [UInt8](repeating: 0, count: 10).withUnsafeBytes { raw in
            #expect(PathEvent(raw) == nil)
        }
    }
}
