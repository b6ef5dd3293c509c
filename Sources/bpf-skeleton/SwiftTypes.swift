// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Foundation
import SwiftBPF

/// Which BTF types Swift can name, and how: integers and enums as Swift
/// integers, structs and typedefs by their C names when the probe's headers
/// declare them (so the Swift module imports them). When it cannot, the
/// reason, for the build warning.
struct SwiftTypes {
    let btf: OpaquePointer
    /// Struct, union and typedef names the probe's headers declare.
    let knownStructs: Set<String>

    enum Naming { case name(String), unnamed(String) }

    private func type(_ id: UInt32) -> UnsafePointer<btf_type>? { btf__type_by_id(btf, id) }
    private func kind(_ t: UnsafePointer<btf_type>) -> BTFKind { BTFKind(rawValue: btf_kind(t)) ?? .unknown }
    private func name(_ t: UnsafePointer<btf_type>) -> String { String(cString: btf__name_by_offset(btf, t.pointee.name_off)) }

    /// A readable C spelling, for warnings.
    func cName(_ id: UInt32) -> String {
        guard let t = type(id) else { return "type \(id)" }
        switch kind(t) {
        case .structure: return "struct \(name(t))"
        case .union: return "union \(name(t))"
        case .pointer: return cName(t.pointee.type) + " *"
        case let k where k.isModifier: return cName(t.pointee.type)
        default: return name(t).isEmpty ? "an anonymous type" : name(t)
        }
    }

    /// The Swift spelling of type `id`, or why there is none.
    func swiftName(_ id: UInt32) -> Naming {
        guard id > 0, let t = type(id) else { return .unnamed("it has no BTF type") }
        switch kind(t) {
        case let k where k.isModifier:
            return swiftName(t.pointee.type)
        case .typedef:
            guard let target = type(t.pointee.type) else { return .unnamed("its typedef is broken") }
            let targetKind = kind(target)
            if (targetKind == .structure || targetKind == .union) && name(target).isEmpty {
                return knownStructs.contains(name(t)) ? .name(name(t)) : .unnamed("'\(name(t))' is not declared in the probe's headers")
            }
            return swiftName(t.pointee.type)
        case .integer:
            let encoding = btf_int_encoding(t)
            if encoding & 4 != 0 { return .name("Bool") }  // BTF_INT_BOOL
            return integer(size: t.pointee.size, signed: encoding & 1 != 0).map { .name($0) } ?? .unnamed("\(cName(id)) has no Swift integer type")
        case .enumeration, .enumeration64:
            return integer(size: t.pointee.size, signed: btf_kflag(t)).map { .name($0) } ?? .unnamed("\(cName(id)) has no Swift integer type")
        case .structure, .union:
            guard !name(t).isEmpty, knownStructs.contains(name(t)) else {
                return .unnamed("\(cName(id)) is not declared in the probe's headers, so Swift cannot name it")
            }
            guard importsWhole(id) else { return .unnamed("\(cName(id)) has an array of over 4096 elements, which Swift does not import") }
            return .name(name(t))
        default:
            return .unnamed("\(cName(id)) is not a type Swift can hold (pointer, array or function)")
        }
    }

    private func integer(size: UInt32, signed: Bool) -> String? {
        switch size {
        case 1: signed ? "Int8" : "UInt8"
        case 2: signed ? "Int16" : "UInt16"
        case 4: signed ? "Int32" : "UInt32"
        case 8: signed ? "Int64" : "UInt64"
        default: nil
        }
    }

    /// Swift imports C arrays of at most 4096 elements; a struct with a
    /// larger one arrives without that field (and is not BitwiseCopyable).
    private func importsWhole(_ id: UInt32, depth: Int = 0) -> Bool {
        guard let t = type(id), depth < 16 else { return true }
        switch kind(t) {
        case .array:
            guard let a = btf_array(t) else { return true }
            return a.pointee.nelems <= 4096 && importsWhole(a.pointee.type, depth: depth + 1)
        case .structure, .union:
            guard let members = btf_members(t) else { return true }
            return UnsafeBufferPointer(start: members, count: Int(btf_vlen(t))).allSatisfy { importsWhole($0.type, depth: depth + 1) }
        case let k where k.isModifier || k == .typedef:
            return importsWhole(t.pointee.type, depth: depth + 1)
        default:
            return true
        }
    }

    /// The named structs, unions and typedefs of `btf` that the headers in
    /// `directories` declare (`struct NAME {`, `union NAME {`, `} NAME;`):
    /// those the probe's Swift module imports.
    static func structsDeclared(in directories: [String], btf: OpaquePointer) -> Set<String> {
        var texts: [String] = []
        for dir in directories {
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            where file.hasSuffix(".h") && !file.hasSuffix(".bpf.h") && file != "vmlinux.h" {
                let text = (try? String(contentsOfFile: dir + "/" + file, encoding: .utf8)) ?? ""
                texts.append(text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " "))
            }
        }
        var known = Set<String>()
        for id in 1..<btf__type_cnt(btf) {
            guard let t = btf__type_by_id(btf, id) else { continue }
            let kind = BTFKind(rawValue: btf_kind(t))
            guard kind == .structure || kind == .union || kind == .typedef else { continue }
            let name = String(cString: btf__name_by_offset(btf, t.pointee.name_off))
            guard !name.isEmpty else { continue }
            if texts.contains(where: { $0.contains("struct \(name) {") || $0.contains("union \(name) {") || $0.contains("} \(name);") }) {
                known.insert(name)
            }
        }
        return known
    }
}
