// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import ToolSupport

public let tool = ToolEntry(SysNoop.self)

struct SysNoop: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysnoop",
        abstract: "Trace any syscalls by name, with their arguments, result and latency.",
        discussion: """
        Arguments are named and typed as the running kernel's own tracepoint format \
        files describe them (syscalls:sys_enter_NAME): C strings are fetched as strings \
        (the first two of a call), pointers shown in hex, numbers as numbers, modes in octal.

        Examples:
          sysnoop mkdir unlinkat           two syscalls, system wide
          sysnoop kill -x                  failed kill(2) calls
          sysnoop openat --json -p 1234    one process, as JSON lines
        """
    )

    @Argument(help: ArgumentHelp("Syscalls to trace, by name (e.g. openat).", valueName: "syscall"))
    var syscalls: [String]

    @OptionGroup(title: "Tracing options")
    var trace: TraceOptions

    func validate() throws {
        if syscalls.isEmpty { throw ValidationError("name at least one syscall") }
        if syscalls.count > Int(SYSNOOP_MAX_SYSCALLS) { throw ValidationError("at most \(SYSNOOP_MAX_SYSCALLS) syscalls at once") }
        if Set(syscalls).count != syscalls.count { throw ValidationError("a syscall is named twice") }
    }

    func run() throws {
        let table = try SyscallTable.current()
        let traceable = table.traceable.sorted()
        var formats: [SyscallFormat] = []
        for name in syscalls {
            guard table.traceable.contains(name) else {
                let near = table.suggestions(for: name, among: traceable)
                throw ValidationError("no syscall tracepoint '\(name)' in this kernel"
                                      + (near.isEmpty ? "" : "; did you mean \(near.joined(separator: ", "))?"))
            }
            formats.append(SyscallFormat(name: name, arguments: try TracepointFormat.load(category: "syscalls", name: "sys_enter_\(name)").syscallArguments))
        }

        let session = try TraceSession(tool: "sysnoop", options: trace)
        // Attach cookies (Linux 5.15) say which syscall fired; before them
        // the probe looks the syscall's number up.
        let cookies = Kernel.supports(.attachCookies)
        var open = try SysnoopSkeleton.open()
        open.indexByNumber = cookies ? 0 : 1
        let probe = try session.load(open)
        session.chose(cookies ? "attach cookies say which syscall fired" : "no attach cookies (Linux 5.15): the syscall's number says which fired")
        let specs = probe.typed.specs
        for (i, f) in formats.enumerated() { try specs.update(UInt32(i), f.spec) }
        if !cookies {
            for (i, name) in syscalls.enumerated() {
                guard let number = table.numberByName[name] else {
                    throw BPFError(.notFound, "no number for syscall '\(name)' on this machine, which sysnoop needs before Linux 5.15")
                }
                try probe.typed.specIndex.update(number, UInt32(i))
            }
        }

        try session.stream(probe, format: EventTable(SysnoopFields.all(syscalls: formats), options: trace), what: syscalls.joined(separator: ", ")) { probe throws(BPFError) in
                var links: [Link] = []
                for (i, name) in syscalls.enumerated() {
                    links.append(try probe.programs.syscallEnter.attachTracepoint(category: "syscalls", name: "sys_enter_\(name)", cookie: cookies ? UInt64(i) : 0))
                    links.append(try probe.programs.syscallExit.attachTracepoint(category: "syscalls", name: "sys_exit_\(name)", cookie: cookies ? UInt64(i) : 0))
                }
                return links
        }
    }
}

/// One requested syscall: its name and argument fields.
struct SyscallFormat: Sendable {
    var name: String
    var arguments: [TracepointFormat.Field]

    /// Which arguments the probe fetches as strings (the first two).
    var stringSlots: [Int] { Array(arguments.indices.filter { arguments[$0].isString }.prefix(Int(SYSNOOP_STRINGS))) }

    var spec: sysnoop_spec {
        var s = sysnoop_spec()
        let slots = stringSlots
        s.string_arg.0 = slots.count > 0 ? UInt8(slots[0] + 1) : 0
        s.string_arg.1 = slots.count > 1 ? UInt8(slots[1] + 1) : 0
        s.nargs = UInt8(min(arguments.count, 6))
        return s
    }
}

