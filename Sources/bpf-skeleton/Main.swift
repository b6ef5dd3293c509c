// SPDX-License-Identifier: BSD-2-Clause
// bpf-skeleton: reads a compiled BPF object and writes a Swift skeleton with
// the object embedded, typed program and map names, typed map views and
// typed global variables. Run by the BPFProbeCompiler plugin. In layers:
// ObjectReader (libbpf reads the object and its BTF), SwiftTypes (BTF types
// Swift can name), Naming, SkeletonWriter (the text).
import Foundation

struct Options {
    var object = ""
    var name = ""
    var module = ""
    var output = ""
    var headers: String?

    init(_ args: [String]) throws {
        var it = args.dropFirst().makeIterator()
        while let flag = it.next() {
            guard let value = it.next() else { throw GeneratorError("missing value for \(flag)") }
            switch flag {
            case "--object": object = value
            case "--name": name = value
            case "--module": module = value
            case "--output": output = value
            case "--headers": headers = value
            default: throw GeneratorError("unknown option \(flag)")
            }
        }
        if object.isEmpty || name.isEmpty || output.isEmpty {
            throw GeneratorError("usage: bpf-skeleton --object FILE --name NAME --module MODULE [--headers DIR] --output FILE")
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
            let bytes = try Data(contentsOf: URL(fileURLWithPath: options.object))
            let object = try ProbeObject(bytes: [UInt8](bytes), name: options.name)
            let headerDir = options.headers ?? URL(fileURLWithPath: options.object).deletingLastPathComponent().path
            let types = SwiftTypes(btf: object.btf, knownStructs: SwiftTypes.structsDeclared(in: [headerDir, headerDir + "/include"], btf: object.btf))
            let model = SkeletonModel(object: object, types: types, module: options.module, base64: bytes.base64EncodedString(), name: options.name)
            // SwiftPM shows a build tool's "warning:" lines as build warnings.
            for warning in model.warnings {
                FileHandle.standardError.write(Data("warning: bpf-skeleton: \(options.name).bpf.c: \(warning)\n".utf8))
            }
            let text = SkeletonWriter.text(model)
            let url = URL(fileURLWithPath: options.output)
            // Leave an unchanged file alone so dependants do not rebuild.
            if let old = try? String(contentsOf: url, encoding: .utf8), old == text { return }
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("error: bpf-skeleton: \(error)\n".utf8))
            exit(1)
        }
    }
}
