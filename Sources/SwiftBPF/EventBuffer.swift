// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Foundation
import Synchronization

/// The kind of buffer a probe's records go through (`events` in
/// swiftbpf.bpf.h), chosen at load time.
public enum EventBuffer: String, Sendable, CustomStringConvertible {
    /// A BPF ring buffer (Linux 5.8): one buffer for every CPU, records in
    /// order, reserved in place.
    case ring
    /// A perf buffer per CPU (Linux 4.3), where the kernel has no ring
    /// buffer: records are built in a per-CPU scratch and copied out, and
    /// the kernel counts those that did not fit.
    case perf

    public var description: String {
        switch self {
        case .ring: "a ring buffer"
        case .perf: "a perf buffer per CPU"
        }
    }

    /// Whether `SWIFTBPF_FORCE_PERFBUF=1` asks for perf buffers where ring
    /// buffers work, to test the fallback.
    public static var forcedPerf: Bool { ProcessInfo.processInfo.environment["SWIFTBPF_FORCE_PERFBUF"] == "1" }

    /// A ring buffer where the kernel has one, unless forced otherwise.
    public static var preferred: EventBuffer {
        forcedPerf || !Kernel.supports(.ringBuffer) ? .perf : .ring
    }

    /// Why this kind was chosen, for `--verbose`.
    public var reason: String {
        switch self {
        case .ring: "events through \(self)"
        case .perf where Self.forcedPerf: "events through \(self) (SWIFTBPF_FORCE_PERFBUF=1)"
        case .perf: "events through \(self) (BPF ring buffers: Linux 5.8)"
        }
    }

    private static let perfBufferBytes = Atomic<Int>(8 << 20)

    /// The bytes a perf buffer reader maps over all CPUs (the tools'
    /// `--buffer-size`): each CPU gets its share, in pages, a power of two.
    public static var perfBytes: Int {
        get { perfBufferBytes.load(ordering: .relaxed) }
        set { perfBufferBytes.store(newValue, ordering: .relaxed) }
    }
}
