// SPDX-License-Identifier: BSD-2-Clause
import Containers
import Foundation
import SwiftBPF

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

    /// A number, or null.
    public mutating func field<T: BinaryInteger>(_ name: String, _ value: T?) {
        guard let value else {
            key(name)
            bytes.append(contentsOf: "null".utf8)
            return
        }
        field(name, value)
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
    /// `time`, `ts_ns`, `pid`, `tid`, `ppid`, `uid`, `comm`, `cgroup_id`.
    public mutating func task(_ e: some TaskEvent, clockOffset: Int64) {
        timestamp(e.timestamp, clockOffset: clockOffset)
        field("pid", e.pid)
        field("tid", e.tid)
        field("ppid", e.ppid)
        field("uid", e.uid)
        field("comm", bytes: e.comm)
        field("cgroup_id", e.cgroupID)
    }

    /// The container and pod fields, under OpenTelemetry's attribute names,
    /// each only when known.
    public mutating func workload(_ w: Workload) {
        if let c = w.container {
            field("container.id", c.id)
            if let name = c.name { field("container.name", name) }
            field("container.runtime", c.runtime.rawValue)
        }
        if let p = w.pod {
            if let name = p.name { field("k8s.pod.name", name) }
            if !p.uid.isEmpty { field("k8s.pod.uid", p.uid) }
            if let ns = p.namespace { field("k8s.namespace.name", ns) }
        }
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
