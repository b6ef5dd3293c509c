// SPDX-License-Identifier: BSD-2-Clause
// bpf-skeleton: reads a compiled BPF object and writes a Swift skeleton with
// the object embedded, typed program and map names, typed map views and
// typed global variables. Run by the BPFProbeCompiler plugin. In layers:
// ObjectReader (libbpf reads the object and its BTF), SwiftTypes (BTF types
// Swift can name), Naming, SkeletonWriter (the text).
import Foundation

struct Options {
    var objects: [String] = []
    var object: String { objects.first ?? "" }
    var name = ""
    var module = ""
    var output = ""
    var headers: String?
    /// swift-bpf's public probe headers (swiftbpf.h), whose structs the
    /// probe's Swift module also imports.
    var publicHeaders: String?
    /// Event views for every object, instead of one object's skeleton.
    var views = false

    init(_ args: [String]) throws {
        var it = args.dropFirst().makeIterator()
        while let flag = it.next() {
            if flag == "--views" { views = true; continue }
            guard let value = it.next() else { throw GeneratorError("missing value for \(flag)") }
            switch flag {
            case "--object": objects.append(value)
            case "--name": name = value
            case "--module": module = value
            case "--output": output = value
            case "--headers": headers = value
            case "--public-headers": publicHeaders = value
            default: throw GeneratorError("unknown option \(flag)")
            }
        }
        if objects.isEmpty || (name.isEmpty && !views) || output.isEmpty || (objects.count > 1 && !views) {
            throw GeneratorError("usage: bpf-skeleton --object FILE --name NAME --module MODULE [--headers DIR] [--public-headers DIR] --output FILE\n"
                                 + "       bpf-skeleton --views --module MODULE [--headers DIR] [--public-headers DIR] --output FILE --object FILE...")
        }
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

@main
enum Main {
    static func main() {
        do {
            let options = try Options(CommandLine.arguments)
            if options.views { return try writeViews(options) }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: options.object))
            let object = try ProbeObject(bytes: [UInt8](bytes), name: options.name)
            let headerDir = options.headers ?? URL(fileURLWithPath: options.object).deletingLastPathComponent().path
            let types = SwiftTypes(btf: object.btf, knownStructs: SwiftTypes.structsDeclared(in: [headerDir, headerDir + "/include"] + [options.publicHeaders].compactMap { $0 }, btf: object.btf))
            let model = SkeletonModel(object: object, types: types, module: options.module, base64: bytes.base64EncodedString(), name: options.name)
            // SwiftPM shows a build tool's "warning:" lines as build warnings.
            for warning in model.warnings {
                FileHandle.standardError.write(Data("warning: bpf-skeleton: \(options.name).bpf.c: \(warning)\n".utf8))
            }
            try write(SkeletonWriter.text(model), to: options.output)
        } catch {
            FileHandle.standardError.write(Data("error: bpf-skeleton: \(error)\n".utf8))
            exit(1)
        }
    }

    /// Leaves an unchanged file alone, so dependants do not rebuild.
    static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        if let old = try? String(contentsOf: url, encoding: .utf8), old == text { return }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The event views of every object's event structs, each once; a
    /// struct two objects lay out differently is an error.
    static func writeViews(_ options: Options) throws {
        var views: [String: EventViewModel] = [:]
        var names: [String] = []
        for path in options.objects {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let name = URL(fileURLWithPath: path).lastPathComponent
            names.append(name)
            let object = try ProbeObject(bytes: [UInt8](bytes), name: String(name.prefix { $0 != "." }))
            let headerDir = options.headers ?? URL(fileURLWithPath: path).deletingLastPathComponent().path
            let types = SwiftTypes(btf: object.btf, knownStructs: SwiftTypes.structsDeclared(in: [headerDir, headerDir + "/include"] + [options.publicHeaders].compactMap { $0 }, btf: object.btf))
            for view in EventViewReader(btf: object.btf, types: types).events() {
                if let seen = views[view.cName] {
                    guard seen.size == view.size, seen.minimumSize == view.minimumSize,
                          seen.fields.map({ "\($0.cName)@\($0.offset)" }) == view.fields.map({ "\($0.cName)@\($0.offset)" }) else {
                        throw GeneratorError("struct \(view.cName) is laid out differently in \(name) than in an object before it")
                    }
                    continue
                }
                views[view.cName] = view
            }
        }
        let sorted = views.values.sorted { $0.cName < $1.cName }
        try write(EventViewWriter.text(sorted, module: options.module, objects: names.sorted()), to: options.output)
    }
}
