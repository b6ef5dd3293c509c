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

    init(object: ProbeObject, types: SwiftTypes, module: String, base64: String, name: String? = nil) {
        self.name = name ?? ""
        self.module = module
        self.base64 = base64
        programs = object.programs
        maps = object.maps.map(\.name)
        for map in object.maps {
            // Ring buffers, cgroup arrays and the like have no typed view.
            guard let layout = map.type.typedView else { continue }
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
    }
}
