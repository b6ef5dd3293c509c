// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import SystemPackage

/// A program already loaded in the kernel, by this process or another,
/// opened by its ID. It reaches what the kernel knows about the program:
/// its name, the maps it uses and its BTF. This is how one invocation of a
/// tool finds the maps of a program another invocation attached, from any
/// mount namespace, with no pinned path. Needs CAP_SYS_ADMIN; Linux 4.13+
/// (program BTF 5.0+).
public final class KernelProgram: Sendable {
    public let id: UInt32
    /// The kernel's name for the program: at most 15 characters.
    public let name: String
    /// libbpf's name for the program type, e.g. "tracepoint", "xdp".
    public let type: String
    /// IDs of the maps the program uses.
    public let mapIDs: [UInt32]
    private let btfID: UInt32
    private let descriptor: Descriptor

    public init(id: UInt32) throws(BPFError) {
        descriptor = try Descriptor(id: id, of: "program", bpf_prog_get_fd_by_id)
        let fd = descriptor.fd
        self.id = id
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &len) == 0 else { throw BPFError.fromErrno("cannot read BPF program id \(id)") }
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        type = libbpf_bpf_prog_type_str(bpf_prog_type(info.type)).map { String(cString: $0) } ?? "\(info.type)"
        btfID = info.btf_id
        // A second call fills an array of nr_map_ids IDs.
        let count = info.nr_map_ids
        var ids = [UInt32](repeating: 0, count: Int(count))
        if count > 0 {
            info = bpf_prog_info()
            info.nr_map_ids = count
            len = UInt32(MemoryLayout<bpf_prog_info>.size)
            let rc = ids.withUnsafeMutableBufferPointer { buf -> Int32 in
                info.map_ids = UInt64(UInt(bitPattern: buf.baseAddress))
                return bpf_obj_get_info_by_fd(fd, &info, &len)
            }
            if rc != 0 { throw BPFError.fromErrno("cannot read the maps of BPF program id \(id)") }
            ids = Array(ids.prefix(Int(min(count, info.nr_map_ids))))
        }
        mapIDs = ids
    }

    /// The maps the program uses, opened by ID.
    public func maps() throws(BPFError) -> [Map] {
        var out: [Map] = []
        for id in mapIDs { out.append(try Map(id: id)) }
        return out
    }

    /// Finds the program's maps by the names a skeleton gives them (the
    /// kernel keeps 15 bytes of a name): pass it to a skeleton's
    /// `Maps(mapNamed:)` or `TypedMaps(mapNamed:)`. A map the program
    /// lacks is `.foreignObject`, saying the program is not `what`.
    public func mapFinder(expecting what: String) throws(BPFError) -> (String) throws(BPFError) -> Map {
        var byName: [String: Map] = [:]
        for map in try maps() { byName[map.name] = map }
        let id = self.id
        return { (name: String) throws(BPFError) -> Map in
            guard let map = byName[String(name.utf8.prefix(15))!] else {
                throw BPFError(.foreignObject, "BPF program id \(id) has no map '\(name)': it is not a compatible \(what)")
            }
            return map
        }
    }

    /// The size of `struct name` in the program's BTF; nil when the
    /// program has no BTF or no such struct. Tells a program built from a
    /// known source (and layout) from another of the same name.
    public func structSize(_ name: String) -> Int? {
        guard btfID != 0, let btf = btf__load_from_kernel_by_id(btfID) else { return nil }
        defer { btf__free(btf) }
        let type = btf__find_by_name_kind(btf, name, UInt32(BTFKind.structure.rawValue))
        guard type > 0 else { return nil }
        let size = btf__resolve_size(btf, UInt32(type))
        return size >= 0 ? Int(size) : nil
    }
}

extension Kernel {
    /// Detaches XDP program `programID` from `interface`, and only that
    /// program: if another replaced it meanwhile, nothing changes
    /// (`.busy`). For programs attached without a link, as
    /// `Program.attachXDPPersistent` and `ip link set dev IFACE xdp` do.
    /// Linux 5.7+ (expected-program check).
    public static func detachXDP(interface: String, programID: UInt32) throws(BPFError) {
        let index = try interfaceIndex(interface)
        var query = bpf_xdp_query_opts()
        query.sz = MemoryLayout<bpf_xdp_query_opts>.size
        var rc = bpf_xdp_query(index, 0, &query)
        if rc != 0 { throw BPFError.system("cannot query the XDP program of \(interface)", rc) }
        guard query.prog_id == programID else {
            throw BPFError(.busy, "XDP program \(programID) is no longer the one on \(interface)", errno: .resourceBusy)
        }
        let fd = bpf_prog_get_fd_by_id(programID)
        guard fd >= 0 else { throw BPFError.fromErrno("cannot open BPF program id \(programID)") }
        defer { close(fd) }
        var opts = bpf_xdp_attach_opts()
        opts.sz = MemoryLayout<bpf_xdp_attach_opts>.size
        opts.old_prog_fd = fd
        let mode = query.attach_mode == UInt8(XDP_ATTACHED_SKB) ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE
        rc = bpf_xdp_detach(index, UInt32(mode), &opts)
        if rc != 0 {
            throw BPFError.system("cannot detach XDP program \(programID) from \(interface) (attached through a bpf_link? its owner must release it)", rc)
        }
    }

    /// The ID of the XDP program attached to `interface` in this network
    /// namespace; nil when it has none.
    public static func xdpProgramID(interface: String) throws(BPFError) -> UInt32? {
        let index = try interfaceIndex(interface)
        var id: UInt32 = 0
        let rc = bpf_xdp_query_id(index, 0, &id)
        if rc != 0 { throw BPFError.system("cannot query the XDP program of \(interface)", rc) }
        return id == 0 ? nil : id
    }

    /// The index of `interface` in this network namespace.
    public static func interfaceIndex(_ interface: String) throws(BPFError) -> Int32 {
        let index = Int32(bitPattern: if_nametoindex(interface))
        guard index > 0 else { throw BPFError(.notFound, "no network interface '\(interface)'", errno: Errno(rawValue: ENODEV)) }
        return index
    }
}
