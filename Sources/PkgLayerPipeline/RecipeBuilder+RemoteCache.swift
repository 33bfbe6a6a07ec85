import Foundation
import Logging
import PkgLayerCore
import PkgLayerFetch
import PkgLayerRegistry
import PkgLayerSigning

/// The build cache shared through an OCI registry (`pkglayer build --cache REF`): after a build, its
/// cache entry — every package, the build log and `result.json` — is pushed as an OCI artifact tagged
/// `build-<cache key>`; a runner whose local cache misses asks for that tag first, checks every file
/// against the sha256 in the record, publishes the entry locally whole, and builds nothing.
///
/// Anyone who can push to the cache repository can put any record and any package under any tag, so an
/// entry can be signed: a writer with `signingKey` (`--cache-sign-key`) adds `result.json.asc`, an OpenPGP
/// detached signature over the record's exact bytes (the record lists every package's sha256, so it covers
/// them), and a reader with `trust` (`--cache-trust`) takes only entries whose signature gpgv verifies
/// against that key and whose files match the record; anything else is a miss, warned about once.
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
    /// Signs the entries this run pushes (nil: they are pushed unsigned).
    public var signingKey: CacheSigningKey?
    /// The key every entry this run takes must be signed by (nil: entries are taken unsigned).
    public var trust: CacheTrust?

    public init(repository: RegistryReference, mode: Mode = .readwrite, registry: RegistryOptions = RegistryOptions(),
                signingKey: CacheSigningKey? = nil, trust: CacheTrust? = nil) {
        self.repository = repository; self.mode = mode; self.registry = registry
        self.signingKey = signingKey; self.trust = trust
    }

    public static let signKeyVariable = "PKGLAYER_CACHE_SIGN_KEY"
    public static let signPassphraseFileVariable = "PKGLAYER_CACHE_SIGN_PASSPHRASE_FILE"
    public static let signPassphraseVariable = "PKGLAYER_CACHE_SIGN_PASSPHRASE"
    public static let trustVariable = "PKGLAYER_CACHE_TRUST"

    /// Sets `signingKey` and `trust` from the flags, else the environment, else `packageKey` (`--sign-key`):
    ///
    /// - the entries pushed are signed by `--cache-sign-key` (`$PKGLAYER_CACHE_SIGN_KEY`: a key file, a key id
    ///   in the GnuPG home, or the armored secret key itself), else by the `--sign-key` the packages are signed with;
    /// - the entries taken must be signed by `--cache-trust FILE` (`$PKGLAYER_CACHE_TRUST`: a public key,
    ///   armored or binary), else by the key this run would sign entries with. So a run that signs what it
    ///   builds never signs a package it took unverified from the cache.
    ///
    /// The cache key's passphrase comes from `passphraseFile` (`$PKGLAYER_CACHE_SIGN_PASSPHRASE_FILE`,
    /// `$PKGLAYER_CACHE_SIGN_PASSPHRASE`), else from where `--sign-key`'s does.
    public mutating func configureSigning(signKey: String?, passphraseFile: String?, trust trustFile: String?, packageKey: SigningKey?,
                                          packageSigning: SigningOptions?, gnupgHome: String?,
                                          environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        if let reference = nonEmpty(signKey) ?? nonEmpty(environment[Self.signKeyVariable]) {
            let flagged = nonEmpty(signKey) != nil
            var env = environment
            if let passphrase = environment[Self.signPassphraseVariable] { env[SigningKeyLoader.passphraseVariable] = passphrase }
            let file = nonEmpty(passphraseFile) ?? nonEmpty(environment[Self.signPassphraseFileVariable]) ?? packageSigning?.passphraseFile
            signingKey = try CacheSigningKey(reference: reference, origin: flagged ? "--cache-sign-key" : "$\(Self.signKeyVariable)",
                                             passphraseFile: file, gnupgHome: nonEmpty(gnupgHome) ?? packageSigning?.gnupgHome, environment: env)
        } else if let packageKey {
            signingKey = CacheSigningKey(reusing: packageKey)
        }
        if let file = nonEmpty(trustFile) ?? nonEmpty(environment[Self.trustVariable]) {
            trust = try CacheTrust(file: file, origin: nonEmpty(trustFile) != nil ? "--cache-trust" : "$\(Self.trustVariable)")
        } else if let signingKey {
            trust = CacheTrust(signingKey: signingKey)
        }
    }

    /// The record's detached signature, one more file of the entry.
    public static let signatureName = "result.json.asc"

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
        if file.hasSuffix(".asc") { return "application/pgp-signature" }
        return "text/plain; charset=utf-8"
    }
}


