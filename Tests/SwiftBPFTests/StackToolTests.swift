// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import TestSupport
import Testing

/// profile, offcputime and stackcount on known work (Tests/Fixtures),
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
            // Hot for longer than the tool needs (starting it is slow under emulation).
            let hot = try ToolRun(absolute: work, ["hot", "60"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            let pid = hot.process.processIdentifier
            let svg = try TestEnvironment.temporaryDirectory() + "/cpu.svg"
            let run = try ToolRun("profile", ["-p", "\(pid)", "-F", "99", "--duration", "3", "--folded", "--svg", svg])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(run.finish(timeout: 120) == 0, "\(run.stderr.text)")
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
            KernelSupport.works("profile")
        }

        /// The flame graph in a real browser: headless Chromium loads it with
        /// no console error, lays the hot leaf out widest under its parent,
        /// and a scripted click zooms. Rendering is user space only, so the
        /// kernel lane leaves it to the host.
        @Test(.enabled(if: !TestEnvironment.inKernelLane, "the SVG is the same on every kernel; Chromium under emulation is slow"))
        func flameGraphOpensAndZoomsInChromium() throws {
            let work = try Self.stackwork()
            let hot = try ToolRun(absolute: work, ["hot", "60"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            let dir = try TestEnvironment.temporaryDirectory()
            let run = try ToolRun("profile", ["-p", "\(hot.process.processIdentifier)", "-F", "99", "--duration", "2", "--svg", dir + "/cpu.svg"])
            #expect(run.waitUntilAttached() && run.finish(timeout: 120) == 0, "\(run.stderr.text)")

            /// The DOM after load (and after `script`, if given), and the console.
            func chromium(_ file: String, then script: String? = nil) throws -> (dom: String, console: String) {
                var path = dir + "/" + file
                if let script {
                    let zoomed = try String(contentsOfFile: path, encoding: .utf8)
                        .replacingOccurrences(of: "</svg>", with: "<script>setTimeout(function () { \(script) }, 0)</script></svg>")
                    path = dir + "/scripted-" + file
                    try zoomed.write(toFile: path, atomically: true, encoding: .utf8)
                }
                let r = try Command.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                                         "--virtual-time-budget=2000", "--dump-dom", path])
                try #require(r.status == 0, "chromium: \(r.output.suffix(500))")
                let console = r.output.split(separator: "\n").filter { $0.contains(":CONSOLE") }.joined(separator: "\n")
                return (r.output, console)
            }
            /// Each frame's title, width and parent, from the DOM.
            func frames(_ dom: String) -> [(title: String, width: Double, parent: String, id: String, hidden: Bool)] {
                dom.matches(of: /<g class="(f[^"]*)" id="(f\d+)"[^>]*data-p="(-?\d+)"[^>]*><title>([^<]*)<\/title><rect x="[^"]*" y="[^"]*" width="([^"]*)"/).map {
                    (String($0.4), Double($0.5) ?? -1, String($0.3), String($0.2), $0.1.contains("hidden"))
                }
            }
            let plain = try chromium("cpu.svg")
            #expect(plain.console.isEmpty, "no console messages: \(plain.console)")
            #expect(plain.dom.contains("<title>profile: on-CPU stacks, 99 Hz</title>"))
            let laid = frames(plain.dom)
            let a = try #require(laid.first { $0.title.hasPrefix("hot_leaf_a (") }, "\(laid.map(\.title))")
            let b = try #require(laid.first { $0.title.hasPrefix("hot_leaf_b (") })
            let parent = try #require(laid.first { $0.title.hasPrefix("hot_parent (") })
            let siblings = laid.filter { $0.parent == a.parent }
            #expect(a.parent == parent.id.dropFirst().description && b.parent == a.parent, "both leaves under hot_parent")
            #expect(siblings.allSatisfy { $0.width <= a.width }, "the hot leaf is the widest under its parent: \(siblings)")

            // A click on hot_leaf_b: it fills the width, hot_leaf_a is hidden.
            let clicked = try chromium("cpu.svg", then: "document.getElementById('\(b.id)').dispatchEvent(new MouseEvent('click'));")
            #expect(clicked.console.isEmpty, "\(clicked.console)")
            let zoomed = frames(clicked.dom)
            #expect(zoomed.first { $0.id == b.id }?.width == 1200, "\(zoomed.first { $0.id == b.id }.map { "\($0)" } ?? "")")
            #expect(zoomed.first { $0.id == a.id }?.hidden == true)
            #expect(clicked.dom.contains("id=\"reset\" class=\"button\""), "Reset zoom appears")
            // And a picture of it.
            let png = dir + "/cpu.png"
            _ = try Command.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,400", "--screenshot=\(png)", dir + "/cpu.svg"])
            let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
            #expect(size > 5_000, "a PNG of the flame graph: \(size) bytes")
        }

        /// A process in another root (as a container's is) maps files at
        /// paths this root does not have; they are read through
        /// /proc/PID/root (bcc #1366).
        @Test func framesOfAProcessInAnotherRootAreNamed() throws {
            let root = try TestEnvironment.temporaryDirectory()
            let cc = try Command.run(["cc", "-O0", "-static", "-fno-omit-frame-pointer", "-o", root + "/inside", Self.fixtures + "/stackwork.c"])
            try #require(cc.status == 0, "cc: \(cc.output)")
            let hot = try ToolRun(absolute: "/usr/sbin/chroot", [root, "/inside", "hot", "60"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            usleep(300_000)
            #expect(!FileManager.default.fileExists(atPath: "/inside"), "the path exists only in the other root")
            let run = try ToolRun("profile", ["-p", "\(hot.process.processIdentifier)", "-F", "99", "--duration", "2", "--folded", "-U"])
            #expect(run.waitUntilAttached() && run.finish(timeout: 120) == 0, "\(run.stderr.text)")
            let names = Set(Self.folded(run.stdout.text).flatMap(\.frames))
            #expect(names.contains("hot_parent") && names.contains("hot_leaf_a"), "\(run.stdout.text)")
        }

        @Test func swiftNamesAreDemangled() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let build = try Command.run(["swiftc", "-Onone", "-parse-as-library", "-o", dir + "/hot", Self.fixtures + "/hot.swift"])
            try #require(build.status == 0, "swiftc: \(build.output)")
            let hot = try ToolRun(absolute: dir + "/hot", ["60"])
            defer { hot.signal(SIGKILL); _ = hot.finish() }
            let run = try ToolRun("profile", ["-p", "\(hot.process.processIdentifier)", "-F", "99", "--duration", "2", "--folded", "-U"])
            #expect(run.waitUntilAttached() && run.finish(timeout: 120) == 0, "\(run.stderr.text)")
            let names = Set(Self.folded(run.stdout.text).flatMap(\.frames))
            #expect(names.contains("hot.hotParent() -> ()") && names.contains("hot.hotLeafA() -> ()"), "\(names.sorted())")
        }

        @Test func offcputimeWeighsTheBlockingStackByTimeAway() throws {
            let work = try Self.stackwork()
            // Once the tool is attached: 100 sleeps of 10 ms.
            let sleeper = try ToolRun(absolute: work, ["sleep", "100", "10"])
            defer { sleeper.signal(SIGKILL); _ = sleeper.finish() }
            try #require(sleeper.stdout.wait(for: "ready"))
            let run = try ToolRun("offcputime", ["-p", "\(sleeper.process.processIdentifier)", "--folded"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            sleeper.signal(SIGUSR1)
            #expect(sleeper.finish(timeout: 30) == 0)
            run.signal(SIGINT)
            #expect(run.finish(timeout: 120) == 0, "\(run.stderr.text)")
            let stacks = Self.folded(run.stdout.text).filter { $0.frames.contains("blocked_here") }
            let micros = stacks.reduce(0) { $0 + $1.count }
            // Against what the sleeps took by the sleeper's own clock: at
            // least the 1 s asked, more under emulation (the kernel lane's
            // took 1.11 s).
            let slept = sleeper.stdout.text.split(separator: "\n").compactMap { line -> Double? in
                line.hasPrefix("slept ") ? Double(line.split(separator: " ")[1]) : nil
            }.first ?? 0
            print("offcputime: \(micros) us blocked in blocked_here; the sleeper measured \(Int(slept)) us")
            #expect(slept >= 1_000_000, "100 sleeps of 10 ms take at least 1 s: \(sleeper.stdout.text)")
            #expect(abs(Double(micros) - slept) <= slept / 10, "\(run.stdout.text)")
            #expect(stacks.contains { $0.frames.contains { $0.hasSuffix("_[k]") && $0.contains("nanosleep") } },
                    "kernel frames through nanosleep: \(run.stdout.text)")
            #expect(!run.stdout.text.contains("bpf_prog_"), "the probe's own frames are not shown")
            KernelSupport.works("offcputime")
        }

        @Test func stackcountCountsEachCallingStackExactly() throws {
            let work = try Self.stackwork()
            let dir = try TestEnvironment.temporaryDirectory()
            let run = try ToolRun("stackcount", ["syscalls:sys_enter_mkdir", "-c", "stackwork", "-U", "--folded"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            let r = try Command.run([work, "mkdir", dir, "3", "5"])
            #expect(r.status == 0)
            run.signal(SIGINT)
            #expect(run.finish(timeout: 120) == 0, "\(run.stderr.text)")
            let stacks = Self.folded(run.stdout.text)
            func count(_ caller: String) -> Int { stacks.filter { $0.frames.contains(caller) }.reduce(0) { $0 + $1.count } }
            #expect(count("mkdir_from_alpha") == 3 && count("mkdir_from_beta") == 5, "\(run.stdout.text)")
            #expect(stacks.allSatisfy { $0.frames.contains("main") }, "\(run.stdout.text)")
            KernelSupport.works("stackcount")
        }

        /// A user function as the target: a uprobe on each call.
        @Test func stackcountOnAUserFunction() throws {
            let work = try Self.stackwork()
            let dir = try TestEnvironment.temporaryDirectory()
            let run = try ToolRun("stackcount", ["u:\(work):mkdir_from_beta", "-U", "--folded"])
            #expect(run.waitUntilAttached(), "\(run.stderr.text)")
            #expect(try Command.run([work, "mkdir", dir, "2", "4"]).status == 0)
            run.signal(SIGINT)
            #expect(run.finish(timeout: 120) == 0, "\(run.stderr.text)")
            let stacks = Self.folded(run.stdout.text)
            #expect(stacks.reduce(0) { $0 + $1.count } == 4 && stacks.allSatisfy { $0.frames.suffix(2) == ["main", "mkdir_from_beta"] },
                    "\(run.stdout.text)")
        }

        @Test func badTargetsAndFlagsAreUsageErrors() throws {
            for (tool, args, mention) in [
                ("stackcount", ["nocolon"], "CATEGORY:NAME"),
                ("stackcount", ["nosuch:tracepoint"], "no tracepoint nosuch:tracepoint"),
                ("profile", ["-U", "-K"], "exclude each other"),
                ("profile", ["-F", "0"], "-F must be"),
                ("profile", ["--cpu", "4096"], "no such online CPU"),
                ("profile", ["--svg", "/nonexistent/dir/x.svg"], "no directory"),
                ("offcputime", ["-m", "10", "-M", "5"], "below --min-block"),
                ("profile", ["--json"], "use --folded"),
                ("stackcount", ["syscalls:sys_enter_mkdir", "-x"], "no result"),
            ] {
                let r = try ToolRun.complete(tool, args)
                #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(mention), "\(tool) \(args): \(r.stderr)")
            }
        }
    }
}
