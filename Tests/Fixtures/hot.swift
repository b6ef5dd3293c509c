// SPDX-License-Identifier: BSD-2-Clause
// The hot loop of stackwork.c in Swift, for demangled names in profiles.
import Glibc
nonisolated(unsafe) var sink: UInt64 = 0
@inline(never) func hotLeafA() { for i in 0..<700_000 { sink &+= UInt64(i) } }
@inline(never) func hotLeafB() { for i in 0..<300_000 { sink &+= UInt64(i) } }
@inline(never) func hotParent() { hotLeafA(); hotLeafB() }
@main struct Hot {
    static func main() {
        let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 5 : 5
        var t0 = timespec(), t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        repeat { hotParent(); clock_gettime(CLOCK_MONOTONIC, &t) } while Double(t.tv_sec - t0.tv_sec) + Double(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds
    }
}
