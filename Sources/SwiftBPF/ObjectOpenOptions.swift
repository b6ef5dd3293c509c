// SPDX-License-Identifier: BSD-2-Clause
import CLibBPF
import Glibc

/// The options every object is opened with: the kernel configuration
/// libbpf reads `__kconfig` externs from, and the BTF CO-RE relocates
/// against (`KernelBTF`).
enum ObjectOpenOptions {
    /// Where libbpf looks for the running kernel's configuration.
    static let kconfigFiles = ["/boot/config-\(Kernel.release)", "/proc/config.gz"]

    /// Neither file is readable on many machines (a container without
    /// /boot, a kernel without CONFIG_IKCONFIG_PROC), and libbpf 1.1 then
    /// fails the whole object, weak externs or not.
    static let kconfigMissing = !kconfigFiles.contains { access($0, R_OK) == 0 }

    /// Opens an object with `open` (libbpf's open call, given the options).
    /// Where the kernel's configuration is missing, the object is opened
    /// again with each of its integer `__kconfig` externs set to 0, what
    /// libbpf gives a weak extern it cannot find (the probes have
    /// defaults for them: `CONFIG_HZ`).
    static func open(name: String?, _ open: (UnsafePointer<bpf_object_open_opts>) -> OpaquePointer?) -> OpaquePointer? {
        let first = with(name: name, kconfig: nil, open)
        guard kconfigMissing, let object = first, let btf = bpf_object__btf(object) else { return first }
        let externs = kconfigIntegers(btf)
        guard !externs.isEmpty else { return first }
        bpf_object__close(object)
        return with(name: name, kconfig: externs.map { "\($0)=0\n" }.joined(), open)
    }

    /// The integer variables of an object's `.kconfig` section.
    static func kconfigIntegers(_ btf: OpaquePointer) -> [String] {
        var names: [String] = []
        for id in 1..<btf__type_cnt(btf) {
            guard let type = btf__type_by_id(btf, id), btf_is_datasec(type),
                  String(cString: btf__name_by_offset(btf, type.pointee.name_off)) == ".kconfig",
                  let infos = btf_var_secinfos(type) else { continue }
            for info in UnsafeBufferPointer(start: infos, count: Int(btf_vlen(type))) {
                guard let variable = btf__type_by_id(btf, info.type) else { continue }
                let resolved = btf__resolve_type(btf, variable.pointee.type)
                guard resolved > 0, let target = btf__type_by_id(btf, UInt32(resolved)), btf_is_int(target) else { continue }
                names.append(String(cString: btf__name_by_offset(btf, variable.pointee.name_off)))
            }
        }
        return names
    }

    private static func with<T>(name: String?, kconfig: String?, _ body: (UnsafePointer<bpf_object_open_opts>) -> T) -> T {
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let btf = KernelBTF.customPath
        return withOptionalCString(name) { cname in
            withOptionalCString(kconfig) { kconfig in
                withOptionalCString(btf) { path in
                    opts.object_name = cname
                    opts.kconfig = kconfig
                    opts.btf_custom_path = path
                    return body(&opts)
                }
            }
        }
    }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
