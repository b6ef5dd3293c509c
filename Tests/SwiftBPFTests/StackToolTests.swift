// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// profile and stackcount on known work (Tests/Fixtures),
/// built here with frame pointers.
extension Privileged {
    @Suite struct StackTools {
        init() throws { _ = try Privileged() }

        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path

        /// stackwork.c, compiled with frame pointers into a fresh directory.
        static func stackwork() throws -> String {
            let out = try TestEnvironment.temporaryDirectory() + "/stackwork"
            let cc = try Command.run(["cc", "-O0", "-g0", "-fno-omit-frame-pointer", "-o", out, fixtures + "/stackwork.c"])
            try #require(cc.status == 0, "cc: \(cc.output)")
            return out
        }

        /// Folded lines as (frames, count).
        static func folded(_ text: String) -> [(frames: [String], count: Int)] {
            text.split(separator: "\n").compactMap { line in
                guard let space = line.lastIndex(of: " "), let n = Int(line[line.index(after: space)...]) else { return nil }
                return (line[..<space].split(separator: ";").map(String.init), n)
            }
        }

        @Test func profileFindsTheHotFunctionsInTheirShares() throws {
            let work = try Self.stackwork()
            let hot = try ToolRun(absolute: work, ["hot", "6"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            let pid = hot.process.processIdentifier
            let svg = try TestEnvironment.temporaryDirectory() + "/cpu.svg"
            let run = try ToolRun("profile", ["-p", "\(pid)", "-F", "99", "--duration", "3", "--folded", "--svg", svg])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let stacks = Self.folded(run.stdout.text)
            let total = stacks.reduce(0) { $0 + $1.count }
            let under = stacks.filter { $0.frames.contains("hot_parent") }.reduce(0) { $0 + $1.count }
            let a = stacks.filter { $0.frames.last == "hot_leaf_a" }.reduce(0) { $0 + $1.count }
            let b = stacks.filter { $0.frames.last == "hot_leaf_b" }.reduce(0) { $0 + $1.count }
            print("profile: \(total) samples, \(under) under hot_parent, a \(a), b \(b)")
            #expect(total >= 150, "about 3 s at 99 Hz: \(run.stdout.text)")
            #expect(Double(under) >= 0.8 * Double(total), "\(run.stdout.text)")
            #expect(a + b > 0 && abs(Double(a) / Double(a + b) - 0.7) <= 0.15, "a:b \(a):\(b)")
            // The frames are named exactly, root first.
            #expect(stacks.contains { Array($0.frames.suffix(3)) == ["main", "hot_parent", "hot_leaf_a"] && $0.frames.first == "stackwork" },
                    "\(run.stdout.text)")
            let picture = try String(contentsOfFile: svg, encoding: .utf8)
            #expect(picture.contains("<title>profile: on-CPU stacks, 99 Hz</title>") && picture.contains(">hot_leaf_a ("))
        }

        @Test func swiftNamesAreDemangled() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let build = try Command.run(["swiftc", "-Onone", "-parse-as-library", "-o", dir + "/hot", Self.fixtures + "/hot.swift"])
            try #require(build.status == 0, "swiftc: \(build.output)")
            let hot = try ToolRun(absolute: dir + "/hot", ["6"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            let run = try ToolRun("profile", ["-p", "\(hot.process.processIdentifier)", "-F", "99", "--duration", "2", "--folded", "-U"])
            #expect(run.waitUntilAttached() && run.finish() == 0, "\(run.stderr.text)")
            let names = Set(Self.folded(run.stdout.text).flatMap(\.frames))
            #expect(names.contains("hot.hotParent() -> ()") && names.contains("hot.hotLeafA() -> ()"), "\(names.sorted())")
        }

        @Test func stackcountCountsEachCallingStackExactly() throws {
            let work = try Self.stackwork()
            let dir = try TestEnvironment.temporaryDirectory()
            let run = try ToolRun("stackcount", ["syscalls:sys_enter_mkdir", "-c", "stackwork", "-U", "--folded"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let r = try Command.run([work, "mkdir", dir, "3", "5"])
            #expect(r.status == 0)
            run.signal(SIGINT)
            #expect(run.finish() == 0, "\(run.stderr.text)")
            let stacks = Self.folded(run.stdout.text)
            func count(_ caller: String) -> Int { stacks.filter { $0.frames.contains(caller) }.reduce(0) { $0 + $1.count } }
            #expect(count("mkdir_from_alpha") == 3 && count("mkdir_from_beta") == 5, "\(run.stdout.text)")
            #expect(stacks.allSatisfy { $0.frames.contains("main") }, "\(run.stdout.text)")
        }

        @Test func badTargetsAndFlagsAreUsageErrors() throws {
            for (tool, args, mention) in [
                ("stackcount", ["nocolon"], "CATEGORY:NAME"),
                ("stackcount", ["nosuch:tracepoint"], "no tracepoint nosuch:tracepoint"),
                ("profile", ["-U", "-K"], "exclude each other"),
                ("profile", ["-F", "0"], "-F must be"),
                ("profile", ["--cpu", "4096"], "no such online CPU"),
                ("profile", ["--svg", "/nonexistent/dir/x.svg"], "no directory"),
            ] {
                let r = try ToolRun.complete(tool, args)
                #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(mention), "\(tool) \(args): \(r.stderr)")
            }
        }
    }
}
