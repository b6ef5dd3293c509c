// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import SwiftBPF

/// What a compiled BPF object holds, as libbpf reads it (no kernel needed):
/// its programs, its maps with their key and value types, and its global
/// variables, from the object's BTF.
final class ProbeObject {
    struct ProgramInfo { var name: String; var section: String }
    struct MapInfo { var name: String; var type: MapType; var keyType: UInt32; var valueType: UInt32 }
    struct GlobalInfo { var name: String; var section: String; var offset: Int; var type: UInt32 }

    let programs: [ProgramInfo]
    let maps: [MapInfo]
    let globals: [GlobalInfo]
    /// The object's BTF, owned by the object.
    let btf: OpaquePointer
    private let object: OpaquePointer
    private let storage: UnsafeMutableRawBufferPointer

    init(bytes: [UInt8], name: String) throws {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let opened = name.withCString { cname -> OpaquePointer? in
            opts.object_name = cname
            return bpf_object__open_mem(storage.baseAddress, bytes.count, &opts)
        }
        guard let object = opened else {
            storage.deallocate()
            throw GeneratorError("libbpf cannot open the object (errno \(errno))")
        }
        guard let btf = bpf_object__btf(object) else {
            bpf_object__close(object)
            storage.deallocate()
            throw GeneratorError("the object has no BTF: compile it with -g")
        }
        self.object = object
        self.btf = btf

        var programs: [ProgramInfo] = []
        var prog = bpf_object__next_program(object, nil)
        while let p = prog {
            programs.append(ProgramInfo(name: String(cString: bpf_program__name(p)), section: String(cString: bpf_program__section_name(p))))
            prog = bpf_object__next_program(object, p)
        }
        var maps: [MapInfo] = []
        var map = bpf_object__next_map(object, nil)
        while let m = map {
            if !bpf_map__is_internal(m) {
                maps.append(MapInfo(name: String(cString: bpf_map__name(m)), type: MapType(rawValue: bpf_map__type(m).rawValue),
                                    keyType: bpf_map__btf_key_type_id(m), valueType: bpf_map__btf_value_type_id(m)))
            }
            map = bpf_object__next_map(object, m)
        }
        // Globals: the variables that DATASECs of data sections list, with
        // global linkage (as libbpf's own skeletons expose).
        var globals: [GlobalInfo] = []
        for id in 1..<btf__type_cnt(btf) {
            guard let t = btf__type_by_id(btf, id), btf_is_datasec(t), let infos = btf_var_secinfos(t) else { continue }
            let section = String(cString: btf__name_by_offset(btf, t.pointee.name_off))
            guard [".rodata", ".bss", ".data"].contains(where: section.hasPrefix) else { continue }
            for info in UnsafeBufferPointer(start: infos, count: Int(btf_vlen(t))) {
                guard let v = btf__type_by_id(btf, info.type), btf_is_var(v),
                      let linkage = btf_var(v)?.pointee.linkage, linkage != 0 else { continue }  // 0: static
                globals.append(GlobalInfo(name: String(cString: btf__name_by_offset(btf, v.pointee.name_off)),
                                          section: section, offset: Int(info.offset), type: v.pointee.type))
            }
        }
        self.programs = programs.sorted { $0.name < $1.name }
        self.maps = maps.sorted { $0.name < $1.name }
        self.globals = globals.sorted { $0.name < $1.name }
    }

    deinit {
        bpf_object__close(object)
        storage.deallocate()
    }
}
