// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import Symbols
import TestSupport
import Testing

/// The symbolizer against files whose symbols nm reports.
@Suite struct Symbolization {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// nm's address of each defined text symbol.
    static func nm(_ path: String, dynamic: Bool = false) throws -> [String: UInt64] {
        let r = try Command.run(["nm"] + (dynamic ? ["-D"] : []) + ["--defined-only", path])
        var out: [String: UInt64] = [:]
        for line in r.output.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, "tTwW".contains(f[1]), let a = UInt64(f[0], radix: 16) { out[String(f[2])] = a }
        }
        return out
    }

    static func build(_ args: [String], output: String) throws {
        let r = try Command.run(["cc", "-O0", "-fno-omit-frame-pointer"] + args + ["-o", output, fixtures + "/stackwork.c"])
        try #require(r.status == 0, "cc: \(r.output)")
    }

    @Test func kallsymsSampleIsSearchedByAddress() throws {
        let sample = """
        0000000000000000 A fixed_percpu_data
        ffffffff81000000 T _stext
        ffffffff81001000 t do_one_initcall
        ffffffff81002000 D some_data
        ffffffffc0a01000 t nf_hook_slow\t[nf_tables]
        ffffffff81001800 T do_nanosleep
        """
        let k = try KernelSymbols(kallsyms: sample)
        #expect(k.count == 4, "data and absolute symbols are not code")
        #expect(k.symbol(at: 0xffffffff81001804)! == ("do_nanosleep", 4, nil))
        #expect(k.symbol(at: 0xffffffff810017ff)!.name == "do_one_initcall")
        #expect(k.symbol(at: 0xffffffffc0a01010)! == ("nf_hook_slow", 0x10, "nf_tables"))
        #expect(k.symbol(at: 0xffffffff80000000) == nil)
        #expect(throws: KernelSymbols.Unavailable.self) { try KernelSymbols(kallsyms: "0000000000000000 T hidden\n") }
    }

    @Test func executablePIEAndSharedLibrary() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        try Self.build(["-no-pie"], output: dir + "/exec")
        try Self.build(["-pie", "-fPIE"], output: dir + "/pie")
        try Self.build(["-shared", "-fPIC"], output: dir + "/lib.so")
        for file in ["exec", "pie", "lib.so"] {
            let elf = try ELFSymbols(path: dir + "/" + file)
            #expect(elf.hasSymbolTable && elf.buildID?.count == 40, "\(file)")
            for (name, address) in try Self.nm(dir + "/" + file) where ["hot_parent", "hot_leaf_a", "blocked_here", "mkdir_from_beta"].contains(name) {
                let hit = elf.symbol(at: address + 3)
                #expect(hit?.name == name && hit?.offset == 3, "\(file): \(name) at \(String(address, radix: 16)) gave \(String(describing: hit))")
            }
        }
    }

    @Test func strippedFilesNameOnlyTheirExports() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        try Self.build(["-shared", "-fPIC"], output: dir + "/lib.so")
        let before = try Self.nm(dir + "/lib.so")
        #expect(try Command.run(["strip", dir + "/lib.so"]).status == 0)
        let elf = try ELFSymbols(path: dir + "/lib.so")
        #expect(!elf.hasSymbolTable)
        // Exported functions stay named (from .dynsym).
        #expect(elf.symbol(at: before["hot_parent"]!)?.name == "hot_parent")
        // An executable stripped of everything: frames are [unknown] with the file named.
        try Self.build(["-pie", "-fPIE", "-s"], output: dir + "/bare")
        let bare = try ELFSymbols(path: dir + "/bare")
        #expect(bare.symbol(at: try Self.nm(dir + "/lib.so", dynamic: true)["hot_parent"] ?? 0)?.name != "hot_parent")
        let frame = Frame(address: 0x1234, origin: .user, function: nil, offset: 0, module: "bare", note: nil)
        #expect(frame.name == "[unknown] (bare)")
    }

    @Test func userAddressesOfALiveProcessThroughItsMaps() throws {
        // This test process: a function of the libc it maps, by address.
        let symbolizer = Symbolizer(kernelSymbols: false)
        let address = UInt64(UInt(bitPattern: unsafeBitCast(getpid as @convention(c) () -> pid_t, to: UnsafeRawPointer.self)))
        let frame = symbolizer.userFrame(address, pid: getpid())
        #expect(frame.function == "getpid" || frame.function == "__getpid", "\(frame)")
        #expect(frame.module?.hasPrefix("libc.so") == true, "\(frame)")
        let gone = symbolizer.userFrame(0x1000, pid: 999_999_999)
        #expect(gone.name == "[unknown] (exited)")
    }

    @Test func namesDemangle() {
        #expect(Demangler.demangle("$s4main8hotLeafAyyF") == "main.hotLeafA() -> ()")
        #expect(Demangler.demangle("_ZN5swift7runtime9AccessSet6insertEv") == "swift::runtime::AccessSet::insert()")
        #expect(Demangler.demangle("hot_parent") == "hot_parent")
    }
}
