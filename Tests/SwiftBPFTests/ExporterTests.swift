// SPDX-License-Identifier: BSD-2-Clause
import BPFProbes
import Foundation
import SwiftBPF
import TestSupport
import Testing
import Enforcers

/// swiftbpf-exporter against a real Prometheus (Debian's), with a known
/// workload in a known container.
extension Privileged {
    @Suite struct Exporter {
        init() throws { _ = try Privileged() }

        /// A free TCP port on loopback.
        static func freePort() -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return Int(UInt16(bigEndian: addr.sin_port))
        }

        /// The exporter on a free port, with the fake node's state; ready once it serves.
        static func exporter(node: FakeNode, _ args: [String] = []) throws -> (ToolRun, Int) {
            let port = freePort()
            let run = try ToolRun("swiftbpf-exporter", ["--listen", "127.0.0.1:\(port)"] + args,
                                  wrapper: ["/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(node.root)"])
            try #require(run.stderr.wait(for: "serving /metrics", timeout: 60), "exporter started: \(run.stderr.text)")
            return (run, port)
        }

        static func get(_ url: String) throws -> String {
            let r = try Command.run(["curl", "-sS", "--max-time", "10", url])
            try #require(r.status == 0, "GET \(url): \(r.output)")
            return r.output
        }

        /// The value of `metric{labels}` summed over its series in an exposition.
        static func sum(_ text: String, _ metric: String, where match: (String) -> Bool = { _ in true }) -> Double {
            text.split(separator: "\n").filter { $0.hasPrefix(metric + "{") && match(String($0)) }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }

