import Foundation
import PkgLayerCore

/// A user name and a password (or token) for one registry. Its description never shows the secret.
public struct RegistryCredential: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username; self.password = password
    }

    public var description: String { "credential for \(username) (secret hidden)" }

    /// `Basic base64(user:password)`.
    var basicAuthorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}

/// Docker's `config.json`: `auths` (base64 `user:password` per registry), `credsStore` and
/// `credHelpers` (`docker-credential-NAME get|store`). Keys pkglayer does not know are kept as they are.
public struct DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    public let path: String

    public init(path: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let path { self.path = path; return }
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty {
            self.path = "\(dir)/config.json"
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            self.path = "\(home)/.docker/config.json"
        }
    }

    /// The key docker uses for a registry in `auths` (Docker Hub has its historical URL).
    public static func key(for registry: String) -> String {
        ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(registry) ? "https://index.docker.io/v1/" : registry
    }

    func load() throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "is not a JSON object; fix or remove it (docker's config.json format)", at: path)
        }
        return object
    }

    /// The helper (`docker-credential-NAME`) that holds this registry's secret, if any.
    func helper(for registry: String, in config: [String: Any]) -> String? {
        let key = Self.key(for: registry)
        if let helpers = config["credHelpers"] as? [String: String], let name = helpers[key] ?? helpers[registry] { return name }
        return config["credsStore"] as? String
    }

    /// The stored credential for `registry`, from a credential helper or from `auths`; nil when none.
    public func credential(for registry: String) throws -> RegistryCredential? {
        let config = try load()
        let key = Self.key(for: registry)
        if let helper = helper(for: registry, in: config),
           let found = try CredentialHelper(name: helper).get(serverURL: key) {
            return found
        }
        let auths = config["auths"] as? [String: Any] ?? [:]
        let candidates = [key, registry, "https://\(registry)", "http://\(registry)", "https://\(registry)/v1/", "https://\(registry)/v2/"]
        guard let entry = candidates.lazy.compactMap({ auths[$0] as? [String: Any] }).first else { return nil }
        if let auth = entry["auth"] as? String, !auth.isEmpty {
            guard let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":") else {
                throw PkgLayerError(.invalidInput, "auths[\"\(key)\"].auth is not base64 of user:password; run pkglayer login again", at: path)
            }
            return RegistryCredential(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        if let user = entry["username"] as? String, let password = entry["password"] as? String {
            return RegistryCredential(username: user, password: password)
        }
        return nil
    }

    /// Stores a credential: through the registry's credential helper when one is configured, else in
    /// `auths` (base64, as docker does). The file is written atomically with mode 0600.
    public func store(_ credential: RegistryCredential, for registry: String) throws {
        var config = try load()
        let key = Self.key(for: registry)
        if let helper = helper(for: registry, in: config) {
            try CredentialHelper(name: helper).store(credential, serverURL: key)
            return
        }
        var auths = config["auths"] as? [String: Any] ?? [:]
        auths[key] = ["auth": Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()]
        config["auths"] = auths
        try write(config)
    }

    func write(_ config: [String: Any]) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw PkgLayerError(.io, "cannot create the directory for config.json: \(error.localizedDescription)", at: dir)
            }
        }
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let file = try AtomicFile(path: path, overwrite: true, mode: 0o600)
        try file.write([UInt8](data) + [0x0A])
        try file.commit()
    }
}

/// `docker-credential-NAME get|store`, the credential helper protocol: the server URL (get) or a JSON
/// object (store) on stdin, a JSON object `{"Username","Secret"}` on stdout.
struct CredentialHelper {
    let name: String

    var program: String { "docker-credential-\(name)" }

    func get(serverURL: String) throws -> RegistryCredential? {
        let (status, output, _) = try run(["get"], input: Data(serverURL.utf8))
        if status != 0 {
            // The helpers print "credentials not found in native keychain" for an unknown server.
            if String(decoding: output, as: UTF8.self).lowercased().contains("not found") { return nil }
            throw PkgLayerError(.auth, "\(program) get exited with status \(status); check the helper or remove it from config.json", at: program)
        }
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
              let user = object["Username"] as? String, let secret = object["Secret"] as? String else {
            throw PkgLayerError(.auth, "\(program) get printed no {\"Username\",\"Secret\"} object", at: program)
        }
        return RegistryCredential(username: user, password: secret)
    }

    func store(_ credential: RegistryCredential, serverURL: String) throws {
        let payload = try JSONSerialization.data(withJSONObject: ["ServerURL": serverURL, "Username": credential.username, "Secret": credential.password], options: [.sortedKeys])
        let (status, _, _) = try run(["store"], input: payload)
        guard status == 0 else {
            throw PkgLayerError(.auth, "\(program) store exited with status \(status); the credential was not stored", at: program)
        }
    }

    /// Runs the helper; its output is never quoted in errors (it can hold the secret).
    private func run(_ arguments: [String], input: Data) throws -> (Int32, Data, Data) {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw PkgLayerError(.toolMissing, "config.json names credential helper '\(name)', but \(program) is not on PATH; install it or remove it from config.json", at: program)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin; process.standardOutput = stdout; process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, out, err)
    }
}
