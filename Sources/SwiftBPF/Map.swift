// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc
import SystemPackage

/// The type of a BPF map.
public struct MapType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let hash = MapType(rawValue: BPF_MAP_TYPE_HASH.rawValue)
    public static let array = MapType(rawValue: BPF_MAP_TYPE_ARRAY.rawValue)
    public static let perCPUHash = MapType(rawValue: BPF_MAP_TYPE_PERCPU_HASH.rawValue)
    public static let perCPUArray = MapType(rawValue: BPF_MAP_TYPE_PERCPU_ARRAY.rawValue)
    public static let lruHash = MapType(rawValue: BPF_MAP_TYPE_LRU_HASH.rawValue)
    public static let lpmTrie = MapType(rawValue: BPF_MAP_TYPE_LPM_TRIE.rawValue)
    public static let ringBuffer = MapType(rawValue: BPF_MAP_TYPE_RINGBUF.rawValue)
    public static let perfEventArray = MapType(rawValue: BPF_MAP_TYPE_PERF_EVENT_ARRAY.rawValue)
    public static let cgroupArray = MapType(rawValue: BPF_MAP_TYPE_CGROUP_ARRAY.rawValue)
    public static let stackTrace = MapType(rawValue: BPF_MAP_TYPE_STACK_TRACE.rawValue)

    public static let lruPerCPUHash = MapType(rawValue: BPF_MAP_TYPE_LRU_PERCPU_HASH.rawValue)
    public static let perCPUCgroupStorage = MapType(rawValue: BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE.rawValue)

    /// Per-CPU maps hold one value per possible CPU: a lookup's buffer must
    /// have room for all of them, or the kernel writes past it.
    public var isPerCPU: Bool {
        [Self.perCPUHash, .perCPUArray, .lruPerCPUHash, .perCPUCgroupStorage].contains(self)
    }

    /// Which typed view reads a map of this type: `TypedMap` (`.single`),
    /// `PerCPUMap` (`.perCPU`), or none (ring buffers, program arrays...).
    /// The skeleton generator reads this table too.
    public enum TypedView: Sendable { case single, perCPU }

    public var typedView: TypedView? {
        switch self {
        case .hash, .array, .lruHash, .lpmTrie: .single
        case .perCPUHash, .perCPUArray, .lruPerCPUHash: .perCPU
        default: nil
        }
    }

    public var description: String {
        libbpf_bpf_map_type_str(bpf_map_type(rawValue)).map { String(cString: $0) } ?? "unknown(\(rawValue))"
    }
}

/// How `update` treats an existing or missing key.
public struct UpdateFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Create or replace.
    public static let any = UpdateFlags([])
    /// Only create; fails with EEXIST if the key exists.
    public static let noExist = UpdateFlags(rawValue: UInt64(BPF_NOEXIST))
    /// Only replace; fails with ENOENT if the key is missing.
    public static let exist = UpdateFlags(rawValue: UInt64(BPF_EXIST))
}

/// A map, untyped: one of a loaded object, or one that a program already
/// in the kernel uses, opened by its ID (`Map(id:)`). Get a typed view with
/// `typed(_:_:)` or `perCPU(_:_:)`; both check the sizes against the map's.
public struct Map: @unchecked Sendable {
    /// Keeps `fd` open: the loaded object that owns it, or the descriptor
    /// this map was opened with.
    let owner: AnyObject
    /// libbpf's map, for maps of a loaded object.
    let pointer: OpaquePointer?
    let fd: Int32

    public let name: String
    public let type: MapType
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: Int

    init(object: LoadedObject, pointer: OpaquePointer) {
        owner = object
        self.pointer = pointer
        fd = bpf_map__fd(pointer)
        name = String(cString: bpf_map__name(pointer))
        type = MapType(rawValue: bpf_map__type(pointer).rawValue)
        keySize = Int(bpf_map__key_size(pointer))
        valueSize = Int(bpf_map__value_size(pointer))
        maxEntries = Int(bpf_map__max_entries(pointer))
    }

