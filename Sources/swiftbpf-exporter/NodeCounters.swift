// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Containers
import Foundation
import Logging
import Prometheus
import ToolSupport
import HistogramSupport
import Enforcers

/// nodestats.bpf.c's counters as Prometheus series, labelled with the
/// container and pod of each cgroup. The kernel keeps running totals per
/// cgroup; each collection adds what grew since the last one to the
/// registry's counters, so a series stays monotonic when a removed
/// cgroup's entries are retired from the kernel's maps.
final class NodeCounters: @unchecked Sendable {
    let probe: NodestatsSkeleton
    let directory: ContainerDirectory
    let syscallNames: SyscallTable
    let registry = PrometheusCollectorRegistry()
    let settings: Settings
    /// Series per metric at most; more are folded into container="other".
    var maxSeries: Int { settings.maxSeries }
    /// The workload labels each per-cgroup series carries, in order.
    let workloadLabelNames: [String]

    private let lock = NSLock()
    /// What each kernel entry had at the last collection.
    private var lastSyscalls: [SyscallEntry: UInt64] = [:]
    private var lastExecs: [ExecEntry: UInt64] = [:]
    private var lastLatency: [UInt32: UInt64] = [:]
    /// Every series made so far, by metric and labels.
    private var counters: [Series: Counter] = [:]
    /// Series of containers and pods per metric, for --max-series.
    private var workloadSeries: [String: Int] = [:]
    /// The live cgroups behind each workload series; a series none is left
    /// behind is removed at the collection after the one that retired its
    /// last cgroup (so its last value is served once), and its slot under
    /// --max-series is free again.
    private var contributors: [Series: Set<UInt64>] = [:]
    private var retiring: Set<Series> = []
    /// Workload series counted against --max-series (not the folded ones).
    private var counted: Set<Series> = []
    /// Command names with a series of their own in process_execs_total,
    /// per workload (the host is the workload of no labels); at most
    /// --max-comms, then comm="other".
    private var comms: [[String]: Set<String>] = [:]
    /// (metric, cgroup) pairs counted under container="other"; retired
    /// with their cgroups, so the set stays as small as the node.
    private var folded: Set<Fold> = []
    struct Fold: Hashable { var metric: String; var cgroup: UInt64 }
    /// Histogram totals per syscall number: bucket counts and nanoseconds.
    private var histograms: [UInt32: (buckets: [UInt64], nanoseconds: UInt64)] = [:]

    struct SyscallEntry: Hashable { var cgroup: UInt64; var nr: UInt32; var err: UInt32 }
    struct ExecEntry: Hashable { var cgroup: UInt64; var comm: String }
    struct Series: Hashable { var metric: String; var labels: [String] }

    init(probe: NodestatsSkeleton, directory: ContainerDirectory, syscallNames: SyscallTable, settings: Settings) {
        self.probe = probe
        self.directory = directory
        self.syscallNames = syscallNames
        self.settings = settings
        workloadLabelNames = settings.labels.map(\.rawValue)
    }

    func on(_ collector: Settings.Collector) -> Bool { settings.collectors.contains(collector) }

    static let help: [String: String] = [
        "syscalls_total": "System calls completed, by syscall and by the caller's container and pod.",
        "syscall_errors_total": "System calls that returned an error, by syscall and errno.",
        "file_opens_total": "open, openat, openat2 and creat calls, whatever their result.",
        "directories_created_total": "Successful mkdir and mkdirat calls.",
        "process_execs_total": "Successful execs, by the new command name.",
        "events_lost_total": "Counts the probe could not store (a full kernel map).",
        "cgroups_reconciled_total": "Cgroups found gone without their removal record (lost), retired by the periodic sweep.",
        "series_folded_total": "Cgroups counted under container=\"other\" because their metric had --max-series series.",
        "bpf_program_runs_total": "Runs of the exporter's BPF programs (kernel.bpf_stats_enabled=1 only).",
        "bpf_program_run_seconds_total": "Time spent in the exporter's BPF programs (kernel.bpf_stats_enabled=1 only).",
        "packet_filter_packets_total": "Packets seen by a pktfilter on this node, by program and outcome.",
        "packet_filter_bytes_total": "Bytes seen by a pktfilter on this node, by program and outcome.",
        "packet_filter_rule_packets_total": "Packets a pktfilter rule decided, by program, rule ID and rule.",
        "packet_filter_rule_bytes_total": "Bytes a pktfilter rule decided, by program, rule ID and rule.",
        "egress_decisions_total": "Decisions of the egressguards on this node, by verdict, hook and the deciding workload.",
        "guard_decisions_total": "Decisions of the execguards and fileguards on this node (BPF-LSM), by guard, verdict, operation and workload.",
        "collector_unavailable": "1 while a collector that is on cannot read what it serves (its series are absent), with the reason.",
    ]

