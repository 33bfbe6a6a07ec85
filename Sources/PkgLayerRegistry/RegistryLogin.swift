import Foundation
import PkgLayerCore

extension Registry {
    /// Checks `credential` against `registry` (`GET /v2/`, answering its challenge) and, when the
    /// registry accepts it, stores it in docker's config.json (or the configured credential helper).
    /// Returns the config file written. Nothing is stored when the registry refuses.
    @discardableResult
    public static func login(registry: String, credential: RegistryCredential, options: RegistryOptions = RegistryOptions()) async throws -> String {
        var options = options
        options.credential = credential
        let reference = RegistryReference(registry: registry, repository: "")
        // The session's `GET /v2/` is the check.
        try await session(reference, options: options, scopes: []) { _ in }
        let config = DockerConfig(path: options.dockerConfigPath)
        try config.store(credential, for: registry)
        return config.path
    }

    public static func login(registry: String, credential: RegistryCredential, options: RegistryOptions = RegistryOptions()) throws -> String {
        try blocking { try await login(registry: registry, credential: credential, options: options) }
    }
}
