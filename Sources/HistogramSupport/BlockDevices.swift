// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import Foundation
import SwiftBPF
import ToolSupport

/// Block devices by number and name, from /sys. A device number here is
/// the kernel's internal form, major << 20 | minor, as the disk probes
/// report it.
public enum BlockDevices {
    /// The device's name ("vda", "loop3"), or "MAJ:MIN" when /sys does not know it.
    public static func name(of dev: UInt32) -> String {
        let majorMinor = "\(dev >> 20):\(dev & 0xfffff)"
        guard let uevent = try? String(contentsOfFile: "/sys/dev/block/\(majorMinor)/uevent", encoding: .utf8) else { return majorMinor }
        for line in uevent.split(separator: "\n") where line.hasPrefix("DEVNAME=") { return String(line.dropFirst(8)) }
        return majorMinor
    }

    /// The number of the disk called `name` (as /sys/class/block lists it,
    /// with or without "/dev/"); a usage error naming the disks there are
    /// when there is none.
    public static func number(of name: String) throws -> UInt32 {
        let base = name.hasPrefix("/dev/") ? String(name.dropFirst(5)) : name
        guard !base.contains("/"), let text = try? String(contentsOfFile: "/sys/class/block/\(base)/dev", encoding: .utf8) else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/block")) ?? []).sorted()
            throw ValidationError("no disk '\(name)'" + (known.isEmpty ? "" : " (there are: \(known.joined(separator: ", ")))"))
        }
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt32($0) }
        guard parts.count == 2 else { throw ValidationError("cannot read the number of disk '\(name)' from /sys/class/block/\(base)/dev") }
        return parts[0] << 20 | parts[1]
    }
}

/// A block request's operation and flags (`cmd_flags`), named from the
/// running kernel's BTF (`enum req_op`, `enum req_flag_bits`): their
/// numbering has changed between kernel versions.
public struct BlockRequestFlags: Sendable {
    /// Operation number → name without its prefix ("READ", "WRITE").
    let operations: [Int64: String]
    /// Flag bit → name without its underscores and prefix ("SYNC", "FUA").
    let bits: [(bit: Int64, name: String)]
    /// The low bits that hold the operation.
    let operationMask: UInt32

    public static func current() throws(BPFError) -> BlockRequestFlags {
        // `enum req_opf` until 5.19, `enum req_op` since.
        let found = try KernelTypes.enumerations(named: ["req_op", "req_opf", "req_flag_bits"])
        guard let ops = found["req_op"] ?? found["req_opf"], let bits = found["req_flag_bits"] else {
            throw BPFError(.notFound, "this kernel (\(Kernel.release)) has no enum req_op (or req_opf) and req_flag_bits in its BTF")
        }
        // The first flag bit follows the operation's bits (REQ_OP_BITS).
        let opBits = bits.map(\.value).min() ?? 8
        return BlockRequestFlags(
            operations: Dictionary(ops.map { ($0.value, String($0.name.dropFirst("REQ_OP_".count))) }, uniquingKeysWith: { a, _ in a }),
            bits: bits.filter { $0.name.hasPrefix("__REQ_") && $0.name != "__REQ_NR_BITS" }
                .map { ($0.value, String($0.name.dropFirst("__REQ_".count))) },
            operationMask: UInt32((1 << opBits) - 1))
    }

    public func operation(_ flags: UInt32) -> String { operations[Int64(flags & operationMask)] ?? "OP\(flags & operationMask)" }

    public func flagNames(_ flags: UInt32) -> [String] {
        bits.filter { $0.bit < 32 && flags & (1 << UInt32($0.bit)) != 0 }.map(\.name)
    }

    /// A short form like the kernel's block tracepoints print: R, W, D, F
    /// and then F (FUA), A (read-ahead), S (sync), M (metadata).
    public func rwbs(_ flags: UInt32) -> String {
        var s: String
        switch operation(flags) {
        case "READ": s = "R"
        case "WRITE": s = "W"
        case "FLUSH": s = "F"
        case "DISCARD": s = "D"
        case "SECURE_ERASE": s = "DE"
        default: s = "N"
        }
        let names = Set(flagNames(flags))
        for (flag, letter) in [("FUA", "F"), ("RAHEAD", "A"), ("SYNC", "S"), ("META", "M")] where names.contains(flag) { s += letter }
        return s
    }

    /// "WRITE SYNC|FUA", for a histogram's heading.
    public func describe(_ flags: UInt32) -> String {
        let names = flagNames(flags)
        return operation(flags) + (names.isEmpty ? "" : " " + names.joined(separator: "|"))
    }
}