    /// The chosen workload labels of a cgroup ("" for none).
    func workloadLabels(_ cgroup: UInt64) -> [String] {
        let w = directory.workload(ofCgroup: cgroup)
        return settings.labels.map {
            switch $0 {
            case .container: w.container.map { $0.name ?? $0.shortID } ?? ""
            case .pod: w.pod?.name ?? ""
            case .namespace: w.pod?.namespace ?? ""
            }
        }
    }

    /// Adds `amount` to a series, making it (or folding it) on first use.
    private func add(_ amount: UInt64, metric: String, names: [String], labels: [String], workloadAt index: Int?, cgroup: UInt64) {
        guard amount > 0 else { return }
        var key = Series(metric: metric, labels: labels)
        // The host's own series (no container, no pod) is neither counted
        // against the cap nor folded.
        let workload = index.map { $0..<($0 + workloadLabelNames.count) }
        let isWorkload = workload.map { labels[$0].contains { $0 != "" } } ?? false
        if counters[key] == nil, let index, isWorkload, workloadSeries[metric, default: 0] >= maxSeries {
            // Over the cap: the first workload label becomes "other"
            // (container="other" with the default labels), the rest "".
            if folded.insert(Fold(metric: metric, cgroup: cgroup)).inserted {
                counter("series_folded_total", ["metric"], [metric]).increment(by: Int64(1))
            }
            var labels = labels
            for i in workload! { labels[i] = i == index ? "other" : "" }
            // A name the workload chose would grow "other" without bound.
            if metric == "process_execs_total" { labels[0] = "other" }
            key = Series(metric: metric, labels: labels)
            // A workload that happened to be called "other" shares this
            // series from now on: it stays (and keeps its slot).
            counted.remove(key)
        } else if isWorkload {
            if counters[key] == nil {
                workloadSeries[metric, default: 0] += 1
                counted.insert(key)
            }
            if counted.contains(key) { contributors[key, default: []].insert(cgroup) }
        }
        counter(key.metric, names, key.labels).increment(by: Int64(clamping: amount))
    }

    /// Removes the series whose cgroups are all gone (retired at the last
    /// collection, and served once since), freeing their slots.
    private func removeRetiredSeries() {
        for key in retiring where (contributors[key]?.isEmpty ?? true) && counted.contains(key) {
            if let c = counters.removeValue(forKey: key) { registry.unregisterCounter(c) }
            contributors[key] = nil
            counted.remove(key)
            workloadSeries[key.metric] = max(0, workloadSeries[key.metric, default: 0] - 1)
        }
        if !retiring.isEmpty {
            // Command names are kept only for workloads with a live series.
            let live = Set(contributors.keys.filter { $0.metric == "process_execs_total" }.map { Array($0.labels.dropFirst()) })
            comms = comms.filter { live.contains($0.key) || $0.key.allSatisfy(\.isEmpty) }
        }
        retiring.removeAll(keepingCapacity: true)
    }

    private func counter(_ metric: String, _ names: [String], _ labels: [String]) -> Counter {
        let key = Series(metric: metric, labels: labels)
        if let c = counters[key] { return c }
        let c = registry.makeCounter(name: metric, labels: Array(zip(names, labels)), help: Self.help[metric] ?? metric)
        counters[key] = c
        return c
    }