    /// Opens the map the kernel knows by `id` (as `bpftool map show` lists
    /// it), whoever created it: how a second process reaches the maps of a
    /// running program without any pinned path. Needs CAP_SYS_ADMIN;
    /// Linux 4.13+.
    /// The map's name is the kernel's, at most 15 characters.
    public init(id: UInt32) throws(BPFError) {
        let descriptor = try Descriptor(id: id, of: "map", bpf_map_get_fd_by_id)
        let fd = descriptor.fd
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &len) == 0 else { throw BPFError.fromErrno("cannot read BPF map id \(id)") }
        owner = descriptor
        pointer = nil
        self.fd = fd
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        type = MapType(rawValue: info.type)
        keySize = Int(info.key_size)
        valueSize = Int(info.value_size)
        maxEntries = Int(info.max_entries)
    }

    /// The map's file descriptor, owned by the object (or by this map).
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: fd) }

    /// The kernel's ID for the map (as `bpftool map show` lists), or nil.
    public var id: UInt32? {
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &len) == 0 else { return nil }
        return info.id
    }

    /// Removes the map's pin (the map lives on while descriptors remain).
    public func unpin() throws(BPFError) {
        guard let pointer else { return }
        let rc = bpf_map__unpin(pointer, nil)
        if rc != 0 { throw BPFError.system("cannot unpin map '\(name)'", rc) }
    }

    /// A typed view for hash and array maps (and, reading the raw per-CPU
    /// layout, nothing else: use `perCPU` for per-CPU maps).
    public func typed<Key: BitwiseCopyable, Value: BitwiseCopyable>(_ key: Key.Type, _ value: Value.Type) throws(BPFError) -> TypedMap<Key, Value> {
        guard !type.isPerCPU else {
            throw BPFError(.wrongMapType, "map '\(name)' is \(type): use perCPU(_:_:) for per-CPU values")
        }
        try checkSizes(Key.self, Value.self)
        return TypedMap(map: self)
    }

    /// A typed view for per-CPU hash and array maps.
    public func perCPU<Key: BitwiseCopyable, Value: BitwiseCopyable>(_ key: Key.Type, _ value: Value.Type) throws(BPFError) -> PerCPUMap<Key, Value> {
        guard type.isPerCPU else {
            throw BPFError(.wrongMapType, "map '\(name)' is \(type), not a per-CPU map")
        }
        try checkSizes(Key.self, Value.self)
        return PerCPUMap(map: self)
    }

    private func checkSizes<Key, Value>(_: Key.Type, _: Value.Type) throws(BPFError) {
        let k = MemoryLayout<Key>.size, v = MemoryLayout<Value>.size
        guard k == keySize, v == valueSize else {
            throw BPFError(.sizeMismatch,
                           "map '\(name)' has \(keySize)-byte keys and \(valueSize)-byte values, but \(Key.self) is \(k) bytes and \(Value.self) is \(v) bytes")
        }
    }

    // Raw operations shared by the typed views: C calls inside the pointer
    // closures, errors thrown outside them (the closures are not typed-throws).

    func lookup<Key: BitwiseCopyable>(_ key: Key, into buffer: inout [UInt8]) throws(BPFError) -> Bool {
        var k = key
        let rc = withUnsafeBytes(of: &k) { kp in buffer.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, kp.baseAddress, $0.baseAddress) } }
        if rc == 0 { return true }
        let e = errno
        if e == ENOENT { return false }
        throw BPFError.system("lookup in map '\(name)'", e)
    }

    func update<Key: BitwiseCopyable>(_ key: Key, from buffer: UnsafeRawPointer, flags: UpdateFlags) throws(BPFError) {
        var k = key
        let rc = withUnsafeBytes(of: &k) { bpf_map_update_elem(fd, $0.baseAddress, buffer, flags.rawValue) }
        if rc != 0 { throw BPFError.fromErrno("update of map '\(name)'") }
    }

    func delete<Key: BitwiseCopyable>(_ key: Key) throws(BPFError) -> Bool {
        var k = key
        if withUnsafeBytes(of: &k, { bpf_map_delete_elem(fd, $0.baseAddress) }) == 0 { return true }
        let e = errno
        if e == ENOENT { return false }
        throw BPFError.system("delete from map '\(name)'", e)
    }

    /// The map's keys, each once. A key deleted while the walk stands on
    /// it (an LRU map evicting, another process deleting) sends the kernel
    /// back to the first key, so under churn the walk would repeat keys and
    /// might never end: repeats are dropped, and the walk takes at most
    /// twice the map's capacity of steps.
    func keys<Key: BitwiseCopyable>(_: Key.Type) throws(BPFError) -> [Key] {
        var keys: [Key] = []
        var seen = Set<[UInt8]>()
        var current: [UInt8]? = nil
        var next = [UInt8](repeating: 0, count: keySize)
        for _ in 0..<(2 * max(maxEntries, 1) + 2) {
            let rc: Int32
            if let c = current {
                rc = c.withUnsafeBytes { bpf_map_get_next_key(fd, $0.baseAddress, &next) }
            } else {
                rc = bpf_map_get_next_key(fd, nil, &next)
            }
            if rc != 0 {
                let e = errno
                if e == ENOENT { return keys }
                throw BPFError.system("iteration of map '\(name)'", e)
            }
            if seen.insert(next).inserted {
                keys.append(next.withUnsafeBytes { $0.loadUnaligned(as: Key.self) })
            }
            current = next
        }
        return keys
    }
}