/// The key remote cache entries are signed with (`--cache-sign-key`, or the `--sign-key` reused). Only the
/// signing room sees its secret; this holds a loaded signer and says only its algorithm and key id.
public struct CacheSigningKey: Sendable {
    let signer: OpenPGPSigner
    /// Where it came from, for messages: `--cache-sign-key`, `$PKGLAYER_CACHE_SIGN_KEY` or `--sign-key`.
    public let origin: String

    /// Loads `reference` (a key file, a key id in the GnuPG home, or an armored secret key block itself) and
    /// unlocks it now, so a wrong passphrase fails before anything is built.
    public init(reference: String, origin: String, passphraseFile: String?, gnupgHome: String?,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.origin = origin
        // The same loader as --sign-key (files, key ids, armored or base64 key content); errors name `origin`.
        signer = try SigningKey(SigningOptions(key: reference, passphraseFile: passphraseFile, gnupgHome: gnupgHome, origin: origin),
                                environment: environment).first
    }

    /// The packages' `--sign-key`, signing cache entries too.
    public init(reusing key: SigningKey) {
        signer = key.first
        origin = "--sign-key"
    }

    /// `RSA key 0123456789ABCDEF`: never anything secret.
    public var summary: String { signer.summary }

    /// An armored detached signature over `record`, dated `time` (the recipe's SOURCE_DATE_EPOCH: the same
    /// record signs to the same bytes, so a repeat push uploads nothing).
    func sign(_ record: [UInt8], at time: Int64) throws -> String {
        try signer.at(creationTime: time).armoredDetachedSignature(over: Data(record))
    }
}

/// The public key remote cache entries must be signed by (`--cache-trust`): an entry without a signature,
/// with one by another key, or whose record or files were changed after signing is a miss.
/// Signatures are checked with gpgv (`GPGVerifier`), as repository signatures are.
public struct CacheTrust: Sendable {
    /// The key as given: armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary packets.
    let key: [UInt8]
    let armored: Bool
    /// For messages: `the --cache-trust key keys/cache.asc`.
    public let summary: String

    /// Keys past this size are refused unread (a public key with many signatures stays far below).
    static let maximumKeySize = 1 << 20

