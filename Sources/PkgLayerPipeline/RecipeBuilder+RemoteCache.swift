import Foundation
import Logging
import PkgLayerCore
import PkgLayerRegistry

/// The build cache shared through an OCI registry (`pkglayer build --cache REF`): after a build, its
/// cache entry — every package, the build log and `result.json` — is pushed as an OCI artifact tagged
/// `build-<cache key>`; a runner whose local cache misses asks for that tag first, checks every file
/// against the sha256 in the record, publishes the entry locally whole, and builds nothing.
public struct RemoteCacheOptions: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Take hits, never push (untrusted branches).
        case read
        /// Push what was built, never take hits.
        case write
        case readwrite

        public var reads: Bool { self != .write }
        public var writes: Bool { self != .read }
    }

    /// The registry and repository (a tag, if given, is ignored: entries are tagged by cache key).
    public var repository: RegistryReference
    public var mode: Mode
    public var registry: RegistryOptions

    public init(repository: RegistryReference, mode: Mode = .readwrite, registry: RegistryOptions = RegistryOptions()) {
        self.repository = repository; self.mode = mode; self.registry = registry
    }

    /// The cache repository a command was given: its `--cache` value, else `$PKGLAYER_CACHE_REPO`.
    public static func repositoryText(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        flag ?? environment["PKGLAYER_CACHE_REPO"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `application/vnd.pkglayer.build.v1+json`: the artifact type and the config's media type.
    public static let artifactType = "application/vnd.pkglayer.build.v1+json"

    /// The reference of the entry for `key`.
    public func reference(for key: String) -> RegistryReference {
        RegistryReference(registry: repository.registry, repository: repository.repository, tag: "build-\(key)")
    }

    static func mediaType(of file: String) -> String {
        if file.hasSuffix(".rpm") { return "application/x-rpm" }
        if file.hasSuffix(".deb") { return "application/vnd.debian.binary-package" }
        return "text/plain; charset=utf-8"
    }
}

extension RecipeBuilder {
    /// The remote entry for `key`, published into the local cache, or nil (no such entry, the registry
    /// cannot be reached, or the entry is corrupt: each with a warning but the first).
    func fetchRemote(key: String, remote: RemoteCacheOptions, recipe: String) -> RecipeResult? {
        let reference = remote.reference(for: key)
        struct Absent: Error {}
        do {
            return try Progress.stage(Stage.pull, reference.description) {
                try cache.store(key: key) { staging -> RecipeResult in
                    guard let pulled = try RegistryArtifacts.pull(reference, artifactType: RemoteCacheOptions.artifactType, into: staging,
                                                                  options: remote.registry) else { throw Absent() }
                    let result = try JSONDecoder().decode(RecipeResult.self, from: Data(pulled.config))
                    guard result.cacheKey == key else {
                        throw PkgLayerError(.invalidInput, "the entry's record has key \(result.cacheKey), not \(key)", at: reference.description)
                    }
                    for package in result.packages {
                        let path = "\(staging)/\(package.file)"
                        guard pulled.files.contains(package.file), FileManager.default.fileExists(atPath: path) else {
                            throw PkgLayerError(.invalidInput, "the entry lacks \(package.file), which its record lists", at: reference.description)
                        }
                        let actual = try FileDigest.sha256Hex(path: path)
                        guard actual == package.sha256 else {
                            throw PkgLayerError(.invalidInput, "\(package.file) has sha256 \(actual), but the record says \(package.sha256)",
                                                at: reference.description)
                        }
                    }
                    try Data(pulled.config).write(to: URL(fileURLWithPath: "\(staging)/result.json"))
                    return result
                }
            }
        } catch is Absent {
            logger.debug("remote cache: no entry \(reference)")
            return nil
        } catch {
            logger.warning("\(recipe): the remote cache entry \(reference) was not used (\(PkgLayerError.describe(error))); building instead")
            return nil
        }
    }

    /// Pushes the local entry for `result` (and the build log) to the remote cache; a failure is a warning.
    func pushRemote(_ result: RecipeResult, logPath: String?, remote: RemoteCacheOptions) {
        let entry = cache.entryPath(for: result.cacheKey)
        var files = result.packages.map { ArtifactFile(name: $0.file, path: "\(entry)/\($0.file)", mediaType: RemoteCacheOptions.mediaType(of: $0.file)) }
        if let logPath, FileManager.default.fileExists(atPath: logPath) {
            files.append(ArtifactFile(name: "build.log", path: logPath, mediaType: RemoteCacheOptions.mediaType(of: "build.log")))
        }
        let reference = remote.reference(for: result.cacheKey)
        do {
            let record = try Data(contentsOf: URL(fileURLWithPath: "\(entry)/result.json"))
            _ = try Progress.stage(Stage.push, reference.description) {
                try RegistryArtifacts.push(files, config: Array(record), artifactType: RemoteCacheOptions.artifactType,
                                           annotations: ["io.pkglayer.recipe": "\(result.name) \(result.version)", "io.pkglayer.cache-key": result.cacheKey],
                                           to: reference, options: remote.registry)
            }
        } catch {
            logger.warning("\(result.recipe): pushing to the remote cache \(reference) failed (\(PkgLayerError.describe(error))); the build itself is done")
        }
    }
}
