// SPDX-License-Identifier: BSD-2-Clause
import ArgumentParser
import BPFProbes
import Containers
import Dispatch
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ToolSupport

/// The fleet's agent: runs on every node (a DaemonSet), counts syscalls,
/// errors, execs and latency per container and pod in the kernel, and
/// serves them to Prometheus on `/metrics`.
@main
struct Exporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbpf-exporter",
        abstract: "Serve this node's syscall, error, exec and latency counts per container and pod to Prometheus.",
        discussion: """
        Counting happens in the kernel (tracepoints only: no kprobes); each scrape \
        reads the counts and labels them with the container and pod of the cgroup \
        that made them. /metrics is Prometheus's text format; /healthz answers \
        "ok" while the probes are attached. SIGTERM or Ctrl-C detaches everything.

        Examples:
          swiftbpf-exporter                          listen on 0.0.0.0:9435
          swiftbpf-exporter --listen 127.0.0.1:9500 --max-series 2000
        """
    )

    @Option(name: .long, help: ArgumentHelp("Address and port to serve on.", valueName: "host:port"))
    var listen = "0.0.0.0:9435"

    @Option(name: .long, help: ArgumentHelp("Series per metric at most; the rest count under container=\"other\".", valueName: "n"))
    var maxSeries = 10_000

    @Flag(name: .long, help: "Leave out the syscall latency histograms (saves a probe on every syscall entry).")
    var noLatency = false

    func validate() throws {
        guard parsedListen != nil else { throw ValidationError("--listen '\(listen)': give HOST:PORT, such as 0.0.0.0:9435") }
        guard maxSeries >= 1 else { throw ValidationError("--max-series must be at least 1") }
    }

    var parsedListen: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        let host = String(listen[..<colon])
        return (host.isEmpty ? "0.0.0.0" : host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    func run() async throws {
        let (host, port) = parsedListen!
        var logger = Logger(label: "swiftbpf-exporter")
        logger.logLevel = .info
        do {
            try Kernel.requirePrivileges()
            let directory = try ContainerDirectory.forThisNode()
            var open = try NodestatsSkeleton.open()
            open.nodestatsCfg = nodestats_config(latency: noLatency ? 0 : 1, pad: (0, 0, 0, 0, 0, 0, 0))
            try open.object.disableProgramsForMissingTracepoints()
            if noLatency { try open.object.setAutoload(false, program: "stats_enter") }
            let probe = try open.load()
            let counters = NodeCounters(probe: probe, directory: directory, syscallNames: try SyscallTable.current(),
                                        maxSeries: maxSeries, latency: !noLatency)
            let links = try probe.object.attachAll()
            // New cgroups are named while their path is known; removed ones
            // are retired from the kernel's maps after their last counts.
            let queue = DispatchQueue(label: "swiftbpf-exporter.cgroups")
            let removals = try RingBuffer(probe.object.requiredMap("events"), lostCounter: probe.object.map(named: "lost_events"),
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
            try await serve(counters, host: host, port: port, logger: logger)
            // Detached explicitly: the optimizer may end a value's lifetime
            // at its last use, and a Link released early detaches early.
            links.forEach { $0.detach() }
            removals.stop()
            logger.info("stopped; probes detached")
        } catch let error as BPFError {
            FileHandle.standardError.write(Data("swiftbpf-exporter: error: \(error.report)\n".utf8))
            throw ExitCode(1)
        } catch let error as CgroupHierarchy.Failure {
            FileHandle.standardError.write(Data("swiftbpf-exporter: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func serve(_ counters: NodeCounters, host: String, port: Int, logger: Logger) async throws {
        let router = Router()
        router.get("/metrics") { request, _ -> Response in
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
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { channel in
                                  logger.info("Tracing this node: serving /metrics", metadata: ["address": "\(channel.localAddress?.description ?? "\(host):\(port)")"])
                              },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