    /// Reads the kernel's maps and brings every series up to date.
    func collect() throws(BPFError) {
        lock.lock()
        defer { lock.unlock() }
        removeRetiredSeries()
        if !settings.collectors.isDisjoint(with: [.syscalls, .errors, .files]) { try collectSyscalls() }
        if on(.execs) { try collectExecs() }
        if on(.latency) { try collectLatency() }
        try collectLost()
        if on(.programs) { collectProgramStatistics() }
        if on(.packetFilter) || on(.egress) || on(.guards) { noteListing() }
        if on(.guards) { collectGuards() }
        if on(.packetFilter) { try collectPacketFilters() }
        if on(.egress) { collectEgress() }
        if DispatchTime.now().uptimeNanoseconds - lastSweep >= UInt64(settings.reconcileInterval) * 1_000_000_000 { try sweepGoneCgroups() }
        try retireRemoved()
    }

    private func collectSyscalls() throws(BPFError) {
        let map = try probe.maps.syscalls.perCPU(syscall_key.self, UInt64.self)
        for key in try map.keys() {
            guard let total = try map.sum(key) else { continue }
            let entry = SyscallEntry(cgroup: key.cgroup_id, nr: key.nr, err: key.err)
            let grown = total &- (lastSyscalls[entry] ?? 0)
            lastSyscalls[entry] = total
            account(entry, grown)
        }
    }

    static let opens: Set<String> = ["open", "openat", "openat2", "creat"]
    static let mkdirs: Set<String> = ["mkdir", "mkdirat"]

    private func account(_ entry: SyscallEntry, _ grown: UInt64) {
        guard grown > 0 else { return }
        let name = syscallNames.name(Int32(bitPattern: entry.nr))
        let workload = workloadLabels(entry.cgroup)
        if on(.syscalls) {
            add(grown, metric: "syscalls_total", names: ["syscall"] + workloadLabelNames,
                labels: [name] + workload, workloadAt: 1, cgroup: entry.cgroup)
        }
        if entry.err != 0, on(.errors) {
            add(grown, metric: "syscall_errors_total", names: ["syscall", "errno"] + workloadLabelNames,
                labels: [name, ErrnoName.name(Int32(bitPattern: entry.err))] + workload, workloadAt: 2, cgroup: entry.cgroup)
        }
        guard on(.files) else { return }
        if Self.opens.contains(name) {
            add(grown, metric: "file_opens_total", names: workloadLabelNames, labels: workload, workloadAt: 0, cgroup: entry.cgroup)
        }
        if Self.mkdirs.contains(name), entry.err == 0 {
            add(grown, metric: "directories_created_total", names: workloadLabelNames, labels: workload, workloadAt: 0, cgroup: entry.cgroup)
        }
    }

