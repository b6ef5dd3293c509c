// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import SystemPackage

/// What a perf event counts, for a `perf_event` program to run on: the
/// kernel's software clocks, which every kernel has, or a hardware
/// counter, which needs a PMU (virtual machines often have none).
public struct PerfEventSource: Sendable, Hashable, CustomStringConvertible {
    let type: UInt32
    let config: UInt64
    public let description: String

    /// Wall-clock time on a CPU, whatever runs there (`cpu-clock`): the
    /// source for timed sampling. Software; Linux 2.6.31+.
    public static let cpuClock = PerfEventSource(type: PERF_TYPE_SOFTWARE.rawValue, config: UInt64(PERF_COUNT_SW_CPU_CLOCK.rawValue), description: "cpu-clock")
    /// Time the task runs (`task-clock`). Software.
    public static let taskClock = PerfEventSource(type: PERF_TYPE_SOFTWARE.rawValue, config: UInt64(PERF_COUNT_SW_TASK_CLOCK.rawValue), description: "task-clock")
    /// CPU cycles. Hardware: fails with `.featureMissing`-like ENOENT
    /// where there is no PMU.
    public static let cycles = PerfEventSource(type: PERF_TYPE_HARDWARE.rawValue, config: UInt64(PERF_COUNT_HW_CPU_CYCLES.rawValue), description: "cycles")
    /// Instructions retired. Hardware.
    public static let instructions = PerfEventSource(type: PERF_TYPE_HARDWARE.rawValue, config: UInt64(PERF_COUNT_HW_INSTRUCTIONS.rawValue), description: "instructions")

    var isHardware: Bool { type == PERF_TYPE_HARDWARE.rawValue }
}

/// How often a perf event fires.
public enum SamplingRate: Sendable, Hashable {
    /// About this many times a second (the kernel adjusts the period).
    case frequency(UInt64)
    /// Once every this many events (nanoseconds for the clocks).
    case period(UInt64)
}

extension Kernel {
    /// The CPUs that are online now (/sys/devices/system/cpu/online), the
    /// ones a per-CPU perf event can be opened on.
    public static func onlineCPUs() throws(BPFError) -> [Int32] {
        let path = "/sys/devices/system/cpu/online"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let cpus = parseCPUList(text) else {
            throw BPFError(.notFound, "cannot read the online CPUs from \(path)")
        }
        return cpus
    }

    /// "0-3,5" to [0, 1, 2, 3, 5]; nil for anything else.
    static func parseCPUList(_ text: String) -> [Int32]? {
        var cpus: [Int32] = []
        for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let ends = part.split(separator: "-").map { Int32($0) }
            guard let first = ends.first ?? nil, let last = ends.last ?? nil, ends.count <= 2, first <= last else { return nil }
            cpus += Array(first...last)
        }
        return cpus.isEmpty ? nil : cpus
    }
}

extension Program {
    /// Attaches this `perf_event` program to a new perf event on `cpu`
    /// (all tasks there), or on one task (`pid`, any CPU, with `cpu` -1).
    /// The link owns the event: releasing it closes both. Linux 4.9+
    /// (perf_event programs); links for them 5.15+, where older kernels get
    /// an ioctl attachment that libbpf still ends with the link.
    public func attachPerfEvent(_ source: PerfEventSource, rate: SamplingRate, cpu: Int32, pid: pid_t = -1) throws(BPFError) -> Link {
        var attr = perf_event_attr()
        attr.type = source.type
        attr.size = UInt32(MemoryLayout<perf_event_attr>.size)
        attr.config = source.config
        switch rate {
        case .frequency(let hz):
            attr.freq = 1
            attr.sample_freq = hz
        case .period(let n):
            attr.sample_period = n
        }
        let fd = swiftbpf_perf_event_open(&attr, pid, cpu, -1, UInt(PERF_FLAG_FD_CLOEXEC))
        guard fd >= 0 else {
            let e = errno
            if source.isHardware && (e == ENOENT || e == EOPNOTSUPP) {
                throw BPFError(.notFound, "this machine has no hardware PMU for the \(source) event (a VM often has none); use cpu-clock", errno: Errno(rawValue: e))
            }
            throw BPFError.system("cannot open a \(source) perf event on CPU \(cpu)", -e)
        }
        do {
            return try makeLink("attach \(name) to perf event \(source) on CPU \(cpu)", kind: .perfEvent(event: source.description, cpu: cpu)) {
                bpf_program__attach_perf_event(pointer, fd)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    /// One perf event per online CPU, each attached to this program.
    public func attachPerfEventOnEveryCPU(_ source: PerfEventSource, rate: SamplingRate) throws(BPFError) -> [Link] {
        var links: [Link] = []
        for cpu in try Kernel.onlineCPUs() { links.append(try attachPerfEvent(source, rate: rate, cpu: cpu)) }
        return links
    }
}
