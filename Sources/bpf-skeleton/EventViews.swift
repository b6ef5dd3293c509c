// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import SwiftBPF

/// The event views of a probe target: one Swift struct per C event struct
/// (a struct the probes' headers declare whose first member is
/// `struct task_info task`), read in place from a ring-buffer record at the
/// offsets the probes' BTF gives, as libbpf-cargo derives Rust types from
/// BTF. Fields that need more than a load (a length, a flag, a table) are
/// written by hand in extensions.
struct EventViewModel {
    enum Kind {
        /// An integer, enum or bool: loaded as `type`.
        case scalar(type: String)
        /// A `char` array: bytes up to its NUL (or its length, or the record's end).
        case string(length: Int)
        /// Any other byte array: its bytes, as far as the record goes.
        case bytes(length: Int)
        /// An array of wider integers: element `i`.
        case element(type: String, stride: Int, count: Int)
        /// A named struct or union the probe's headers declare.
        case value(type: String)
    }

    struct Field {
        var cName: String
        var swiftName: String
        var offset: Int
        var kind: Kind
        /// Reached through an anonymous struct or union (Swift imports
        /// those members as computed properties: no key-path offset), or
        /// an array Swift does not import (over 4096 elements).
        var nested: Bool
    }

    var cName: String
    var viewName: String
    var size: Int
    /// The bytes every record has: all of the struct, or up to its last
    /// member when that is an array a probe sends only the used part of.
    var minimumSize: Int
    var fields: [Field]
    /// Members without an accessor, and why.
    var skipped: [(String, String)]

    /// Names a view's own members take, and those `TaskEvent` gives every
    /// event from its `struct task_info`.
    static let reserved: Set<String> = ["task", "record", "minimumSize", "timestamp", "pid", "tid", "ppid", "uid", "comm", "cgroupID"]

    static func viewName(_ cName: String) -> String {
        Naming.camel(cName, upperFirst: true)
    }
}

struct EventViewReader {
    let btf: OpaquePointer
    let types: SwiftTypes

    private func type(_ id: UInt32) -> UnsafePointer<btf_type>? { btf__type_by_id(btf, id) }
    private func kind(_ t: UnsafePointer<btf_type>) -> BTFKind { BTFKind(rawValue: btf_kind(t)) ?? .unknown }
    private func name(_ t: UnsafePointer<btf_type>) -> String { String(cString: btf__name_by_offset(btf, t.pointee.name_off)) }
    private func name(offset: UInt32) -> String { String(cString: btf__name_by_offset(btf, offset)) }

    /// Through qualifiers and typedefs to the type that has a layout.
    private func resolved(_ id: UInt32) -> (UInt32, UnsafePointer<btf_type>)? {
        var id = id
        for _ in 0..<32 {
            guard let t = type(id) else { return nil }
            let k = kind(t)
            if k.isModifier || k == .typedef { id = t.pointee.type; continue }
            return (id, t)
        }
        return nil
    }

    /// The event structs of this object that the probe's headers declare.
    func events() -> [EventViewModel] {
        var out: [EventViewModel] = []
        for id in 1..<btf__type_cnt(btf) {
            guard let t = type(id), kind(t) == .structure, !name(t).isEmpty, types.knownStructs.contains(name(t)),
                  btf_vlen(t) > 0, let members = btf_members(t) else { continue }
            let first = members[0]
            guard name(offset: first.name_off) == "task", let (_, task) = resolved(first.type),
                  kind(task) == .structure, name(task) == "task_info" else { continue }
            out.append(view(of: t))
        }
        return out
    }

    private func view(of t: UnsafePointer<btf_type>) -> EventViewModel {
        var fields: [EventViewModel.Field] = []
        var skipped: [(String, String)] = []
        walk(t, base: 0, nested: false, skipTask: true, into: &fields, skipped: &skipped)
        let size = Int(t.pointee.size)
        // A trailing array is sent short (only its used part), so a record
        // is whole from the last member's offset on.
        var minimum = size
        if let members = btf_members(t), btf_vlen(t) > 1 {
            let last = members[Int(btf_vlen(t)) - 1]
            if let (_, lt) = resolved(last.type), kind(lt) == .array, let a = btf_array(lt),
               let (_, et) = resolved(a.pointee.type), kind(et) == .integer, et.pointee.size == 1, name(et) == "char" {
                minimum = Int(btf_member_bit_offset(t, UInt32(btf_vlen(t) - 1))) / 8
            }
        }
        return EventViewModel(cName: name(t), viewName: EventViewModel.viewName(name(t)), size: size, minimumSize: minimum,
                              fields: fields, skipped: skipped)
    }