    public init(file: String, origin: String = "--cache-trust") throws {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: file)
        } catch {
            throw PkgLayerError(.usage, "cannot read the trusted cache key; name the public key file of the key cache entries are signed with (gpg --armor --export KEYID > cache.asc)", at: "\(origin) \(file)")
        }
        guard attributes[.type] as? FileAttributeType != .typeDirectory else {
            throw PkgLayerError(.usage, "is a directory; name the public key file (gpg --armor --export KEYID > cache.asc)", at: "\(origin) \(file)")
        }
        if let size = attributes[.size] as? NSNumber, size.intValue > Self.maximumKeySize {
            throw PkgLayerError(.limitExceeded, "the trusted cache key is \(size) bytes (at most \(Self.maximumKeySize) are read); name the exported public key", at: "\(origin) \(file)")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PkgLayerError(.usage, "cannot read the trusted cache key; check its permissions", at: "\(origin) \(file)")
        }
        let bytes = [UInt8](data)
        let text = String(decoding: bytes.prefix(64 << 10), as: UTF8.self)
        if text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            throw PkgLayerError(.usage, "is a secret key; readers need only the public key (gpg --armor --export KEYID > cache.asc): keep the secret key on the runners that push", at: "\(origin) \(file)")
        }
        if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            armored = true
        } else if let first = bytes.first, first & 0x80 != 0, (first & 0x40 != 0 ? first & 0x3F : (first >> 2) & 0x0F) == 6 {
            armored = false  // a binary public key packet (new or old format, tag 6)
        } else {
            throw PkgLayerError(.usage, "is not an OpenPGP public key; export the key cache entries are signed with: gpg --armor --export KEYID > cache.asc", at: "\(origin) \(file)")
        }
        key = bytes
        summary = "the \(origin) key \(file)"
    }

    /// Trust the public half of the key this run signs entries with.
    public init(signingKey: CacheSigningKey) {
        key = Array(signingKey.signer.armoredPublicKey.utf8)
        armored = true
        summary = "\(signingKey.origin)'s own key \(signingKey.signer.keyID), since no --cache-trust was given"
    }

    /// Throws unless `signature` is a good signature over `record` by the trusted key (gpgv decides).
    func verify(record: [UInt8], signature: [UInt8], at location: String) throws {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-cache-trust")
        let keyring = "\(scratch.path)/trusted.\(armored ? "asc" : "gpg")"
        guard FileManager.default.createFile(atPath: keyring, contents: Data(key)) else {
            throw PkgLayerError.posix("writing the trusted key for gpgv", path: keyring)
        }
        try GPGVerifier.verifyDetached(record, signature: signature, keyring: keyring, url: location)
    }
}

/// What this process has already warned about (each remote entry once per run).
private final class WarnedOnce: @unchecked Sendable {  // `seen` only under `lock`
    private let lock = NSLock()
    private var seen: Set<String> = []

    func first(_ key: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return seen.insert(key).inserted
    }

    static let shared = WarnedOnce()
}

extension RecipeBuilder {
    /// The remote entry for `key`, published into the local cache, or nil: no such entry, the registry
    /// cannot be reached, the entry is corrupt, or (with `trust`) it is not signed by the trusted key.
    /// Each but the first is one warning per entry and run; the recipe is then built.
    func fetchRemote(key: String, remote: RemoteCacheOptions, recipe: String) -> RecipeResult? {
        let reference = remote.reference(for: key)
        let tag = reference.reference
        struct Absent: Error {}
        struct Untrusted: Error { var reason: String }
        do {
            return try Progress.stage(Stage.pull, reference.description) {
                try cache.store(key: key) { staging -> RecipeResult in
                    guard let pulled = try RegistryArtifacts.pull(reference, artifactType: RemoteCacheOptions.artifactType, into: staging,
                                                                  options: remote.registry) else { throw Absent() }
                    if let trust = remote.trust {
                        guard pulled.files.contains(RemoteCacheOptions.signatureName),
                              let signature = FileManager.default.contents(atPath: "\(staging)/\(RemoteCacheOptions.signatureName)") else {
                            throw Untrusted(reason: "it carries no signature (\(RemoteCacheOptions.signatureName))")
                        }
                        do {
                            try trust.verify(record: pulled.config, signature: [UInt8](signature), at: reference.description)
                        } catch {
                            let detail = PkgLayerError.describe(error)
                            logger.debug("remote cache: \(reference): \(detail)")
                            if detail.contains("No public key") {
                                throw Untrusted(reason: "it is signed by another key")
                            } else if detail.contains("BAD signature") {
                                throw Untrusted(reason: "its signature does not match its record: the record was changed after signing")
                            }
                            throw Untrusted(reason: "its signature does not verify")
                        }
                    }
                    let result = try JSONDecoder().decode(RecipeResult.self, from: Data(pulled.config))
                    guard result.cacheKey == key else {
                        throw PkgLayerError(.invalidInput, "the entry's record has key \(result.cacheKey), not \(key)", at: reference.description)
                    }
                    for package in result.packages {
                        guard pulled.files.contains(package.file) else {
                            throw PkgLayerError(.invalidInput, "the entry lacks \(package.file), which its record lists", at: reference.description)
                        }
                        do {
                            try OutputCache.checkEntryFile(package.file, sha256: package.sha256, in: staging)
                        } catch let error as PkgLayerError {
                            throw PkgLayerError(error.code, error.message, at: reference.description)
                        }
                    }
                    // Nothing the record does not vouch for stays in the local entry.
                    let kept = Set(result.packages.map(\.file) + [RemoteCacheOptions.signatureName])
                    for file in pulled.files where !kept.contains(file) { try? FileManager.default.removeItem(atPath: "\(staging)/\(file)") }
                    if remote.trust == nil {
                        try? FileManager.default.removeItem(atPath: "\(staging)/\(RemoteCacheOptions.signatureName)")
                        // So a later run under --cache-trust does not take it from the local cache unchecked.
                        FileManager.default.createFile(atPath: "\(staging)/\(OutputCache.unverifiedMarker)", contents: Data())
                    }
                    try Data(pulled.config).write(to: URL(fileURLWithPath: "\(staging)/result.json"))
                    return result
                }
            }
        } catch is Absent {
            logger.debug("remote cache: no entry \(reference)")
            return nil
        } catch let untrusted as Untrusted {
            if WarnedOnce.shared.first(reference.description) {
                logger.warning("remote cache entry \(tag) for \(recipe) is not signed by the trusted key (\(remote.trust?.summary ?? "?")): \(untrusted.reason); building")
            }
            return nil
        } catch {
            if WarnedOnce.shared.first(reference.description) {
                // The entry is named once: a registry error's own location is that same reference.
                let reason = (error as? PkgLayerError).map { $0.location == reference.description ? $0.message : $0.description } ?? PkgLayerError.describe(error)
                logger.warning("\(recipe): the remote cache entry \(reference) was not used (\(reason)); building instead")
            }
            return nil
        }
    }