/// sysnoop's fields, in text and JSON alike: CALL is the call as strace
/// writes it, `name(arg=value, ...) = result`.
enum SysnoopFields {
    static func all(syscalls: [SyscallFormat]) -> [Field<SysnoopEvent>] {
        let decoder = ArgumentDecoder(syscalls: syscalls)
        return [
            .pid,
            .comm(),
            .string("syscall", "SYSCALL") { decoder.name(of: $0) }.jsonOnly,
            .number("nr", "NR") { $0.number }.jsonOnly,
            Field(key: "latency_ns", heading: "LAT(us)", width: 10,
                  text: { e, out, _ in out.append(String(format: "%.1f", Double(e.latencyNanoseconds) / 1000)) },
                  json: { e, o, _ in o.field("latency_ns", e.latencyNanoseconds) }),
            Field(key: "args", heading: "CALL",
                  text: { e, out, _ in decoder.writeCall(e, to: out) },
                  json: { e, o, _ in
                      o.object("args", decoder.jsonArguments(e))
                      o.result(e.result)
                  }),
        ]
    }
}

/// Turns an event's raw argument registers into named, typed values, by
/// the kernel's format of the call's tracepoint.
struct ArgumentDecoder: Sendable {
    var syscalls: [SyscallFormat]

    func name(of e: SysnoopEvent) -> String {
        Int(e.index) < syscalls.count ? syscalls[Int(e.index)].name : "syscall_\(e.number)"
    }

    /// An argument as a person reads it, and as a JSON value.
    enum Value {
        case string([UInt8], truncated: Bool), number(Int64), unsigned(UInt64), octal(UInt64), hex(UInt64), pointer(UInt64)
    }

    func values(_ e: SysnoopEvent) -> [(String, Value)] {
        guard Int(e.index) < syscalls.count else { return [] }
        let f = syscalls[Int(e.index)]
        let raw = e.arguments, slots = f.stringSlots
        return f.arguments.prefix(6).enumerated().map { i, field in
            let r = raw[i]
            if let slot = slots.firstIndex(of: i), let s = e.string(slot) {
                return (field.name, .string(Array(s), truncated: e.stringTruncated(slot)))
            }
            if field.isPointer { return (field.name, .pointer(r)) }
            let (signed, bits) = field.cIntegerKind
            let masked = bits >= 64 ? r : r & ((1 << UInt64(bits)) - 1)
            if field.type.contains("mode_t") || field.name == "mode" { return (field.name, .octal(masked)) }
            if field.name.contains("flags") { return (field.name, .hex(masked)) }
            if signed {
                let v = bits >= 64 ? Int64(bitPattern: r) : Int64(bitPattern: r << UInt64(64 - bits)) >> Int64(64 - bits)
                return (field.name, .number(v))
            }
            return (field.name, .unsigned(masked))
        }
    }

    func jsonArguments(_ e: SysnoopEvent) -> JSONObject {
        var a = JSONObject()
        for (name, v) in values(e) {
            switch v {
            case .string(let s, _): a.field(name, bytes: s)
            case .number(let n): a.field(name, n)
            case .unsigned(let n): a.field(name, n)
            case .octal(let n), .hex(let n): a.field(name, n)
            case .pointer(let p): a.field(name, "0x" + String(p, radix: 16))
            }
        }
        return a
    }

    func writeCall(_ e: SysnoopEvent, to out: Output) {
        out.append(name(of: e) + "(")
        for (i, (name, v)) in values(e).enumerated() {
            if i > 0 { out.append(", ") }
            out.append(name + "=")
            switch v {
            case .string(let s, let cut):
                out.append(byte: UInt8(ascii: "\""))
                s.withUnsafeBytes { out.appendEscapedForQuotes($0) }
                out.append(cut ? "\"..." : "\"")
            case .number(let n): out.append(String(n))
            case .unsigned(let n): out.append(String(n))
            case .octal(let n): out.append(n == 0 ? "0" : "0" + String(n, radix: 8))
            case .hex(let n): out.append("0x" + String(n, radix: 16))
            case .pointer(let p): out.append("0x" + String(p, radix: 16))
            }
        }
        out.append(") = " + (ErrnoName.ifFailed(e.result).map { "-1 \($0)" } ?? String(e.result)))
    }
}
