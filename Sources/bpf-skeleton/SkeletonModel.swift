// SPDX-License-Identifier: BSD-2-Clause
import SwiftBPF

/// What the skeleton says, decided: names, typed views, typed globals, and
/// a warning for each map or global that gets no typed accessor.
struct SkeletonModel {
    struct TypedMapView { var name: String; var layout: MapType.TypedView; var key: String; var value: String }
    struct Global { var name: String; var section: String; var offset: Int; var swiftType: String }

    var name: String
    var module: String
    var base64: String
    var programs: [ProbeObject.ProgramInfo]
    var maps: [String]
    var typedMaps: [TypedMapView] = []
    var globals: [Global] = []
    var warnings: [String] = []
    /// The parts of swift-bpf's probe contract (probes/include) the object
    /// has in full, for which the skeleton declares its conformances.
    var contract: Set<Contract> = []

    enum Contract: Hashable {
        /// swiftbpf.bpf.h: `events`, `lost_events`, `cgroup_filter`, `cgroup_verdicts`,
        /// `swiftbpf_scratch`, `filter` and `swiftbpf_perf_events`.
        case trace
        /// DECLARE_CALL_STATE: `call_state`, `call_state_hash` and `call_state_in_hash`.
        case callState
        /// stacks.bpf.h: `stack_traces`, `stack_counts`, `stack_gaps` and `stacks_cfg`.
        case stacks

        var maps: [String] {
            switch self {
            case .trace: ["events", "lost_events", "cgroup_filter", "cgroup_verdicts", "swiftbpf_scratch"]
            case .callState: ["call_state", "call_state_hash"]
            case .stacks: ["stack_traces", "stack_counts", "stack_gaps"]
            }
        }

        var globals: [String] {
            switch self {
            case .trace: ["filter", "swiftbpf_perf_events"]
            case .callState: ["call_state_in_hash"]
            case .stacks: ["stacks_cfg"]
            }
        }
    }

    init(object: ProbeObject, types: SwiftTypes, module: String, base64: String, name: String? = nil) {
        self.name = name ?? ""
        self.module = module
        self.base64 = base64
        programs = object.programs
        maps = object.maps.map(\.name)
        for map in object.maps {
            // Ring buffers, cgroup arrays and the like have no typed view.
            guard let layout = map.type.typedView else { continue }
            // The contract's scratch has a size, not a type: only the probe
            // header writes it.
            if map.name == "swiftbpf_scratch" { continue }
            switch (types.swiftName(map.keyType), types.swiftName(map.valueType)) {
            case (.name(let key), .name(let value)):
                typedMaps.append(TypedMapView(name: map.name, layout: layout, key: key, value: value))
            case (.unnamed(let why), _):
                warnings.append("map '\(map.name)' gets no typed view (use .typed(Key.self, Value.self)): its key type: \(why)")
            case (_, .unnamed(let why)):
                warnings.append("map '\(map.name)' gets no typed view (use .typed(Key.self, Value.self)): its value type: \(why)")
            }
        }
        for g in object.globals {
            switch types.swiftName(g.type) {
            case .name(let swiftType):
                globals.append(Global(name: g.name, section: g.section, offset: g.offset, swiftType: swiftType))
            case .unnamed(let why):
                warnings.append("global '\(g.name)' gets no typed property (use setGlobal(\"\(g.name)\", to:)): \(why)")
            }
        }
        // A part of the contract counts only when it is whole (and the
        // shared flags need the trace part under it): a probe with some of
        // it is said, since code that expects the part will not compile.
        let mapNames = Set(maps), globalNames = Set(globals.map(\.name))
        for part in [Contract.trace, .callState, .stacks] {
            let missing = part.maps.filter { !mapNames.contains($0) } + part.globals.filter { !globalNames.contains($0) }
            if missing.isEmpty, part == .trace || contract.contains(.trace) {
                contract.insert(part)
                continue
            }
            // An `events` ring of a probe's own is not the contract; the
            // shared filters are.
            let distinctive = part == .trace ? ["filter", "cgroup_filter", "cgroup_verdicts"] : part.maps + part.globals
            if distinctive.contains(where: { mapNames.contains($0) || globalNames.contains($0) }) {
                let absent = missing.isEmpty ? "the trace part under it" : missing.map { "'\($0)'" }.joined(separator: ", ")
                warnings.append("it has part of swift-bpf's probe contract but not \(absent), so its skeleton does not conform to \(part.protocolName)")
            }
        }
    }
}

extension SkeletonModel.Contract {
    var protocolName: String {
        switch self {
        case .trace: "TraceProbe"
        case .callState: "OpenCallStateProbe"
        case .stacks: "StackProbe"
        }
    }
}