    /// Pushes the local entry for `result` (and the build log) to the remote cache, with the record's
    /// signature when the run has a cache signing key; a failure is a warning.
    func pushRemote(_ result: RecipeResult, logPath: String?, remote: RemoteCacheOptions) {
        let entry = cache.entryPath(for: result.cacheKey)
        var files = result.packages.map { ArtifactFile(name: $0.file, path: "\(entry)/\($0.file)", mediaType: RemoteCacheOptions.mediaType(of: $0.file)) }
        if let logPath, FileManager.default.fileExists(atPath: logPath) {
            files.append(ArtifactFile(name: "build.log", path: logPath, mediaType: RemoteCacheOptions.mediaType(of: "build.log")))
        }
        let reference = remote.reference(for: result.cacheKey)
        do {
            let record = try Data(contentsOf: URL(fileURLWithPath: "\(entry)/result.json"))
            var scratch: TemporaryDirectory?
            var annotations = ["io.pkglayer.recipe": "\(result.name) \(result.version)", "io.pkglayer.cache-key": result.cacheKey]
            if let signingKey = remote.signingKey {
                let directory = try TemporaryDirectory(prefix: "pkglayer-cache-sign")
                scratch = directory
                let path = "\(directory.path)/\(RemoteCacheOptions.signatureName)"
                guard FileManager.default.createFile(atPath: path, contents: Data(try signingKey.sign(Array(record), at: result.sourceDateEpoch).utf8)) else {
                    throw PkgLayerError.posix("writing the record's signature", path: path)
                }
                files.append(ArtifactFile(name: RemoteCacheOptions.signatureName, path: path, mediaType: RemoteCacheOptions.mediaType(of: path)))
                annotations["io.pkglayer.signed-by"] = signingKey.signer.fingerprint
            }
            _ = try Progress.stage(Stage.push, reference.description) {
                try RegistryArtifacts.push(files, config: Array(record), artifactType: RemoteCacheOptions.artifactType,
                                           annotations: annotations, to: reference, options: remote.registry)
            }
            withExtendedLifetime(scratch) {}
        } catch {
            logger.warning("\(result.recipe): pushing to the remote cache \(reference) failed (\(PkgLayerError.describe(error))); the build itself is done")
        }
    }
}