    private func collectExecs() throws(BPFError) {
        let map = try probe.maps.execs.perCPU(exec_key.self, UInt64.self)
        for key in try map.keys() {
            guard let total = try map.sum(key) else { continue }
            let comm = withUnsafeBytes(of: key.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let entry = ExecEntry(cgroup: key.cgroup_id, comm: comm)
            let grown = total &- (lastExecs[entry] ?? 0)
            lastExecs[entry] = total
            guard grown > 0 else { continue }
            // A workload names its own programs: any number of them.
            let workload = workloadLabels(entry.cgroup)
            var named = comms[workload, default: []]
            // Empty: the kernel's own "other", past NODESTATS_EXEC_NAMES names.
            let label = !comm.isEmpty && (named.contains(comm) || named.count < settings.maxComms) ? comm : "other"
            if label == comm { named.insert(comm); comms[workload] = named }
            add(grown, metric: "process_execs_total", names: ["comm"] + workloadLabelNames,
                labels: [label] + workload, workloadAt: 1, cgroup: entry.cgroup)
        }
    }

    private func collectLatency() throws(BPFError) {
        let slots = Int(NODESTATS_LATENCY_SLOTS)
        let buckets = try probe.maps.latency.perCPU(UInt32.self, UInt64.self)
        let totals = try probe.maps.latencyNs.perCPU(UInt32.self, UInt64.self)
        for nr in 0..<UInt32(NODESTATS_MAX_SYSCALL) {
            // Most syscalls never run: skip them on their total first.
            guard let ns = try totals.sum(nr), ns > 0, ns != lastLatency[nr] else { continue }
            lastLatency[nr] = ns
            var counts = [UInt64](repeating: 0, count: slots)
            for slot in 0..<slots { counts[slot] = try buckets.sum(nr * UInt32(slots) + UInt32(slot)) ?? 0 }
            histograms[nr] = (counts, ns)
        }
    }

    private func collectLost() throws(BPFError) {
        let lost = try probe.maps.lostEvents.perCPU(UInt32.self, UInt64.self)
        let total = try lost.sum(0) ?? 0
        let c = counter("events_lost_total", ["probe"], ["nodestats"])
        if total > lastLost { c.increment(by: Int64(total - lastLost)) }
        lastLost = total
    }

    private var lastLost: UInt64 = 0

    private var lastRuns: [String: (UInt64, UInt64)] = [:]

    private func collectProgramStatistics() {
        for program in probe.object.programs {
            guard let stats = program.runStatistics, stats.runs > 0 else { continue }
            let (runs, ns) = lastRuns[program.name] ?? (0, 0)
            if stats.runs > runs { counter("bpf_program_runs_total", ["program"], [program.name]).increment(by: Int64(stats.runs - runs)) }
            if stats.nanoseconds > ns {
                counter("bpf_program_run_seconds_total", ["program"], [program.name]).increment(by: Double(stats.nanoseconds - ns) / 1e9)
            }
            lastRuns[program.name] = stats
        }
    }

    /// Why the collectors that find programs through the kernel
    /// (packet_filter, egress) cannot, while they can't.
    private var listingRefusal: String?

    /// Without CAP_SYS_ADMIN the kernel lists no programs: said once in the
    /// log and, for as long as it lasts, in collector_unavailable, not
    /// served as a node without filters or guards.
    private func noteListing() {
        let refused = Kernel.programListingRefused
        guard refused?.message != listingRefusal else { return }
        let collectors = [Settings.Collector.packetFilter, .egress, .guards].filter(on).map(\.rawValue)
        for collector in collectors {
            if let old = listingRefusal { unavailable(collector: collector, reason: old, false) }
            if let refused {
                unavailable(collector: collector, reason: refused.message, true)
                logger.warning("\(collector) collector: \(refused.message); its series are absent (collector_unavailable)")
            }
        }
        listingRefusal = refused?.message
    }

    /// What each LSM guard's kernel count was at the last collection.
    private var lastGuards: [GuardKey: UInt64] = [:]
    struct GuardKey: Hashable { var program: UInt32; var cgroup: UInt64; var verdict: String; var operation: String }

    private func collectGuards() {
        guard listingRefusal == nil else { return }
        var seen: [GuardKey: UInt64] = [:]
        for c in LSMDecisions.loaded() {
            let key = GuardKey(program: c.programID, cgroup: c.cgroup, verdict: c.verdict.rawValue, operation: c.operation)
            let before = lastGuards[key] ?? 0
            seen[key] = c.count
            guard c.count > before else { continue }
            add(c.count - before, metric: "guard_decisions_total", names: ["guard", "verdict", "operation"] + workloadLabelNames,
                labels: [c.guardKind, c.verdict.rawValue, c.operation] + workloadLabels(c.cgroup), workloadAt: 3, cgroup: c.cgroup)
        }
        lastGuards = seen
    }

    /// What each egressguard's kernel count was at the last collection.
    private var lastEgress: [EgressKey: UInt64] = [:]
    struct EgressKey: Hashable { var program: UInt32; var cgroup: UInt64; var verdict: String; var hook: String }

    /// Every egressguard loaded on the node: its decisions per verdict and
    /// hook, labelled with the workload whose cgroup made them (bounded
    /// like every workload series).
    private func collectEgress() {
        guard listingRefusal == nil else { return }
        var seen: [EgressKey: UInt64] = [:]
        for guardian in EgressGuard.loaded() {
            for d in (try? guardian.decisions()) ?? [] {
                let key = EgressKey(program: guardian.programID, cgroup: d.cgroup, verdict: d.verdict.rawValue, hook: d.hook.rawValue)
                let before = lastEgress[key] ?? 0
                seen[key] = d.count
                guard d.count > before else { continue }
                add(d.count - before, metric: "egress_decisions_total", names: ["verdict", "hook"] + workloadLabelNames,
                    labels: [d.verdict.rawValue, d.hook.rawValue] + workloadLabels(d.cgroup), workloadAt: 2, cgroup: d.cgroup)
            }
        }
        lastEgress = seen
    }
    private let logger = Logger(label: "swiftbpf-exporter")

    private func unavailable(collector: String, reason: String, _ on: Bool) {
        let labels = [("collector", collector), ("reason", reason)]
        let gauge = registry.makeGauge(name: "collector_unavailable", labels: labels, help: Self.help["collector_unavailable"]!)
        if on { gauge.set(to: 1.0) } else { registry.unregisterGauge(gauge) }
    }

    /// What each pktfilter series had at the last collection, by program.
    private var lastFilterValues: [UInt32: [Series: UInt64]] = [:]

    /// Every pktfilter loaded on the node (any network namespace, found
    /// through the kernel by program name and BTF layout): packets and
    /// bytes per outcome and per rule. A filter that is gone takes its
    /// series with it.
    private func collectPacketFilters() throws(BPFError) {
        var seen: [UInt32: [Series: UInt64]] = [:]
        for filter in listingRefusal == nil ? PacketFilter.loaded() : [] {
            let id = String(filter.programID)
            var values: [Series: UInt64] = [:]
            // A filter removed between the listing and these reads is
            // simply left out of this scrape.
            guard let totals = try? filter.totals(), let rules = try? filter.rules() else { continue }
            let outcomes = [("passed", totals.passed), ("dropped", totals.dropped), ("limited", totals.limited), ("malformed", totals.malformed), ("exempt", totals.exempt)]
            for (outcome, c) in outcomes {
                values[Series(metric: "packet_filter_packets_total", labels: [id, outcome])] = c.packets
                values[Series(metric: "packet_filter_bytes_total", labels: [id, outcome])] = c.bytes
            }
            for (rule, text) in rules {
                guard let c = try? filter.counter(rule: rule) else { continue }
                values[Series(metric: "packet_filter_rule_packets_total", labels: [id, "\(rule)", text.description])] = c.packets
                values[Series(metric: "packet_filter_rule_bytes_total", labels: [id, "\(rule)", text.description])] = c.bytes
            }
            let last = lastFilterValues[filter.programID] ?? [:]
            for (series, total) in values {
                let before = last[series] ?? 0
                // Less than before: the rule was replaced and counts anew.
                let grown = total >= before ? total - before : total
                let names = series.labels.count == 2 ? ["program_id", "outcome"] : ["program_id", "rule", "match"]
                if grown > 0 || counters[series] == nil {
                    counter(series.metric, names, series.labels).increment(by: Int64(clamping: grown))
                }
            }
            seen[filter.programID] = values
        }
        for (program, values) in lastFilterValues where seen[program] == nil {
            for series in values.keys {
                if let c = counters.removeValue(forKey: series) { registry.unregisterCounter(c) }
            }
        }
        lastFilterValues = seen
    }

    /// Cgroups removed since the last collection.
    private var removed: Set<UInt64> = []

    /// A cgroup was removed: the next collection counts what it did last,
    /// then retires its entries from the kernel's maps and the caches.
    func retire(cgroup: UInt64) {
        lock.lock()
        removed.insert(cgroup)
        lock.unlock()
    }

    private var lastSweep = DispatchTime.now().uptimeNanoseconds

    /// A removal record lost (a full ring) would leave a cgroup's entries
    /// in the kernel's maps for ever: every --reconcile-interval, the
    /// cgroups behind the entries are looked up, and the ones that are gone
    /// are retired as if their removal had been seen.
    private func sweepGoneCgroups() throws(BPFError) {
        lastSweep = DispatchTime.now().uptimeNanoseconds
        var ids = Set<UInt64>()
        for key in try probe.maps.syscalls.perCPU(syscall_key.self, UInt64.self).keys() { ids.insert(key.cgroup_id) }
        for key in try probe.maps.execs.perCPU(exec_key.self, UInt64.self).keys() { ids.insert(key.cgroup_id) }
        for id in ids where !removed.contains(id) && directory.hierarchy.exists(id) == false {
            removed.insert(id)
            counter("cgroups_reconciled_total", [], []).increment(by: Int64(1))
        }
    }

    /// After a collection: the removed cgroups' entries leave the kernel's
    /// maps (which would otherwise fill) and the caches.
    private func retireRemoved() throws(BPFError) {
        guard !removed.isEmpty else { return }
        let syscalls = try probe.maps.syscalls.perCPU(syscall_key.self, UInt64.self)
        for key in try syscalls.keys() where removed.contains(key.cgroup_id) {
            try syscalls.delete(key)
            lastSyscalls[SyscallEntry(cgroup: key.cgroup_id, nr: key.nr, err: key.err)] = nil
        }
        let execs = try probe.maps.execs.perCPU(exec_key.self, UInt64.self)
        for key in try execs.keys() where removed.contains(key.cgroup_id) {
            try execs.delete(key)
        }
        let names = try probe.maps.execNames.typed(UInt64.self, UInt32.self)
        for id in removed { try names.delete(id) }
        lastExecs = lastExecs.filter { !removed.contains($0.key.cgroup) }
        for (key, cgroups) in contributors where !cgroups.isDisjoint(with: removed) {
            let left = cgroups.subtracting(removed)
            contributors[key] = left
            if left.isEmpty { retiring.insert(key) }
        }
        for id in removed { directory.forget(cgroup: id) }
        folded = folded.filter { !removed.contains($0.cgroup) }
        removed.removeAll(keepingCapacity: true)
    }

    /// The exposition: the registry's series, then the latency histograms
    /// (log2 buckets counted in the kernel; the registry records one
    /// observation at a time, so these are written here).
    func exposition() -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        var out = registry.emitToBuffer()
        guard on(.latency), !histograms.isEmpty else { return out }
        var text = "# HELP syscall_latency_seconds Time in each system call, from log2 buckets counted in the kernel.\n"
        text += "# TYPE syscall_latency_seconds histogram\n"
        for (nr, h) in histograms.sorted(by: { $0.key < $1.key }) {
            let name = syscallNames.name(Int32(bitPattern: nr))
            var cumulative: UInt64 = 0
            for (slot, n) in h.buckets.enumerated() where slot < h.buckets.count - 1 {
                cumulative += n
                // Bucket i counts [2^i, 2^(i+1)) ns, so its upper bound is 2^(i+1) ns.
                let le = Double(UInt64(1) << UInt64(slot + 1)) / 1e9
                text += "syscall_latency_seconds_bucket{syscall=\"\(name)\",le=\"\(le)\"} \(cumulative)\n"
            }
            cumulative += h.buckets.last ?? 0
            text += "syscall_latency_seconds_bucket{syscall=\"\(name)\",le=\"+Inf\"} \(cumulative)\n"
            text += "syscall_latency_seconds_sum{syscall=\"\(name)\"} \(Double(h.nanoseconds) / 1e9)\n"
            text += "syscall_latency_seconds_count{syscall=\"\(name)\"} \(cumulative)\n"
        }
        out += Array(text.utf8)
        return out
    }
}