/// A hash or array map with typed keys and values.
public struct TypedMap<Key: BitwiseCopyable, Value: BitwiseCopyable>: Sendable {
    public let map: Map

    /// The value for `key`, or nil when there is none.
    public func lookup(_ key: Key) throws(BPFError) -> Value? {
        var value = [UInt8](repeating: 0, count: map.valueSize)
        guard try map.lookup(key, into: &value) else { return nil }
        return value.withUnsafeBytes { $0.loadUnaligned(as: Value.self) }
    }

    public subscript(key: Key) -> Value? {
        get throws(BPFError) { try lookup(key) }
    }

    /// Sets the value for `key`.
    public func update(_ key: Key, _ value: Value, flags: UpdateFlags = .any) throws(BPFError) {
        var v = value
        let bytes = withUnsafeBytes(of: &v) { [UInt8]($0) }
        try map.update(key, from: bytes, flags: flags)
    }

    /// Removes `key`; returns false when it was not there. Array maps
    /// cannot delete (EINVAL).
    @discardableResult
    public func delete(_ key: Key) throws(BPFError) -> Bool {
        try map.delete(key)
    }

    /// Every key, in the map's iteration order.
    public func keys() throws(BPFError) -> [Key] { try map.keys(Key.self) }

    /// Every entry. Entries removed while iterating are skipped.
    public func entries() throws(BPFError) -> [(key: Key, value: Value)] {
        var out: [(key: Key, value: Value)] = []
        for key in try keys() {
            if let value = try lookup(key) { out.append((key, value)) }
        }
        return out
    }
}

/// A per-CPU hash or array map: each key has one value per possible CPU.
public struct PerCPUMap<Key: BitwiseCopyable, Value: BitwiseCopyable>: Sendable {
    public let map: Map

    /// The kernel pads each CPU's value to 8 bytes.
    private var stride: Int { (map.valueSize + 7) & ~7 }

    /// The values of `key`, one per possible CPU, or nil when absent.
    public func lookup(_ key: Key) throws(BPFError) -> [Value]? {
        let cpus = try Kernel.possibleCPUs, stride = self.stride
        var buffer = [UInt8](repeating: 0, count: cpus * stride)
        guard try map.lookup(key, into: &buffer) else { return nil }
        return buffer.withUnsafeBytes { raw in
            (0..<cpus).map { raw.loadUnaligned(fromByteOffset: $0 * stride, as: Value.self) }
        }
    }

    /// Sets `key` to `values`, one per possible CPU (or the same value on
    /// every CPU when `values` has one element).
    public func update(_ key: Key, _ values: [Value], flags: UpdateFlags = .any) throws(BPFError) {
        let cpus = try Kernel.possibleCPUs, stride = self.stride
        guard values.count == cpus || values.count == 1 else {
            throw BPFError(.sizeMismatch, "map '\(map.name)' needs \(cpus) per-CPU values, got \(values.count)")
        }
        var buffer = [UInt8](repeating: 0, count: cpus * stride)
        buffer.withUnsafeMutableBytes { raw in
            for cpu in 0..<cpus { raw.storeBytes(of: values.count == 1 ? values[0] : values[cpu], toByteOffset: cpu * stride, as: Value.self) }
        }
        try map.update(key, from: buffer, flags: flags)
    }

    @discardableResult
    public func delete(_ key: Key) throws(BPFError) -> Bool {
        try map.delete(key)
    }

    public func keys() throws(BPFError) -> [Key] { try map.keys(Key.self) }
}

extension PerCPUMap where Value: FixedWidthInteger {
    /// The sum over all CPUs of `key`'s values (wrapping), or nil when absent.
    public func sum(_ key: Key) throws(BPFError) -> Value? {
        try lookup(key)?.reduce(0, &+)
    }
}

/// A file descriptor this process opened and closes when released.
final class Descriptor: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// The kernel object `id` of a kind ("map", "program"), opened with
    /// `open` (`bpf_map_get_fd_by_id`, ...); a vanished one is `.notFound`.
    convenience init(id: UInt32, of kind: String, _ open: (UInt32) -> Int32) throws(BPFError) {
        let fd = open(id)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw BPFError(.notFound, "no BPF \(kind) with id \(id)", errno: .noSuchFileOrDirectory) }
            throw BPFError.system("cannot open BPF \(kind) id \(id)", e)
        }
        self.init(fd)
    }
}
