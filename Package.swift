// swift-tools-version: 6.1
// SPDX-License-Identifier: BSD-2-Clause
import PackageDescription
import class Foundation.ProcessInfo

// `make fuzz` (scripts/fuzz.sh) builds with SWIFTBPF_FUZZ set: the
// parsers' modules get libFuzzer's coverage instrumentation, and only the
// fuzz target links libFuzzer (which brings main). Other executables,
// the probe compiler's tool among them, keep their own main.
let fuzzing = ProcessInfo.processInfo.environment["SWIFTBPF_FUZZ"] != nil
let fuzzCoverage: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"]), .define("SWIFTBPF_FUZZ")] : []

// Linux only: it loads BPF programs into the running kernel (libbpf, BTF,
// tracefs). Package.resolved is committed: builds use the dependency
// versions the tests ran with.
// The tools: each is its probe (probes/NAME.bpf.c and NAME.h) and its
// folder Sources/NAME; the kit and the family module it uses are listed here.
let kit: [Target.Dependency] = ["BPFProbes", "ToolSupport"]
let tools: [(name: String, uses: [Target.Dependency])] = [
    // Syscalls, processes' commands, bash.
    ("mkdirtrace", kit), ("execsnoop", kit), ("opensnoop", kit), ("syscount", kit + ["HistogramSupport"]),
    ("sysnoop", kit), ("bashreadline", kit), ("mountsnoop", kit),
    // Kernel functions: fentry where possible, else kprobes.
    ("vfsstat", kit), ("filelife", kit),
    // Process life: exits, signals, the OOM killer.
    ("exitsnoop", kit), ("sigsnoop", kit), ("killsnoop", kit), ("oomkill", kit),
    // Scheduler and disk: histograms counted in the kernel, and biosnoop.
    ("runqlat", kit + ["HistogramSupport"]), ("cpudist", kit + ["HistogramSupport"]),
    ("biolatency", kit + ["HistogramSupport"]), ("biosnoop", kit + ["HistogramSupport"]),
    // Network: TCP states and lives, retransmits, drops with their reasons.
    ("tcpstates", kit + ["NetworkSupport"]), ("tcplife", kit + ["NetworkSupport"]),
    ("tcpretrans", kit + ["NetworkSupport"]), ("skbdrop", kit + ["NetworkSupport", "Symbols"]),
    ("pktjourney", kit + ["NetworkSupport", "Symbols"]),
    // Stacks counted in the kernel, named by Symbols.
    ("profile", kit + ["StackSupport"]), ("offcputime", kit + ["StackSupport"]), ("stackcount", kit + ["StackSupport"]),
    // Enforcers: packets at XDP, egress at a workload's cgroup, exec and
    // file policy with BPF-LSM.
    ("pktfilter", kit + ["Enforcers", .product(name: "SystemPackage", package: "swift-system")]),
    ("egressguard", kit + ["NetworkSupport", "Enforcers", "Containers"]),
    ("execguard", kit + ["Enforcers"]), ("fileguard", kit + ["Enforcers"]),
]

