// SPDX-License-Identifier: BSD-2-Clause
import CCrypt
import Foundation
import NIOSSL
import Yams

/// `--web.config.file`: TLS and basic authentication for the endpoint, in
/// the file format Prometheus's own exporters read (exporter-toolkit's),
/// so one file serves a fleet's exporters alike:
///
///     tls_server_config:
///       cert_file: server.crt        # PEM: the certificate, then its chain
///       key_file: server.key
///       client_auth_type: RequireAndVerifyClientCert   # optional
///       client_ca_file: clients-ca.crt                 # with it
///       min_version: TLS12                             # TLS10..TLS13
///     basic_auth_users:
///       prometheus: $2y$10$...       # bcrypt only (htpasswd -nBC 10)
///
/// Relative paths are read from the file's directory. A key this exporter
/// does not implement (cipher_suites, http_server_config, ...) is refused
/// by name, never ignored: a file meant to protect the endpoint must not
/// silently protect less. The files are read once, at start.
struct WebConfig {
    enum ClientAuth: String, CaseIterable {
        case none = "NoClientCert"
        case verifyIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerify = "RequireAndVerifyClientCert"
    }

    var tls: TLSConfiguration?
    /// User name → bcrypt hash; empty: no authentication.
    var users: [String: String] = [:] {
        didSet { auth = BasicAuth(users: users) }
    }
    private(set) var auth = BasicAuth(users: [:])

