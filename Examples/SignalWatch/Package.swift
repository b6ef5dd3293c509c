// swift-tools-version: 6.1
// SPDX-License-Identifier: BSD-2-Clause
// An example of a tool outside swift-bpf: it depends on the library and its
// build plugin, and ships a probe of its own.
import PackageDescription

let package = Package(
    name: "SignalWatch",
    dependencies: [
        .package(name: "swift-bpf", path: "../.."),
    ],
    targets: [
        // The probe's event header, shared with Swift; the plugin compiles
        // the .bpf.c beside it.
        .target(name: "SignalProbe", path: "Probe", sources: ["probe.c"], publicHeadersPath: "."),
        .executableTarget(
            name: "SignalWatch",
            dependencies: [.product(name: "SwiftBPF", package: "swift-bpf"), "SignalProbe"],
            plugins: [.plugin(name: "BPFProbeCompiler", package: "swift-bpf")]
        ),
    ]
)
