// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Foundation
import TestSupport
import Testing
import ToolSupport
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

@Suite struct Flags {
    @Test func sharedFlagsBecomeTheKernelFilter() throws {
        let o = try TraceOptions.parse(["-p", "\(getpid())", "-t", "7", "-c", "bash", "-u", "root", "-x", "-T", "--json", "--duration", "2.5"])
        let f = o.filter
        #expect(f.pid == UInt32(getpid()))
        #expect(f.tid == 7)
        #expect(f.uid == 0)
        #expect(f.failed_only == 1)
        #expect(f.use_comm == 1)
        let comm = withUnsafeBytes(of: f.comm) { Array($0.prefix { $0 != 0 }) }
        #expect(comm == Array("bash".utf8))
        #expect(o.json && o.timestamp && o.duration == 2.5)
    }

    @Test func defaultsFilterNothing() throws {
        let f = try TraceOptions.parse([]).filter
        #expect(f.pid == 0 && f.tid == 0 && f.uid == UInt32.max && f.failed_only == 0 && f.use_comm == 0 && f.use_cgroup == 0)
        #expect(try TraceOptions.parse([]).bufferBytes == 8 << 20)
    }

    @Test(arguments: [["-p", "0"], ["-t", "-3"], ["-c", ""], ["-c", "sixteen-chars-xx"], ["--buffer-size", "6"],
                      ["--duration", "0"], ["-u", "not-a-user-anywhere"]])
    func invalidValuesAreRejected(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try TraceOptions.parse(arguments) }
    }
}

@Suite struct ErrorWording {
    /// A libbpf failure names the map, program or path it concerns, not
    /// only the errno that libbpf's closing line repeats.
    @Test func libbpfLinesThatNameTheObjectWin() {
        let lines = ["libbpf: map 'rules': failed to create: -2",
                     "libbpf: failed to load object 'pktfilter'", ""]
        #expect(BPFError.mostSpecific(lines) == "map 'rules': failed to create: -2")
        let error = BPFError.system("cannot load BPF object pktfilter", -ENOENT, libbpfMessages: lines)
        #expect(error.message == "cannot load BPF object pktfilter: No such file or directory (libbpf: map 'rules': failed to create: -2)")
        #expect(BPFError.mostSpecific(["libbpf: something went wrong"]) == "something went wrong")
        #expect(BPFError.mostSpecific([]) == nil)
    }
}

@Suite struct Hardening {
    /// Every per-CPU map type reads one value per CPU; the cgroup-storage
    /// one was missing, so a lookup's buffer held one CPU's value.
    @Test func everyPerCPUMapTypeIsPerCPU() {
        #expect(MapType.perCPUHash.isPerCPU && MapType.perCPUArray.isPerCPU && MapType.lruPerCPUHash.isPerCPU)
        #expect(MapType.perCPUCgroupStorage.isPerCPU)
        #expect(!MapType.hash.isPerCPU && !MapType.array.isPerCPU && !MapType.ringBuffer.isPerCPU)
    }

    /// The errno of an error is the failed call's, even when building the
    /// message (here, a call that fails differently) changes errno.
    @Test func errnoIsTakenBeforeTheMessageIsBuilt() {
        func clobber() -> String { errno = EBADF; return "map 'x'" }
        errno = ENOENT
        let error = BPFError.fromErrno("lookup in \(clobber())")
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.message == "lookup in map 'x': No such file or directory")
    }

    /// A failed CPU count is an error, not "1 CPU".
    @Test func cpuCountFailuresThrow() throws {
        #expect(try Kernel.cpuCount(4) == 4)
        let error = #expect(throws: BPFError.self) { try Kernel.cpuCount(-ENOENT) }
        #expect(error?.message.contains("possible CPUs") == true)
        #expect(throws: BPFError.self) { try Kernel.cpuCount(0) }
    }
}

@Suite struct SectionNames {
    @Test func kprobeSectionTargetsWithOffsets() throws {
        #expect(try Program.kprobeTarget("vfs_mkdir") == ("vfs_mkdir", 0))
        #expect(try Program.kprobeTarget("vfs_mkdir+0x10") == ("vfs_mkdir", 16))
        #expect(try Program.kprobeTarget("do_sys_open+9") == ("do_sys_open", 9))
        #expect(throws: BPFError.self) { try Program.kprobeTarget("vfs_mkdir+zz") }
    }
}

/// Names read from the running kernel's BTF instead of tables.
@Suite struct KernelTypeNames {
    @Test func dropReasonsAndRequestFlagsComeFromTheKernel() throws {
        let reasons = try DropReasons.current()
        let all = Dictionary(reasons.all.map { ($0.name, $0.number) }, uniquingKeysWith: { a, _ in a })
        for name in ["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "TCP_CSUM"] { #expect(all[name] != nil, "\(name) in \(all.keys.sorted())") }
        #expect(try reasons.number(of: "netfilter_drop") == all["NETFILTER_DROP"])
        #expect(reasons.name(UInt32(all["NO_SOCKET"] ?? 0)) == "NO_SOCKET")
        // SKB_CONSUMED joined the enum in 6.2; before, freed-after-use
        // packets went to consume_skb only, never to kfree_skb.
        let consumed = try KernelTypes.enumerators(of: "skb_drop_reason").first { $0.name == "SKB_CONSUMED" }?.value
        #expect(reasons.consumed == consumed && (consumed == nil || consumed != all["NOT_SPECIFIED"]), "SKB_CONSUMED is told apart where it exists")

        let flags = try BlockRequestFlags.current()
        let write = UInt32(try #require(KernelTypes.enumerators(of: "req_op").first { $0.name == "REQ_OP_WRITE" }).value)
        let syncBit = try #require(KernelTypes.enumerators(of: "req_flag_bits").first { $0.name == "__REQ_SYNC" }).value
        let fuaBit = try #require(KernelTypes.enumerators(of: "req_flag_bits").first { $0.name == "__REQ_FUA" }).value
        let syncFUAWrite = write | 1 << UInt32(syncBit) | 1 << UInt32(fuaBit)
        #expect(flags.operation(syncFUAWrite) == "WRITE" && flags.describe(syncFUAWrite) == "WRITE SYNC|FUA" && flags.rwbs(syncFUAWrite) == "WFS")
    }

    @Test func anEnumTheKernelLacksIsNamed() {
        #expect {
            _ = try KernelTypes.enumerators(of: "no_such_enum_here")
        } throws: { error in
            "\(error)".contains("no enum no_such_enum_here") && "\(error)".contains(Kernel.release)
        }
    }
}

/// The ring buffer's safety poll and the probe contract's statement of it
/// (swiftbpf.h, where probe authors read it) are one number.
@Suite struct RingBufferContract {
    @Test func safetyPollMatchesTheProbeContract() {
        #expect(RingBuffer.safetyPoll == SWIFTBPF_SAFETY_POLL_NS)
        // It must outlast the wakeup interval plus a tick: at HZ=100 that
        // is 2 ticks (1/40 s rounded down) plus one, 30 ms.
        #expect(RingBuffer.safetyPoll > 1_000_000_000 / UInt64(SWIFTBPF_WAKEUPS_PER_SECOND) + 10_000_000)
    }
}