let package = Package(
    name: "swift-bpf",
    products: [
        .library(name: "SwiftBPF", targets: ["SwiftBPF"]),
        .library(name: "BPFProbes", targets: ["BPFProbes"]),
        .library(name: "Containers", targets: ["Containers"]),
        .library(name: "Symbols", targets: ["Symbols"]),
        .plugin(name: "BPFProbeCompiler", targets: ["BPFProbeCompiler"]),
    ] + tools.map { .executable(name: $0.name, targets: [$0.name + "-entry"]) } + [
        .executable(name: "swiftbpf-exporter", targets: ["swiftbpf-exporter-entry"]),
        // Every tool and the exporter in one program (`swiftbpf TOOL`, or a
        // link named TOOL): what `make install`, `make dist` and the image ship.
        .executable(name: "swiftbpf", targets: ["swiftbpf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // The exporter's server stack only (the CLI tools link none of it).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // libbpf, libelf and zlib from Debian's -dev packages.
        .systemLibrary(
            name: "CLibBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),
        // The probe contract's C types (probes/include/swiftbpf.h), which
        // SwiftBPF re-exports for every package's skeletons.
        .target(name: "SwiftBPFContract", path: "probes/include", sources: ["swiftbpf.c"], publicHeadersPath: "."),
        // bpf(2) calls Debian's libbpf 1.1 predates (netfilter links).
        .target(name: "CBPFLink"),
        // The core library: objects, programs, links, maps, ring buffers.
        .target(
            name: "SwiftBPF",
            dependencies: ["CLibBPF", "SwiftBPFContract", "CBPFLink", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: fuzzCoverage
        ),

        // Build-time tooling: compile probes/*.bpf.c and generate skeletons.
        .executableTarget(name: "bpf-skeleton", dependencies: ["CLibBPF", "SwiftBPF"], path: "Sources/bpf-skeleton"),
        .plugin(
            name: "BPFProbeCompiler",
            capability: .buildTool(),
            dependencies: ["bpf-skeleton"]
        ),

        // Kernel side of the bundled tools. Only events.c is host C; the
        // .bpf.c files are compiled by the plugin for the BPF target.
        .target(
            name: "ProbeEvents",
            dependencies: ["SwiftBPFContract"],
            path: "probes",
            sources: ["events.c"],
            publicHeadersPath: "."
        ),
        .target(
            name: "BPFProbes",
            dependencies: ["SwiftBPF", "ProbeEvents"],
            swiftSettings: fuzzCoverage,
            plugins: ["BPFProbeCompiler"]
        ),

        // Addresses to names: kallsyms for the kernel, ELF symbols (libelf)
        // for user code, Swift and C++ names demangled.
        .systemLibrary(name: "CLibELF", pkgConfig: "libelf", providers: [.apt(["libelf-dev"])]),
        .target(name: "Symbols", dependencies: ["CLibELF"], swiftSettings: fuzzCoverage),
        // libxcrypt, for the exporter's basic_auth_users (bcrypt).
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),

        // cgroup ID -> container and pod, from cgroup paths and the runtimes'
        // state on the node; no BPF and no API clients.
        .target(name: "CCgroupHandle"),
        .target(name: "Containers", dependencies: ["CCgroupHandle"], swiftSettings: fuzzCoverage),
        // The kit every tool shares: flags, the run loop, output, JSON.
        .target(
            name: "ToolSupport",
            dependencies: [
                "SwiftBPF",
                "BuildInfo",
                "ProbeEvents",
                "Containers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The families' shared code: stacks named and drawn, histograms
        // counted in the kernel (and the disks they are of), network flows
        // and drops, and the enforcers' controllers and flags.
        .target(name: "StackSupport", dependencies: ["ToolSupport", "Symbols"]),
        .target(name: "HistogramSupport", dependencies: ["ToolSupport"]),
        .target(name: "NetworkSupport", dependencies: ["ToolSupport", "Symbols"]),
        .target(name: "Enforcers", dependencies: ["BPFProbes", "ToolSupport", "Containers"], swiftSettings: fuzzCoverage),
        // One folder per tool (the front end of probes/NAME.bpf.c): see `tools`.
        // The fleet's agent: nodestats.bpf.c's counters per container and
        // pod, served to Prometheus.
        .target(
            name: "swiftbpf-exporter",
            dependencies: [
                "BPFProbes", "Containers", "ToolSupport", "HistogramSupport", "Enforcers", "CCrypt",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/swiftbpf-exporter",
            exclude: ["entry"]
        ),
        .executableTarget(name: "swiftbpf-exporter-entry", dependencies: ["swiftbpf-exporter"], path: "Sources/swiftbpf-exporter/entry"),
        // The multi-call program; its list of tools is written from these
        // dependencies by the ToolList plugin.
        .executableTarget(
            name: "swiftbpf",
            dependencies: ["ToolSupport", "swiftbpf-exporter"] + tools.map { .target(name: $0.name) },
            plugins: ["ToolList"]
        ),
        .plugin(name: "ToolList", capability: .buildTool()),
        // The version (VERSION) and the git commit, stamped before each build.
        .target(name: "BuildInfo", plugins: ["BuildStamp"]),
        .plugin(name: "BuildStamp", capability: .buildTool()),
        // The parsers of untrusted bytes as libFuzzer targets (`make fuzz`);
        // in the normal build, a replayer of saved inputs (Fuzz/Corpus).
        .executableTarget(
            name: "swiftbpf-fuzz",
            dependencies: ["BPFProbes", "Enforcers", "Containers", "Symbols", "SwiftBPF"],
            path: "Fuzz/Targets",
            swiftSettings: fuzzCoverage,
            linkerSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer", "-use-ld=lld"])] : []
        ),
        // `make bench`: the library's per-event cost.
        .executableTarget(name: "eventpath", dependencies: ["BPFProbes", "ToolSupport", "Symbols"], path: "bench/EventPath"),

        // Tests: a helper that performs syscalls on command, so a test knows
        // the PID of the process it traces before the events happen, and
        // test-only probes (compiled by the same plugin).
        .executableTarget(name: "swiftbpf-testhelper", path: "Tests/TestHelper"),
        .target(name: "TestProbeEvents", path: "Tests/TestProbes", sources: ["events.c"], publicHeadersPath: "."),
        // What both test targets share: tool paths, temporary directories,
        // the helper process, tools run as children.
        .target(name: "TestSupport", dependencies: ["SwiftBPF"], path: "Tests/TestSupport"),
        // Tests that need no privileges: units, usage errors (of every
        // tool), the generator's golden files. `swift test` runs them anywhere.
        .testTarget(
            name: "SwiftBPFUnitTests",
            dependencies: [
                "SwiftBPF", "BPFProbes", "ToolSupport", "StackSupport", "HistogramSupport", "NetworkSupport", "Enforcers",
                "Containers", "Symbols", "TestSupport", "TestProbeEvents", "swiftbpf-testhelper", "swiftbpf-fuzz",
                "swiftbpf-exporter", "swiftbpf",
            ] + tools.map { .target(name: $0.name) },
            plugins: ["BPFProbeCompiler"]
        ),
        // Tests that load programs: root (or CAP_BPF+CAP_PERFMON); skipped
        // without, except with CI=true, where that is a failure.
        .testTarget(
            name: "SwiftBPFTests",
            dependencies: [
                "SwiftBPF", "BPFProbes", "ToolSupport", "Enforcers", "Containers", "TestSupport", "TestProbeEvents", "swiftbpf-testhelper",
                .product(name: "SystemPackage", package: "swift-system"),
            ] + tools.map { .target(name: $0.name) },
            plugins: ["BPFProbeCompiler"]
        ),
    ] + tools.flatMap { tool -> [Target] in [
        // The tool (Sources/NAME), and its own executable: Sources/NAME/entry.
        .target(name: tool.name, dependencies: tool.uses, exclude: ["entry"]),
        .executableTarget(name: tool.name + "-entry", dependencies: [.target(name: tool.name)], path: "Sources/\(tool.name)/entry"),
    ] }
)
