// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Containers
import Dispatch
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle
import ToolSupport
import HistogramSupport
import Enforcers

/// The fleet's agent: runs on every node (a DaemonSet), counts syscalls,
/// errors, execs and latency per container and pod in the kernel, and
/// serves them to Prometheus on `/metrics`.
public let tool = ToolEntry(async: Exporter.self, aliases: ["exporter"])

struct Exporter: AsyncToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbpf-exporter",
        abstract: "Serve this node's syscall, error, exec and latency counts per container and pod, and its packet filters' counts, to Prometheus.",
        discussion: """
        Counting happens in the kernel (tracepoints only: no kprobes); each scrape \
        reads the counts and labels them with the container and pod of the cgroup \
        that made them. /metrics is Prometheus's text format; /healthz answers \
        "ok" while the probes are attached. SIGTERM or Ctrl-C detaches everything.

        Examples:
          swiftbpf-exporter                          listen on 0.0.0.0:9435
          swiftbpf-exporter --listen 127.0.0.1:9500 --max-series 2000
          swiftbpf-exporter --collectors syscalls,errors --labels namespace
          swiftbpf-exporter --config /etc/swiftbpf/exporter.yaml
          swiftbpf-exporter --web.config.file /etc/swiftbpf/web.yaml   TLS, basic auth

        --web.config.file takes the format of Prometheus's own exporters \
        (tls_server_config, basic_auth_users with bcrypt hashes); /metrics then \
        needs the credentials, /healthz does not.
        """
    )

    @Option(name: .long, help: ArgumentHelp("A YAML file of listen, max_series, collectors and labels; flags win over it.", valueName: "file"))
    var config: String?

    @Option(name: [.long, .customLong("web.listen-address")], help: ArgumentHelp("Address and port to serve on (default 0.0.0.0:9435).", valueName: "host:port"))
    var listen: String?

    @Option(name: .customLong("web.config.file"), help: ArgumentHelp("TLS and basic auth for the endpoint, in the format of Prometheus's exporters.", valueName: "file"))
    var webConfigFile: String?

    @Option(name: .long, help: ArgumentHelp("Series per metric at most; the rest count under container=\"other\" (default 10000).", valueName: "n"))
    var maxSeries: Int?

    @Option(name: .long, help: ArgumentHelp("Command names per workload in process_execs_total; the rest count under comm=\"other\" (default 20).", valueName: "n"))
    var maxComms: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds between sweeps for cgroups gone without a removal record (default 60).", valueName: "seconds"))
    var reconcileInterval: Int?

    @Option(name: .long, help: ArgumentHelp("Metric families to serve, comma-separated (default all): \(Settings.Collector.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var collectors: String?

    @Option(name: .long, help: ArgumentHelp("Workload labels on each series, comma-separated (default container,pod,namespace).", valueName: "list"))
    var labels: String?

    @Flag(name: .long, help: "Leave out the syscall latency histograms (saves a probe on every syscall entry).")
    var noLatency = false

    /// The defaults, then the file, then the flags.
    func settings() throws -> Settings {
        var s = Settings()
        do {
            if let config { try s.read(file: config) }
            if let listen { s.listen = listen }
            if let maxSeries { s.maxSeries = maxSeries }
            if let maxComms { s.maxComms = maxComms }
            if let reconcileInterval { s.reconcileInterval = reconcileInterval }
            if let collectors { s.collectors = Set(try Settings.parse(collectors.split(separator: ",").map(String.init), what: "--collectors")) }
            if let labels { s.labels = (try Settings.parse(labels.split(separator: ",").map(String.init), what: "--labels") as [Settings.Label]).sorted() }
            if noLatency { s.collectors.remove(.latency) }
            try s.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return s
    }

    func validate() throws {
        _ = try settings()
        _ = try webConfig()
    }

    /// The endpoint's TLS and users; none without --web.config.file.
    func webConfig() throws -> WebConfig {
        guard let webConfigFile else { return WebConfig() }
        do {
            return try WebConfig.read(file: webConfigFile)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let settings = try settings()
        let web = try webConfig()
        let (host, port) = settings.address!
        let on = settings.collectors
        var logger = Logger(label: "swiftbpf-exporter")
        logger.logLevel = .info
        do {
            try Kernel.requirePrivileges()
            let directory = try ContainerDirectory.forThisNode()
            var open = try NodestatsSkeleton.open()
            open.nodestatsCfg = nodestats_config(latency: on.contains(.latency) ? 1 : 0, pad: (0, 0, 0, 0, 0, 0, 0))
            try open.placeCallState(inTaskStorage: Kernel.supports(.taskStorage))
            try open.object.disableProgramsForMissingTracepoints()
            // A collector that is off costs nothing in the kernel.
            if !on.contains(.latency) { try open.setAutoload(false, for: .statsEnter) }
            if on.isDisjoint(with: Settings.Collector.syscallFamilies) { try open.setAutoload(false, for: .statsExit) }
            if !on.contains(.execs) { try open.setAutoload(false, for: .statsExec) }
            let probe = try open.load()
            let counters = NodeCounters(probe: probe, directory: directory, syscallNames: try SyscallTable.current(), settings: settings)
            let links = try probe.object.attachAll()
            // New cgroups are named while their path is known; removed ones
            // are retired from the kernel's maps after their last counts.
            let queue = DispatchQueue(label: "swiftbpf-exporter.cgroups")
            let removals = try RingBuffer(probe.maps.events, lostCounter: probe.maps.lostEvents,
                                          queue: queue) { record in
                guard case .event(let bytes) = record, bytes.count >= MemoryLayout<cgroup_change>.offset(of: \.path)! else { return }
                let id = bytes.loadUnaligned(fromByteOffset: MemoryLayout<cgroup_change>.offset(of: \.cgroup_id)!, as: UInt64.self)
                if bytes.loadUnaligned(fromByteOffset: MemoryLayout<cgroup_change>.offset(of: \.removed)!, as: UInt8.self) != 0 {
                    counters.retire(cgroup: id)
                } else {
                    let path = UnsafeRawBufferPointer(rebasing: bytes[MemoryLayout<cgroup_change>.offset(of: \.path)!...])
                    directory.learn(cgroup: id, path: String(decoding: path.prefix { $0 != 0 }, as: UTF8.self))
                }
            }
            try await serve(counters, web: web, host: host, port: port, logger: logger)
            // Detached explicitly: the optimizer may end a value's lifetime
            // at its last use, and a Link released early detaches early.
            links.forEach { $0.detach() }
            removals.stop()
            logger.info("stopped; probes detached")
        } catch let error as CgroupHierarchy.Failure {
            StandardStreams.error("swiftbpf-exporter: error: \(error)")
            throw ExitCode(1)
        }
    }

    func serve(_ counters: NodeCounters, web: WebConfig, host: String, port: Int, logger: Logger) async throws {
        let on = counters.settings.collectors
        let router = Router()
        router.get("/metrics") { request, _ -> Response in
            switch await web.auth.check(request.headers[.authorization]) {
            case .allowed:
                break
            case .denied:
                var headers = HTTPFields()
                headers[.wwwAuthenticate] = "Basic realm=\"swiftbpf-exporter\", charset=\"UTF-8\""
                return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "Unauthorized\n")))
            case .busy:
                return Response(status: .tooManyRequests, body: .init(byteBuffer: ByteBuffer(string: "Too many credential checks at once\n")))
            }
            do {
                try counters.collect()
            } catch {
                return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
            }
            var headers = HTTPFields()
            var body = counters.exposition()
            // Prometheus asks for OpenMetrics first; other clients get the text format.
            if request.headers[.accept]?.contains("application/openmetrics-text") == true {
                headers[.contentType] = "application/openmetrics-text; version=1.0.0; charset=utf-8"
                body = OpenMetrics.fromPrometheusText(body)
            } else {
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/healthz") { _, _ in "ok\n" }
        let app = Application(router: router, server: try web.tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
                              configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { channel in
                                  logger.info("Tracing this node: serving /metrics", metadata: [
                                      "address": "\(channel.localAddress?.description ?? "\(host):\(port)")",
                                      "collectors": "\(on.sorted().map(\.rawValue).joined(separator: ","))",
                                      "labels": "\(counters.settings.labels.map(\.rawValue).joined(separator: ","))",
                                      "tls": "\(web.tls != nil)", "basic_auth": "\(!web.users.isEmpty)",
                                  ])
                              },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
