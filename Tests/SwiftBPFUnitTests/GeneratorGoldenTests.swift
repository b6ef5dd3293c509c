// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import TestProbeEvents
import TestSupport
import Testing

/// The skeleton generator's output for the test probes, compared with the
/// files checked in under Tests/Golden (the embedded object, which depends
/// on the compiler, is left out). Run with SWIFTBPF_UPDATE_GOLDEN=1 to
/// write them anew after a deliberate change, and read the diff.
@Suite struct GeneratorGolden {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs bpf-skeleton on an embedded object; its output and stderr.
    static func generate(_ object: EmbeddedObject, headers: String, module: String) throws -> (text: String, stderr: String) {
        let dir = try TestEnvironment.temporaryDirectory()
        let input = "\(dir)/\(object.name).bpf.o", output = "\(dir)/\(object.name).skeleton.swift"
        try #require(Data(base64Encoded: object.base64)).write(to: URL(fileURLWithPath: input))
        // Built for the plugin as bpf-skeleton-tool, and as bpf-skeleton by
        // `swift build --build-tests`.
        let tool = ["bpf-skeleton", "bpf-skeleton-tool"].map(TestEnvironment.product).first { access($0, X_OK) == 0 }
        let run = try ToolRun(absolute: try #require(tool, "no bpf-skeleton beside the tests"), ["--object", input, "--name", object.name, "--module", module,
                                               "--headers", repository.path + "/" + headers, "--output", output])
        #expect(run.finish() == 0, "\(run.stderr.text)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let embedded = #/    public static let embedded = EmbeddedObject\(name: "(\w+)", base64: "[^"]*"\)/#
        return (text.replacing(embedded) { "    public static let embedded = EmbeddedObject(name: \"\($0.1)\", base64: \"<the object>\")" }, run.stderr.text)
    }

    static let objects = [TestprobesSkeleton.embedded, KernellaneSkeleton.embedded, XdppassSkeleton.embedded, BadprobeSkeleton.embedded]

    @Test(arguments: objects.map(\.name))
    func testProbeSkeletonsMatchTheirGoldenFiles(name: String) throws {
        let object = try #require(Self.objects.first { $0.name == name })
        let generated = try Self.generate(object, headers: "Tests/TestProbes", module: "TestProbeEvents").text
        let golden = Self.repository.appending(path: "Tests/Golden/\(object.name).skeleton.swift")
        if ProcessInfo.processInfo.environment["SWIFTBPF_UPDATE_GOLDEN"] == "1" {
            try generated.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        let differing = zip(generated.split(separator: "\n", omittingEmptySubsequences: false),
                            expected.split(separator: "\n", omittingEmptySubsequences: false)).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(generated == expected,
                "\(object.name): line \((differing?.offset ?? 0) + 1) differs: \(differing.map { "\($0.element.0) / golden: \($0.element.1)" } ?? "length")")
    }

    /// A map or global without a typed accessor is said, as a build
    /// warning, with the reason; never silently left out.
    @Test func unnameableTypesAreBuildWarnings() throws {
        let run = try Self.generate(FilelifeSkeleton.embedded, headers: "probes", module: "ProbeEvents")
        #expect(run.stderr.contains("warning: bpf-skeleton: filelife.bpf.c: map 'births' gets no typed view"), "\(run.stderr)")
        #expect(run.stderr.contains("struct birth is not declared in the probe's headers"), "\(run.stderr)")
        #expect(run.text.contains("public let events: Map"))
        #expect(!run.text.contains("public let births: TypedMap"))
        #expect(run.text.contains("public var filter: trace_filter"), "trace_filter, from probes/include, is named")
    }
}