        @Test func prometheusAnswersForAKnownContainer() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-7d9f", container: "cart")
            let (exporter, port) = try Self.exporter(node: node)
            #expect(try Self.get("http://127.0.0.1:\(port)/healthz") == "ok\n")
            // OpenMetrics when asked (Prometheus asks for it first, so the
            // queries below go through it too).
            let open = try Command.run(["curl", "-sS", "-H", "Accept: application/openmetrics-text;version=1.0.0", "http://127.0.0.1:\(port)/metrics"])
            #expect(open.output.hasSuffix("\n# EOF\n") && open.output.contains("# TYPE syscalls counter\n")
                    && open.output.contains("\nsyscalls_total{"), "\(open.output.prefix(400))")

            // Prometheus, scraping the exporter.
            let (prometheus, promPort) = try Self.prometheus(scrapeConfigs: """
              - job_name: swiftbpf
                static_configs: [{targets: ['127.0.0.1:\(port)']}]
            """)
            defer { prometheus.signal(SIGTERM); prometheus.finish() }

            // The workload: 7 directories made and 5 failed opens, in cart.
            let inCart = try Helper(), onHost = try Helper()
            try node.move(inCart.pid, to: cart.path)
            for i in 0..<7 { #expect(inCart.run("mkdir \(dir)/d\(i) 0755") == "ok 0") }
            for i in 0..<5 { #expect(inCart.run("open \(dir)/missing\(i) 0") == "err 2") }
            #expect(onHost.run("open \(dir)/missing-host 0") == "err 2")

            let queries = [
                ("sum(directories_created_total{container=\"cart\",pod=\"cart-7d9f\",namespace=\"shop\"})", 7.0),
                ("sum by (container) (syscall_errors_total{syscall=~\"open|openat|openat2\",errno=\"ENOENT\",container=\"cart\"})", 5.0),
                ("sum(file_opens_total{container=\"cart\"})", 5.0),
            ]
            for (query, want) in queries {
                var got: Double?
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    got = try Self.query(promPort, query)
                    if got == want { break }
                    usleep(500_000)
                }
                // On failure, what Prometheus says of its scrapes.
                let targets = got == want ? "" : ((try? Self.get("http://127.0.0.1:\(promPort)/api/v1/targets")) ?? "")
                #expect(got == want, "\(query); targets: \(targets.prefix(1500))")
            }

            let programs = loadedProgramIDs(named: ["stats_exit", "stats_enter", "stats_exec", "stats_cgroup_rm", "stats_cgroup_mk"])
            #expect(!programs.isEmpty)
            exporter.signal(SIGTERM)
            #expect(exporter.finish() == 0, "\(exporter.stderr.text)")
            #expect(waitUntilUnloaded(programs).isEmpty, "SIGTERM leaves no program loaded")
            KernelSupport.works("swiftbpf-exporter")
        }

        /// A YAML file chooses the collectors and the labels; the probes of
        /// collectors that are off never load; a pktfilter in another
        /// network namespace is found through the kernel and its rule's
        /// counts served, until it is detached.
        @Test func configFileCollectorsLabelsAndPacketFilter() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            let config = dir + "/exporter.yaml"
            try """
            # per namespace only, files and the packet filter
            collectors: [files, packet_filter]
            labels: [namespace]
            max_series: 50
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let exporter = try Self.exporter(node: node, ["--config", config])
            defer { exporter.0.signal(SIGTERM); exporter.0.finish() }
            let metrics = "http://127.0.0.1:\(exporter.1)/metrics"
            #expect(loadedProgramIDs(named: ["stats_enter", "stats_exec"]).isEmpty, "latency and execs are off: their probes are not loaded")

            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-1", container: "cart")
            let inCart = try Helper()
            try node.move(inCart.pid, to: cart.path)
            for i in 0..<4 { #expect(inCart.run("mkdir \(dir)/d\(i) 0755") == "ok 0") }

            let net = try TestNetwork()
            let attach = try net.pktfilter(["attach", net.targetIf, "--persist", "--mode", "native"])
            try #require(attach.status == 0, "\(attach.stderr)")
            defer { _ = try? ToolRun.complete("pktfilter", ["detach", net.targetIf], wrapper: net.inside(net.target)) }
            let programID = try #require(attach.stdout.firstMatch(of: /program (\d+)/).map { String($0.1) }, "\(attach.stdout)")
            #expect(try net.pktfilter(["drop", "icmp:8", "-i", net.targetIf]).status == 0)
            #expect(try net.ping(count: 3) == 0)

            var text = try Self.get(metrics)
            let created = text.split(separator: "\n").filter { $0.hasPrefix("directories_created_total{") }
            #expect(created.contains("directories_created_total{namespace=\"shop\"} 4"), "one label, namespace: \(created)")
            #expect(!text.contains("\nsyscalls_total{") && !text.contains("\nprocess_execs_total{") && !text.contains("syscall_latency_seconds"),
                    "collectors that are off serve nothing: \(text.prefix(600))")
            let rule = text.split(separator: "\n").filter { $0.hasPrefix("packet_filter_rule_packets_total{program_id=\"\(programID)\"") }
            #expect(rule.count == 1 && rule.first?.hasSuffix(" 3") == true && rule.first?.contains("icmp") == true, "\(rule)")
            #expect(Self.sum(text, "packet_filter_packets_total") { $0.contains("program_id=\"\(programID)\"") && $0.contains("outcome=\"dropped\"") } == 3)

            // Detached: the filter's series go with it.
            #expect(try ToolRun.complete("pktfilter", ["detach", net.targetIf], wrapper: net.inside(net.target)).status == 0)
            var gone = false
            for _ in 0..<50 where !gone {
                text = try Self.get(metrics)
                gone = !text.contains("program_id=\"\(programID)\"")
                if !gone { usleep(100_000) }
            }
            #expect(gone, "the detached filter's series are gone")
        }

        /// A bad file or value: one line naming it, exit 2, before anything loads.
        @Test func badSettingsAreUsageErrors() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            let cases: [(String, [String], String)] = [
                ("colectors: [files]\n", [], "unknown key 'colectors'"),
                ("collectors: [files, sockets]\n", [], "unknown 'sockets'"),
                ("labels: [pod, node]\n", [], "unknown 'node'"),
                ("max_series: many\n", [], "max_series"),
                ("listen: [1, 2]\n", [], "listen"),
                (": : :\n", [], "not YAML"),
                ("", ["--collectors", "files,bogus"], "--collectors: unknown 'bogus'"),
                ("", ["--max-series", "0"], "at least 1"),
                ("", ["--listen", "nowhere"], "HOST:PORT"),
            ]
            for (i, (yaml, args, mention)) in cases.enumerated() {
                let file = dir + "/c\(i).yaml"
                try yaml.write(toFile: file, atomically: true, encoding: .utf8)
                let run = try ToolRun.complete("swiftbpf-exporter", ["--config", file] + args)
                #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention),
                        "\(yaml) \(args): \(run.status) \(run.stderr)")
            }
            let missing = try ToolRun.complete("swiftbpf-exporter", ["--config", dir + "/none.yaml"])
            #expect(missing.status == 2 && missing.stderr.contains("none.yaml: cannot read"), "\(missing.stderr)")
        }

        /// A tenant that execs files of 1,000 names grows no more than
        /// --max-comms series; workloads that come and go give their slots
        /// back, so each of 10 short-lived containers under --max-series 6
        /// gets a series of its own, the ones after the 6th included.
        @Test func seriesStayBoundedUnderAHostileTenant() throws {
            let node = try FakeNode()
            let (exporter, port) = try Self.exporter(node: node, ["--max-series", "6", "--max-comms", "5", "--no-latency"])
            let metrics = "http://127.0.0.1:\(port)/metrics"
            let dir = try TestEnvironment.temporaryDirectory()
            for i in 0..<1000 { try FileManager.default.createSymbolicLink(atPath: "\(dir)/t\(i)", withDestinationPath: "/bin/true") }
            let tenant = node.bareContainer()
            let label = "container=\"\(tenant.dropFirst("/libpod-".count).prefix(12))\""
            let script = "echo $$ > '\(node.hierarchy.mountPoint)\(tenant)/cgroup.procs' && cd '\(dir)' && i=0 && "
                + "while [ $i -lt 1000 ]; do ./t$i || exit 1; i=$((i+1)); done"
            let r = try Command.run(["/bin/sh", "-c", script])
            #expect(r.status == 0, "\(r.output)")
            var text = try Self.get(metrics)
            let execs = text.split(separator: "\n").filter { $0.hasPrefix("process_execs_total{") && $0.contains(label) }
            #expect(execs.count == 6, "5 names and other: \(execs)")
            #expect(execs.filter { $0.contains("comm=\"other\"") }.count == 1)
            #expect(Self.sum(text, "process_execs_total") { $0.contains(label) } == 1000, "none lost")
            // In the kernel too the tenant holds NODESTATS_EXEC_NAMES names
            // and one for the rest: it cannot fill the map for the others.
            let tenantID = try #require(node.hierarchy.id(of: tenant))
            let program = try #require(Kernel.loadedPrograms().first { $0.name == NodestatsSkeleton.ProgramName.statsExec.kernelName })
            let execsMap = try #require(try KernelProgram(id: program.id).maps().first { $0.name == NodestatsSkeleton.MapName.execs.kernelName })
            let keys = try execsMap.perCPU(exec_key.self, UInt64.self).keys().filter { $0.cgroup_id == tenantID }
            #expect(keys.count == Int(NODESTATS_EXEC_NAMES) + 1, "\(keys.count) names in the kernel's map")
            #expect(node.remove(tenant))

            // Ten containers one after another, each gone before the next.
            let helper = try Helper()
            var named: [String] = []
            for i in 0..<10 {
                let path = node.bareContainer()
                named.append("container=\"\(path.dropFirst("/libpod-".count).prefix(12))\"")
                try node.move(helper.pid, to: path)
                #expect(helper.run("mkdir \(dir)/d\(i) 0755") == "ok 0")
                try node.move(helper.pid, to: "/")
                #expect(node.remove(path))
                text = try Self.get(metrics)  // its count served, its cgroup retired
                #expect(text.split(separator: "\n").contains { $0.hasPrefix("directories_created_total{") && $0.contains(named[i]) },
                        "container \(i) has a series of its own")
                text = try Self.get(metrics)  // its series gone, its slot free
                let live = text.split(separator: "\n").filter {
                    $0.hasPrefix("directories_created_total{") && !$0.contains("container=\"\"") && !$0.contains("container=\"other\"")
                }
                #expect(live.isEmpty, "series of gone containers are removed: \(live)")
            }
            #expect(Self.sum(text, "series_folded_total") { $0.contains("metric=\"directories_created_total\"") } == 0, "nothing folded")
            exporter.signal(SIGTERM)
            #expect(exporter.finish() == 0)
        }

        /// A cgroup's removal record can be lost (a full ring): its
        /// entries must not stay in the kernel's maps for ever. Planted in
        /// the exporter's map for a cgroup that is gone, they are swept.
        @Test func entriesOfCgroupsGoneUnseenAreSwept() throws {
            let node = try FakeNode()
            // Gone before the exporter starts: no removal record will come.
            let path = node.bareContainer()
            let gone = try #require(node.hierarchy.id(of: path))
            #expect(node.remove(path))
            let (exporter, port) = try Self.exporter(node: node, ["--reconcile-interval", "1", "--no-latency"])
            let metrics = "http://127.0.0.1:\(port)/metrics"
            _ = try Self.get(metrics)
            let program = try #require(Kernel.loadedPrograms().first { $0.name == NodestatsSkeleton.ProgramName.statsExit.kernelName })
            let map = try #require(try KernelProgram(id: program.id).maps().first { $0.name == NodestatsSkeleton.MapName.syscalls.kernelName })
            let syscalls = try map.perCPU(syscall_key.self, UInt64.self)
            let planted = syscall_key(cgroup_id: gone, nr: 39, err: 0)
            try syscalls.update(planted, [UInt64](repeating: 1, count: try Kernel.possibleCPUs))
            #expect(try syscalls.keys().contains { $0.cgroup_id == gone })
            usleep(1_200_000)
            var text = try Self.get(metrics)
            #expect(try !syscalls.keys().contains { $0.cgroup_id == gone }, "the gone cgroup's entry was swept")
            let reconciled = text.split(separator: "\n").filter { $0.hasPrefix("cgroups_reconciled_total") }
            #expect(reconciled == ["cgroups_reconciled_total 1"], "\(reconciled)")
            // Live cgroups are left alone: the host's entries stay.
            text = try Self.get(metrics)
            #expect(try syscalls.keys().contains { $0.cgroup_id != gone })
            exporter.signal(SIGTERM)
            #expect(exporter.finish() == 0)
        }

        @Test func cardinalityCapAndCgroupChurn() throws {
            let node = try FakeNode()
            let (exporter, port) = try Self.exporter(node: node, ["--max-series", "3", "--no-latency"])
            let helper = try Helper()
            let dir = try TestEnvironment.temporaryDirectory()
            let metrics = "http://127.0.0.1:\(port)/metrics"

            // 6 containers, one directory each: 3 series, the rest under
            // "other"; the host's series is not counted against the cap.
            for i in 0..<6 {
                let path = node.bareContainer()
                try node.move(helper.pid, to: path)
                #expect(helper.run("mkdir \(dir)/c\(i) 0755") == "ok 0")
                try node.move(helper.pid, to: "/")
                #expect(node.remove(path))
            }
            var text = try Self.get(metrics)
            let created = text.split(separator: "\n").filter { $0.hasPrefix("directories_created_total{") }
            #expect(created.count == 5 && created.contains { $0.contains("container=\"\"") }, "the host, 3 containers and other: \(created)")
            #expect(Self.sum(text, "directories_created_total") { $0.contains("container=\"other\"") } == 3)
            #expect(Self.sum(text, "directories_created_total") { !$0.contains("container=\"\"") } == 6, "none lost")
            #expect(Self.sum(text, "series_folded_total") { $0.contains("metric=\"directories_created_total\"") } == 3)

            // 10,000 short-lived containers' cgroups, each with a syscall in it.
            func rss() throws -> Int {
                let status = try String(contentsOfFile: "/proc/\(exporter.process.processIdentifier)/status", encoding: .utf8)
                return Int(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ")[1] ?? "") ?? 0
            }
            func churn(_ n: Int) throws {
                for i in 0..<n {
                    let path = node.bareContainer()
                    try node.move(helper.pid, to: path)
                    _ = helper.run("getpriority 1")
                    try node.move(helper.pid, to: "/")
                    #expect(node.remove(path))
                    if i % 500 == 499 { _ = try Self.get(metrics) }
                }
                _ = try Self.get(metrics)
            }
            // Warmed up first (caches, allocator arenas), then 8,000 more.
            // The bound is 5% plus 1 MiB: under emulation the allocator's
            // RSS was seen to wander by 2.4 MB with no growth per cgroup,
            // while a leak of even 400 bytes per cgroup would exceed it.
            try churn(2_000)
            let before = try rss()
            try churn(8_000)
            let after = try rss()
            print("exporter RSS: \(before) KiB after 2,000 short-lived cgroups, \(after) KiB after 10,000")
            text = try Self.get(metrics)
            #expect(Double(after) <= Double(before) * 1.05 + 1024, "RSS \(before) KiB after 2,000 cgroups, \(after) KiB after 10,000")
            #expect(Self.sum(text, "events_lost_total") == 0, "the kernel's maps never filled: retired cgroups leave them")
            exporter.signal(SIGTERM)
            #expect(exporter.finish() == 0)
        }
    
        /// A real Prometheus on a free loopback port, scraping every 2 s (a
        /// scrape may take 2 s: a collection reads every kernel entry, slow
        /// under emulation), ready to answer queries.
        static func prometheus(scrapeConfigs: String) throws -> (ToolRun, Int) {
            let data = try TestEnvironment.temporaryDirectory()
            let port = freePort()
            try ("global: {scrape_interval: 2s, scrape_timeout: 2s}\nscrape_configs:\n" + scrapeConfigs)
                .write(toFile: data + "/prometheus.yml", atomically: true, encoding: .utf8)
            let run = try ToolRun(absolute: "/usr/bin/prometheus", [
                "--config.file=\(data)/prometheus.yml", "--storage.tsdb.path=\(data)/tsdb", "--web.listen-address=127.0.0.1:\(port)",
            ])
            #expect(run.stderr.wait(for: "Server is ready to receive web requests", timeout: 60), "\(run.stderr.text)")
            return (run, port)
        }

        /// Prometheus's value for `query`, nil until it has one.
        static func query(_ promPort: Int, _ query: String) throws -> Double? {
            let escaped = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
            let answer = try get("http://127.0.0.1:\(promPort)/api/v1/query?query=\(escaped)")
            let json = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first
            return ((result?["value"] as? [Any])?.last as? String).flatMap(Double.init)
        }

        /// A CA, a server certificate for 127.0.0.1 and a client
        /// certificate, made with openssl in `dir`.
        static func certificates(in dir: String) throws {
            let script = """
            set -e; cd '\(dir)'
            key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
            key ca.key; openssl req -x509 -new -key ca.key -subj /CN=swiftbpf-test-ca -days 2 -out ca.crt
            key server.key; openssl req -new -key server.key -subj /CN=localhost -out server.csr
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt 2>/dev/null
            key client.key; openssl req -new -key client.key -subj /CN=scraper -out client.csr
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null
            """
            let made = try Command.run(["sh", "-c", script])
            try #require(made.status == 0, "openssl: \(made.output)")
        }

        /// `--web.config.file` in exporter-toolkit's format: TLS with a
        /// bcrypt user, scraped by a real Prometheus over TLS with the right
        /// password (up 1) and a wrong one (up 0); curl without credentials,
        /// with wrong ones, and over plain HTTP gets nothing; with client
        /// certificates required, only a client with one is served.
        @Test func endpointWithTLSAndBasicAuth() throws {
            let node = try FakeNode()
            let dir = try TestEnvironment.temporaryDirectory()
            try Self.certificates(in: dir)
            let hashed = try Command.run(["python3", "-W", "ignore", "-c",
                                          "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))"])
            let hash = hashed.output.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(hashed.status == 0 && hash.hasPrefix("$2b$10$"), "bcrypt hash: \(hashed.output)")
            // Paths relative to the file, as the toolkit reads them.
            try """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              min_version: TLS12
            basic_auth_users:
              prometheus: \(hash)
            """.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
            let (exporter, port) = try Self.exporter(node: node, ["--web.config.file", dir + "/web.yaml", "--no-latency"])
            #expect(exporter.stderr.text.contains("tls=true") && exporter.stderr.text.contains("basic_auth=true"), "\(exporter.stderr.text)")
            let url = "https://127.0.0.1:\(port)"
            func curl(_ args: [String]) throws -> String {
                try Command.run(["curl", "-sS", "--max-time", "10", "--cacert", dir + "/ca.crt", "-o", "/dev/null", "-w", "%{http_code}"] + args).output
            }
            #expect(try curl([url + "/metrics"]) == "401")
            #expect(try curl(["-u", "prometheus:wrong", url + "/metrics"]) == "401")
            #expect(try curl(["-u", "nobody:s3cret", url + "/metrics"]) == "401")
            #expect(try curl(["-u", "prometheus:s3cret", url + "/metrics"]) == "200")
            #expect(try curl([url + "/healthz"]) == "200", "/healthz needs no credentials")
            // A flood of wrong passwords: checks past two at a time are
            // answered 429 at once (they never queue on the server's
            // threads); the right password still passes afterwards.
            let flood = try Command.run(["curl", "-s", "--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max", "30", "-w", "%{http_code}\n",
                                         "--cacert", dir + "/ca.crt", "-u", "prometheus:guess"]
                                        + (0..<30).flatMap { _ in ["-o", "/dev/null", url + "/metrics"] })
            // (curl's parallel mode may draw a progress meter all the same: only the codes count)
            let codes = flood.output.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init).filter { $0.count == 3 && Int($0) != nil }
            #expect(codes.count == 30 && codes.allSatisfy { $0 == "401" || $0 == "429" } && codes.contains("429"), "\(codes)")
            #expect(try curl(["-u", "prometheus:s3cret", url + "/metrics"]) == "200")
            let challenge = try Command.run(["curl", "-sS", "-i", "--cacert", dir + "/ca.crt", url + "/metrics"]).output
            #expect(challenge.lowercased().contains("www-authenticate: basic realm=\"swiftbpf-exporter\""), "\(challenge.prefix(300))")
            let plain = try Command.run(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/metrics"])
            #expect(plain.status != 0 && !plain.output.contains("200"), "plain HTTP is not served: \(plain.output)")
            let old = try Command.run(["curl", "-sS", "--max-time", "5", "--tlsv1.1", "--tls-max", "1.1", "--cacert", dir + "/ca.crt", url + "/healthz"])
            #expect(old.status != 0, "TLS 1.1 is refused under min_version TLS12")

            let (prometheus, promPort) = try Self.prometheus(scrapeConfigs: """
              - job_name: good
                scheme: https
                tls_config: {ca_file: '\(dir)/ca.crt'}
                basic_auth: {username: prometheus, password: s3cret}
                static_configs: [{targets: ['127.0.0.1:\(port)']}]
              - job_name: bad
                scheme: https
                tls_config: {ca_file: '\(dir)/ca.crt'}
                basic_auth: {username: prometheus, password: guess}
                static_configs: [{targets: ['127.0.0.1:\(port)']}]
            """)
            defer { prometheus.signal(SIGTERM); prometheus.finish() }
            let wants: [(String, Double)] = [("up{job=\"good\"}", 1), ("up{job=\"bad\"}", 0), ("count(syscalls_total{job=\"good\"}) > 0", -1)]
            for (q, want) in wants {
                var got: Double?
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    got = try Self.query(promPort, q)
                    if let got, want < 0 ? got > 0 : got == want { break }
                    usleep(500_000)
                }
                let targets = (try? Self.get("http://127.0.0.1:\(promPort)/api/v1/targets")) ?? ""
                #expect(got.map { want < 0 ? $0 > 0 : $0 == want } == true, "\(q) = \(String(describing: got)); targets: \(targets.prefix(1500))")
            }
            exporter.signal(SIGTERM)
            #expect(exporter.finish() == 0, "\(exporter.stderr.text)")

            // Client certificates required: none is refused, the CA's is served.
            try """
            tls_server_config:
              cert_file: \(dir)/server.crt
              key_file: \(dir)/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
            """.write(toFile: dir + "/mtls.yaml", atomically: true, encoding: .utf8)
            let (mtls, mtlsPort) = try Self.exporter(node: node, ["--web.config.file", dir + "/mtls.yaml", "--no-latency"])
            let bare = try Command.run(["curl", "-sS", "--max-time", "5", "--cacert", dir + "/ca.crt", "https://127.0.0.1:\(mtlsPort)/metrics"])
            #expect(bare.status != 0, "no client certificate: refused (\(bare.output.prefix(200)))")
            #expect(try curl(["--cert", dir + "/client.crt", "--key", dir + "/client.key", "https://127.0.0.1:\(mtlsPort)/metrics"]) == "200")
            mtls.signal(SIGTERM)
            #expect(mtls.finish() == 0)
        }

        /// egressguard's decisions, counted in its kernel map, served per
        /// verdict, hook and workload.
        @Test func egressDecisionsPerWorkload() throws {
            let node = try FakeNode()
            let cart = try node.pod(.containerdSystemd, namespace: "shop", name: "cart-1", container: "cart")
            let (exporter, port) = try Self.exporter(node: node, ["--collectors", "egress"])
            defer { exporter.signal(SIGTERM); exporter.finish() }
            let probeDir = try Privileged.EgressGuard.netprobe()
            let a = try Privileged.EgressGuard.Listener(), b = try Privileged.EgressGuard.Listener()
            defer { a.close(); b.close() }
            let guardRun = try ToolRun("egressguard", ["--cgroup", cart.path, "--allow", "tcp:\(a.port)@127.0.0.1"])
            try #require(guardRun.waitUntilAttached(), "\(guardRun.stderr.text)")
            defer { guardRun.signal(SIGINT); guardRun.finish() }
            for target in [a.port, b.port, b.port] {
                _ = try Command.run(["sh", "-c", "echo $$ > \(node.hierarchy.mountPoint + cart.path)/cgroup.procs && exec \(probeDir)/netprobe tcp 127.0.0.1 \(target)"])
            }
            let text = try Self.get("http://127.0.0.1:\(port)/metrics")
            let lines = text.split(separator: "\n").filter { $0.hasPrefix("egress_decisions_total{") }
            #expect(lines.contains("egress_decisions_total{verdict=\"allowed\",hook=\"connect4\",container=\"cart\",pod=\"cart-1\",namespace=\"shop\"} 1")
                    && lines.contains("egress_decisions_total{verdict=\"denied\",hook=\"connect4\",container=\"cart\",pod=\"cart-1\",namespace=\"shop\"} 2")
                    && lines.count == 2, "\(lines)")
        }

        /// A web configuration that would protect less than it says is a
        /// usage error naming the key, before anything loads.
        @Test func badWebConfigsAreUsageErrors() throws {
            let dir = try TestEnvironment.temporaryDirectory()
            try Self.certificates(in: dir)
            let good = "$2y$10$" + String(repeating: "a", count: 53)
            let cases: [(String, String)] = [
                ("http_server_config: {http2: false}\n", "'http_server_config' is not supported"),
                ("basic_auth_users: {alice: secret}\n", "alice: give a bcrypt hash"),
                ("basic_auth_users: {alice: '$1$abc$def'}\n", "alice: give a bcrypt hash"),
                ("tls_server_config: {cert_file: server.crt}\n", "give both cert_file and key_file"),
                ("tls_server_config: {cert_file: none.crt, key_file: server.key}\n", "cert_file none.crt"),
                ("tls_server_config: {cert_file: server.crt, key_file: ca.crt}\n", "key_file ca.crt"),
                ("tls_server_config: {cert_file: server.crt, key_file: server.key, cipher_suites: [TLS_AES_128_GCM_SHA256]}\n", "'cipher_suites' is not supported"),
                ("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS9}\n", "unknown 'TLS9'"),
                ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequestClientCert}\n", "'RequestClientCert' is not supported"),
                ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: RequireAndVerifyClientCert}\n", "needs client_ca_file"),
                ("basic_auth_users: {alice: '\(good)'}\nextra: 1\n", "'extra' is not supported"),
                ("basic_auth_users: {'a:b': '\(good)'}\n", "has no ':'"),
                ("basic_auth_users: {alice: '$2y$+9$\(String(repeating: "a", count: 53))'}\n", "alice: give a bcrypt hash"),
                ("[1, 2]\n", "expected a mapping"),
            ]
            for (i, (yaml, mention)) in cases.enumerated() {
                let file = dir + "/w\(i).yaml"
                try yaml.write(toFile: file, atomically: true, encoding: .utf8)
                let run = try ToolRun.complete("swiftbpf-exporter", ["--web.config.file", file])
                #expect(run.status == 2 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(mention),
                        "\(yaml): \(run.status) \(run.stderr)")
            }
        }

        /// With the DaemonSet's capabilities (no CAP_SYS_ADMIN) the kernel
        /// lists no BPF programs: the packet_filter collector says so in a
        /// log line and in collector_unavailable, and the rest is served.
        @Test func packetFilterCollectorSaysWhyItIsEmpty() throws {
            let node = try FakeNode()
            let port = Self.freePort()
            // Debian's kernels (the lane's 6.1) default perf_event_paranoid
            // to 3, under which tracepoints want CAP_SYS_ADMIN: the DaemonSet
            // says to set 2 on such nodes, and so does this test, for its run.
            let paranoid = "/proc/sys/kernel/perf_event_paranoid"
            let before = (try? String(contentsOfFile: paranoid, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if let level = Int(before), level > 2 { try "2".write(toFile: paranoid, atomically: false, encoding: .utf8) }
            defer { if let level = Int(before), level > 2 { try? before.write(toFile: paranoid, atomically: false, encoding: .utf8) } }
            // tracefs as the DaemonSet gets it from the node: mounted before the capabilities go.
            let run = try ToolRun("swiftbpf-exporter", ["--listen", "127.0.0.1:\(port)", "--collectors", "files,packet_filter"], wrapper: [
                "/usr/bin/unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; exec \"$0\" \"$@\"",
                "/usr/bin/setpriv", "--bounding-set", "-all,+bpf,+perfmon,+dac_read_search", "--inh-caps", "-all",
                "/usr/bin/env", "SWIFTBPF_HOST_ROOT=\(node.root)",
            ])
            defer { run.signal(SIGTERM); run.finish() }
            try #require(run.stderr.wait(for: "serving /metrics", timeout: 60), "exporter started: \(run.stderr.text)")
            let text = try Self.get("http://127.0.0.1:\(port)/metrics")
            #expect(text.contains("collector_unavailable{collector=\"packet_filter\",reason=\"listing the kernel's BPF programs needs CAP_SYS_ADMIN\"} 1"),
                    "\(text.prefix(800))")
            #expect(text.contains("\nfile_opens_total") || text.contains("directories_created_total"), "the other collectors serve")
            _ = try Self.get("http://127.0.0.1:\(port)/metrics")
            #expect(run.stderr.wait(for: "packet_filter collector: listing the kernel's BPF programs needs CAP_SYS_ADMIN", timeout: 5))
            #expect(run.stderr.text.components(separatedBy: "packet_filter collector:").count == 2, "said once: \(run.stderr.text)")
        }
}
}