    static let keys = ["tls_server_config", "basic_auth_users"]
    static let tlsKeys = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"]
    static let versions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]

    static func read(file path: String) throws(Settings.Invalid) -> WebConfig {
        func invalid(_ what: String) -> Settings.Invalid { Settings.Invalid(description: "--web.config.file \(path): \(what)") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw invalid("cannot read the file (\(String(cString: strerror(errno))))")
        }
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw invalid("not YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        var config = WebConfig()
        guard let document else { return config }  // empty: plain HTTP, as the toolkit does
        guard let map = document as? [String: Any] else { throw invalid("expected a mapping of \(keys.joined(separator: ", "))") }
        for key in map.keys.sorted() where !keys.contains(key) {
            throw invalid("'\(key)' is not supported (supported: \(keys.joined(separator: ", ")))")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : directory + "/" + file }

        if let users = map["basic_auth_users"] {
            guard let users = users as? [String: Any] else { throw invalid("basic_auth_users: give a mapping of user: bcrypt hash") }
            var checked: [String: String] = [:]
            for (user, hash) in users.sorted(by: { $0.key < $1.key }) {
                guard !user.isEmpty, !user.contains(":") else {
                    throw invalid("basic_auth_users: '\(user)': a user name is not empty and has no ':' (basic auth splits at the first)")
                }
                guard let hash = hash as? String, isBcrypt(hash) else {
                    throw invalid("basic_auth_users: \(user): give a bcrypt hash ($2y$, $2b$ or $2a$, 60 characters)")
                }
                checked[user] = hash
            }
            config.users = checked
        }

        guard let tlsValue = map["tls_server_config"] else { return config }
        guard let tlsMap = tlsValue as? [String: Any] else { throw invalid("tls_server_config: give a mapping") }
        for key in tlsMap.keys.sorted() where !tlsKeys.contains(key) {
            throw invalid("tls_server_config: '\(key)' is not supported (supported: \(tlsKeys.joined(separator: ", ")))")
        }
        func string(_ key: String) throws(Settings.Invalid) -> String? {
            guard let value = tlsMap[key] else { return nil }
            guard let s = value as? String, !s.isEmpty else { throw invalid("tls_server_config: \(key): give a string") }
            return s
        }
        guard let certFile = try string("cert_file"), let keyFile = try string("key_file") else {
            throw invalid("tls_server_config: give both cert_file and key_file")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(resolve(certFile))
        } catch {
            throw invalid("cert_file \(certFile): not a PEM certificate that can be read (\(error))")
        }
        guard !chain.isEmpty else { throw invalid("cert_file \(certFile): no certificate in it") }
        do {
            key = try NIOSSLPrivateKey(file: resolve(keyFile), format: .pem)
        } catch {
            throw invalid("key_file \(keyFile): not a PEM private key that can be read (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // The toolkit's default floor.
        tls.minimumTLSVersion = .tlsv12
        func version(_ name: String) throws(Settings.Invalid) -> TLSVersion? {
            guard let given = try string(name) else { return nil }
            guard let version = versions[given] else {
                throw invalid("tls_server_config: \(name): unknown '\(given)' (known: TLS10, TLS11, TLS12, TLS13)")
            }
            return version
        }
        if let v = try version("min_version") { tls.minimumTLSVersion = v }
        if let v = try version("max_version") { tls.maximumTLSVersion = v }
        let authName = try string("client_auth_type") ?? ClientAuth.none.rawValue
        guard let auth = ClientAuth(rawValue: authName) else {
            throw invalid("tls_server_config: client_auth_type: '\(authName)' is not supported (supported: \(ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let caFile = try string("client_ca_file")
        switch auth {
        case .none:
            guard caFile == nil else { throw invalid("tls_server_config: client_ca_file needs a client_auth_type that verifies") }
        case .verifyIfGiven, .requireAndVerify:
            guard let caFile else { throw invalid("tls_server_config: client_auth_type \(authName) needs client_ca_file") }
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(resolve(caFile))
                guard !roots.isEmpty else { throw invalid("client_ca_file \(caFile): no certificate in it") }
                tls.trustRoots = .certificates(roots)
            } catch let error as Settings.Invalid {
                throw error
            } catch {
                throw invalid("client_ca_file \(caFile): not a PEM certificate that can be read (\(error))")
            }
            tls.certificateVerification = auth == .requireAndVerify ? .noHostnameVerification : .optionalVerification
        }
        config.tls = tls
        return config
    }

    /// `$2y$10$` and 53 characters of salt and hash.
    static func isBcrypt(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(b[2]), b[3] == UInt8(ascii: "$"),
              b[4...5].allSatisfy({ $0 >= 48 && $0 <= 57 }), let cost = Int(String(decoding: b[4..<6], as: UTF8.self)),
              (4...31).contains(cost), b[6] == UInt8(ascii: "$") else { return false }
        return b[7...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 46 || $0 == 47 }
    }

}

/// Basic authentication against bcrypt hashes, off the server's threads:
/// each check costs one bcrypt (tens of milliseconds at cost 10), so checks
/// run on a queue of their own, at most two at a time; a request that would
/// wait for a third is answered 429 at once, so a flood of bad passwords
/// cannot hold the server's threads (or /healthz) hostage. A header that
/// passed is remembered (up to 64) and passes again without a hash. An
/// unknown user costs a hash of the file's highest cost, so timing does not
/// tell users apart.
final class BasicAuth: @unchecked Sendable {
    enum Answer { case allowed, denied, busy }

    let users: [String: String]
    private let decoy: String
    private let lock = NSLock()
    private var inFlight = 0
    private var accepted: Set<String> = []
    private let queue = DispatchQueue(label: "swiftbpf-exporter.bcrypt", attributes: .concurrent)
    static let concurrentChecks = 2

    init(users: [String: String]) {
        self.users = users
        let cost = users.values.compactMap { Int(String($0.dropFirst(4).prefix(2))) }.max() ?? 10
        decoy = String(format: "$2y$%02d$", cost) + String(repeating: "a", count: 53)
    }

    func check(_ header: String?) async -> Answer {
        guard !users.isEmpty else { return .allowed }
        guard let header, header.utf8.count < 4096, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return .denied }
        let user = String(pair[..<colon]), password = String(pair[pair.index(after: colon)...])
        // A NUL would end the password early for crypt: never a match.
        guard !password.utf8.contains(0) else { return .denied }
        let admitted: Bool = lock.withLock {
            if accepted.contains(header) { return true }
            return false
        }
        if admitted { return .allowed }
        let started: Bool = lock.withLock {
            guard inFlight < Self.concurrentChecks else { return false }
            inFlight += 1
            return true
        }
        guard started else { return .busy }
        let hash = users[user]
        let matches = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            queue.async { [decoy] in done.resume(returning: swiftbpf_bcrypt_matches(password, hash ?? decoy) == 1) }
        }
        lock.withLock {
            inFlight -= 1
            if hash != nil && matches {
                if accepted.count >= 64 { accepted.removeAll() }
                accepted.insert(header)
            }
        }
        return hash != nil && matches ? .allowed : .denied
    }
}
