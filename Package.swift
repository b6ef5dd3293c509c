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
let package = Package(
    name: "swift-bpf",
    products: [
        .library(name: "SwiftBPF", targets: ["SwiftBPF"]),
        .library(name: "BPFProbes", targets: ["BPFProbes"]),
        .library(name: "Containers", targets: ["Containers"]),
        .library(name: "Symbols", targets: ["Symbols"]),
        .plugin(name: "BPFProbeCompiler", targets: ["BPFProbeCompiler"]),
        .executable(name: "mkdirtrace", targets: ["mkdirtrace"]),
        .executable(name: "execsnoop", targets: ["execsnoop"]),
        .executable(name: "opensnoop", targets: ["opensnoop"]),
        .executable(name: "syscount", targets: ["syscount"]),
        .executable(name: "sysnoop", targets: ["sysnoop"]),
        .executable(name: "bashreadline", targets: ["bashreadline"]),
        .executable(name: "pktfilter", targets: ["pktfilter"]),
        .executable(name: "egressguard", targets: ["egressguard"]),
        .executable(name: "execguard", targets: ["execguard"]),
        .executable(name: "fileguard", targets: ["fileguard"]),
        .executable(name: "vfsstat", targets: ["vfsstat"]),
        .executable(name: "filelife", targets: ["filelife"]),
        .executable(name: "profile", targets: ["profile"]),
        .executable(name: "offcputime", targets: ["offcputime"]),
        .executable(name: "stackcount", targets: ["stackcount"]),
        .executable(name: "exitsnoop", targets: ["exitsnoop"]),
        .executable(name: "sigsnoop", targets: ["sigsnoop"]),
        .executable(name: "killsnoop", targets: ["killsnoop"]),
        .executable(name: "oomkill", targets: ["oomkill"]),
        .executable(name: "runqlat", targets: ["runqlat"]),
        .executable(name: "cpudist", targets: ["cpudist"]),
        .executable(name: "biolatency", targets: ["biolatency"]),
        .executable(name: "biosnoop", targets: ["biosnoop"]),
        .executable(name: "tcpstates", targets: ["tcpstates"]),
        .executable(name: "tcplife", targets: ["tcplife"]),
        .executable(name: "tcpretrans", targets: ["tcpretrans"]),
        .executable(name: "skbdrop", targets: ["skbdrop"]),
        .executable(name: "swiftbpf-exporter", targets: ["swiftbpf-exporter"]),
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
        // The core library: objects, programs, links, maps, ring buffers.
        .target(
            name: "SwiftBPF",
            dependencies: ["CLibBPF", "SwiftBPFContract", .product(name: "SystemPackage", package: "swift-system")],
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
        // One folder per tool: the front end of probes/NAME.bpf.c.
        .executableTarget(name: "mkdirtrace", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "execsnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "opensnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "syscount", dependencies: ["BPFProbes", "ToolSupport", "HistogramSupport"]),
        .executableTarget(name: "sysnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "bashreadline", dependencies: ["BPFProbes", "ToolSupport"]),
        // Kernel-function tools: fentry where possible, else kprobes.
        .executableTarget(name: "vfsstat", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "filelife", dependencies: ["BPFProbes", "ToolSupport"]),
        // Process life: exits, signals, the OOM killer.
        .executableTarget(name: "exitsnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "sigsnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "killsnoop", dependencies: ["BPFProbes", "ToolSupport"]),
        .executableTarget(name: "oomkill", dependencies: ["BPFProbes", "ToolSupport"]),
        // Scheduler and disk: histograms counted in the kernel, and biosnoop.
        .executableTarget(name: "runqlat", dependencies: ["BPFProbes", "ToolSupport", "HistogramSupport"]),
        .executableTarget(name: "cpudist", dependencies: ["BPFProbes", "ToolSupport", "HistogramSupport"]),
        .executableTarget(name: "biolatency", dependencies: ["BPFProbes", "ToolSupport", "HistogramSupport"]),
        .executableTarget(name: "biosnoop", dependencies: ["BPFProbes", "ToolSupport", "HistogramSupport"]),
        // Network: TCP states and lives, retransmits, drops with their reasons.
        .executableTarget(name: "tcpstates", dependencies: ["BPFProbes", "ToolSupport", "NetworkSupport"]),
        .executableTarget(name: "tcplife", dependencies: ["BPFProbes", "ToolSupport", "NetworkSupport"]),
        .executableTarget(name: "tcpretrans", dependencies: ["BPFProbes", "ToolSupport", "NetworkSupport"]),
        .executableTarget(name: "skbdrop", dependencies: ["BPFProbes", "ToolSupport", "NetworkSupport", "Symbols"]),
        // Stack tools: stacks counted in the kernel, named by Symbols.
        .executableTarget(name: "profile", dependencies: ["BPFProbes", "ToolSupport", "StackSupport"]),
        .executableTarget(name: "offcputime", dependencies: ["BPFProbes", "ToolSupport", "StackSupport"]),
        .executableTarget(name: "stackcount", dependencies: ["BPFProbes", "ToolSupport", "StackSupport"]),
        // Enforcers: packets at XDP, egress at a workload's cgroup, and
        // exec and file policy with BPF-LSM.
        .executableTarget(
            name: "pktfilter",
            dependencies: ["BPFProbes", "ToolSupport", "Enforcers", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .executableTarget(name: "egressguard", dependencies: ["BPFProbes", "ToolSupport", "NetworkSupport", "Enforcers", "Containers"]),
        .executableTarget(name: "execguard", dependencies: ["BPFProbes", "ToolSupport", "Enforcers"]),
        .executableTarget(name: "fileguard", dependencies: ["BPFProbes", "ToolSupport", "Enforcers"]),

        // The fleet's agent: nodestats.bpf.c's counters per container and
        // pod, served to Prometheus.
        .executableTarget(
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
            ]
        ),
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
        // Tests that need no privileges: units, usage errors, the
        // generator's golden files. `swift test` runs them anywhere.
        .testTarget(
            name: "SwiftBPFUnitTests",
            dependencies: [
                "SwiftBPF", "BPFProbes", "ToolSupport", "StackSupport", "HistogramSupport", "NetworkSupport", "Enforcers",
                "Containers", "Symbols", "TestSupport", "TestProbeEvents", "swiftbpf-testhelper", "swiftbpf-fuzz",
                // Every tool: the usage tests run each (TestSupport's AllTools).
                "mkdirtrace", "execsnoop", "opensnoop", "syscount", "sysnoop", "bashreadline", "pktfilter", "egressguard", "execguard",
                "fileguard", "vfsstat", "filelife", "exitsnoop", "sigsnoop", "killsnoop", "oomkill", "runqlat", "cpudist", "biolatency",
                "biosnoop", "tcpstates", "tcplife", "tcpretrans", "skbdrop", "profile", "offcputime", "stackcount", "swiftbpf-exporter",
            ],
            plugins: ["BPFProbeCompiler"]
        ),
        // Tests that load programs: root (or CAP_BPF+CAP_PERFMON); skipped
        // without, except with CI=true, where that is a failure.
        .testTarget(
            name: "SwiftBPFTests",
            dependencies: [
                "SwiftBPF", "BPFProbes", "ToolSupport", "Enforcers", "Containers", "TestSupport", "TestProbeEvents", "swiftbpf-testhelper",
                "mkdirtrace", "execsnoop", "opensnoop", "syscount", "sysnoop", "bashreadline", "pktfilter",
                "vfsstat", "filelife", "profile", "offcputime", "stackcount", "exitsnoop", "sigsnoop", "killsnoop", "oomkill",
                "egressguard", "execguard", "fileguard",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            plugins: ["BPFProbeCompiler"]
        ),
    ]
)