    private func walk(_ t: UnsafePointer<btf_type>, base: Int, nested: Bool, skipTask: Bool,
                      into fields: inout [EventViewModel.Field], skipped: inout [(String, String)]) {
        guard let members = btf_members(t) else { return }
        for i in 0..<Int(btf_vlen(t)) {
            let m = members[i]
            let cName = name(offset: m.name_off)
            if skipTask && i == 0 { continue }
            // Padding (pad, pad2, __pad) is no field.
            if cName.wholeMatch(of: /_*pad\d*/) != nil { continue }
            let offset = base + Int(btf_member_bit_offset(t, UInt32(i))) / 8
            if btf_member_bitfield_size(t, UInt32(i)) != 0 {
                skipped.append((cName, "a bit field"))
                continue
            }
            guard let (_, mt) = resolved(m.type) else { skipped.append((cName, "its type is broken")); continue }
            let k = kind(mt)
            if cName.isEmpty {
                if k == .structure || k == .union { walk(mt, base: offset, nested: true, skipTask: false, into: &fields, skipped: &skipped) }
                continue
            }
            var swiftName = Naming.identifier(cName)
            if EventViewModel.reserved.contains(swiftName) { swiftName = Naming.identifier("field_" + cName) }
            let field: EventViewModel.Kind
            switch k {
            case .integer, .enumeration, .enumeration64:
                guard case .name(let type) = types.swiftName(m.type) else { skipped.append((cName, "no Swift integer type")); continue }
                field = .scalar(type: type)
            case .array:
                guard let a = btf_array(mt), let (_, et) = resolved(a.pointee.type) else { skipped.append((cName, "its type is broken")); continue }
                let count = Int(a.pointee.nelems)
                if kind(et) == .integer && et.pointee.size == 1 {
                    field = name(et) == "char" ? .string(length: count) : .bytes(length: count)
                } else if kind(et) == .integer || kind(et) == .enumeration, case .name(let type) = types.swiftName(a.pointee.type) {
                    field = .element(type: type, stride: Int(et.pointee.size), count: count)
                } else {
                    skipped.append((cName, "an array of \(types.cName(a.pointee.type))"))
                    continue
                }
            case .structure, .union:
                guard case .name(let type) = types.swiftName(m.type) else { skipped.append((cName, "its type is not declared in the probe's headers")); continue }
                field = .value(type: type)
            default:
                skipped.append((cName, "a \(types.cName(m.type)), which has no Swift value"))
                continue
            }
            var unimported = false
            if k == .array, let a = btf_array(mt), a.pointee.nelems > 4096 { unimported = true }
            fields.append(.init(cName: cName, swiftName: swiftName, offset: offset, kind: field, nested: nested || unimported))
        }
    }
}

enum EventViewWriter {
    static func text(_ views: [EventViewModel], module: String, objects: [String]) -> String {
        var o = "// Generated by bpf-skeleton from the BTF of \(objects.joined(separator: ", ")). Do not edit:\n"
        o += "// add what a field means in an extension of the view.\n"
        o += "import SwiftBPF\n"
        if !module.isEmpty { o += "import \(module)\n" }
        for v in views {
            o += "\n/// A `struct \(v.cName)` record, read in place from the ring buffer: valid\n"
            o += "/// only while the handler that received it runs.\n"
            o += "public struct \(v.viewName): TaskEvent {\n"
            o += "    public let record: RecordReader<\(v.cName)>\n"
            if v.minimumSize < v.size {
                o += "    /// The fields before the last, a string probes send only the used part of.\n"
            } else {
                o += "    /// The whole struct.\n"
            }
            o += "    public static let minimumSize = \(v.minimumSize)\n\n"
            o += "    /// nil for a record too short to be this event.\n"
            o += "    @inlinable\n"
            o += "    public init?(_ bytes: UnsafeRawBufferPointer) {\n"
            o += "        guard let r = RecordReader<\(v.cName)>(bytes, minimumSize: Self.minimumSize) else { return nil }\n"
            o += "        record = r\n"
            o += "    }\n\n"
            o += "    @inlinable public var task: TaskInfo { TaskInfo(unchecked: record.bytes) }\n"
            for f in v.fields {
                o += "    /// `\(f.cName)`\n"
                switch f.kind {
                case .scalar(let type):
                    o += "    @inlinable public var \(f.swiftName): \(type) { record.load(at: \(f.offset)) }\n"
                case .value(let type):
                    o += "    @inlinable public var \(f.swiftName): \(type) { record.load(at: \(f.offset)) }\n"
                case .string(let length):
                    o += "    @inlinable public var \(f.swiftName): UnsafeRawBufferPointer { record.string(at: \(f.offset), length: \(length)) }\n"
                case .bytes(let length):
                    o += "    @inlinable public var \(f.swiftName): UnsafeRawBufferPointer { record.bytes(at: \(f.offset), count: \(length)) }\n"
                case .element(let type, let stride, let count):
                    o += "    @inlinable public func \(f.swiftName)(_ index: Int) -> \(type) {\n"
                    o += "        index >= 0 && index < \(count) ? record.load(at: \(f.offset) + index * \(stride)) : 0\n"
                    o += "    }\n"
                }
            }
            for (name, why) in v.skipped { o += "    // `\(name)`: no accessor (\(why)); read it through `record`.\n" }
            o += "}\n"
        }
        o += "\n/// The event views generated for this module, with a check of the offsets\n"
        o += "/// they read at against the C layout Swift imports.\n"
        o += "public enum GeneratedEventViews {\n"
        o += "    public static let all: [any TaskEvent.Type] = [\(views.map { "\($0.viewName).self" }.joined(separator: ", "))]\n\n"
        o += "    /// Each field whose offset, or struct whose size, differs between the\n"
        o += "    /// probes' BTF and Swift's import of the header: empty when they agree.\n"
        o += "    public static func layoutMismatches() -> [String] {\n"
        o += "        var out: [String] = []\n"
        for v in views {
            o += "        if MemoryLayout<\(v.cName)>.size != \(v.size) { out.append(\"\(v.cName): size \\(MemoryLayout<\(v.cName)>.size), BTF \(v.size)\") }\n"
            for f in v.fields where !f.nested {
                o += "        if MemoryLayout<\(v.cName)>.offset(of: \\.\(f.cName)) != \(f.offset) { out.append(\"\(v.cName).\(f.cName): not at \(f.offset)\") }\n"
            }
        }
        o += "        return out\n"
        o += "    }\n"
        o += "}\n"
        return o
    }
}
