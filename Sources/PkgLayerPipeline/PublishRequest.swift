import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerPublish
import PkgLayerRPM

/// `pkglayer publish` (and `build --publish`) as a library call: checks the options, loads the key, signs the
/// packages that are not signed by it yet (copies, never the caller's files), then hands them to the publish room.
public struct PublishRequest: Sendable {
    public var repository: String
    public var packages: [String]
    public var signing: SigningOptions?
    /// With a key: sign packages that carry no signature of that key before publishing them.
    public var signPackages = true
    public var keep: Int?
    public var suite = "stable"
    public var component = "main"
    public var origin: String?
    public var label: String?
    public var validForDays: Int?
    public var yumCompression = "gzip"
    /// `--unsigned`: publish without a key even when the repository is signed now (its signatures go).
    public var allowUnsigned = false

    public init(repository: String, packages: [String]) {
        self.repository = repository; self.packages = packages
    }

    /// What one publish did, for the command line and `--json`.
    public struct Result: Codable, Sendable {
        public var repository: String
        public var added: [String]
        public var unchanged: [String]
        public var removed: [String]
        public var metadataChanged: Bool
        public var rpmCount: Int
        public var debCount: Int
        /// What clients fetch first: `repodata/repomd.xml`, `dists/SUITE/InRelease`.
        public var entryPoints: [String]
        /// `RSA key …` / `EdDSA key …` when signed.
        public var signedBy: String?
        /// Packages signed on the way in (file names).
        public var signedPackages: [String]
    }

    public func run() throws -> Result {
        guard !repository.isEmpty else { throw PkgLayerError(.usage, "name the repository directory", at: "--repo") }
        guard !packages.isEmpty else {
            throw PkgLayerError(.usage, "name at least one .rpm or .deb file to publish", at: "FILE")
        }
        guard let compression = YumMetadataCompression(rawValue: yumCompression) else {
            throw PkgLayerError(.usage, "unknown compression '\(yumCompression)'; use gzip or zstd", at: "--yum-compression")
        }
        if let validForDays, validForDays < 1 {
            throw PkgLayerError(.usage, "must be 1 or more days", at: "--valid-for")
        }
        let epoch = try SourceDateEpoch.fromEnvironment()
        let key = try signing.map { try SigningKey($0) }
        var inputs: [URL] = []
        var signedPackages: [String] = []
        let scratch = try TemporaryDirectory(prefix: "pkglayer-publish")
        for (index, path) in packages.enumerated() {
            // The format is looked at only when the package may need signing (the publish room reads it anyway).
            guard let key, signPackages, try !Self.isSigned(path, format: PackageSigning.format(of: path), by: key) else {
                inputs.append(URL(fileURLWithPath: path))
                continue
            }
            // Sign a copy: the caller's file stays as it was.
            let directory = "\(scratch.path)/\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let copy = "\(directory)/\((path as NSString).lastPathComponent)"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            try PackageSigning.sign(copy, with: key)
            inputs.append(URL(fileURLWithPath: copy))
            signedPackages.append((path as NSString).lastPathComponent)
        }
        var options = PublishOptions(keep: keep, suite: suite, component: component, origin: origin, label: label,
                                     sourceDateEpoch: epoch, yumCompression: compression)
        options.validFor = validForDays.map { Int64($0) * 86_400 }
        if allowUnsigned, key != nil {
            throw PkgLayerError(.usage, "--unsigned publishes without signatures; it cannot be combined with --sign-key", at: "--unsigned")
        }
        options.allowUnsigned = allowUnsigned
        if let key {
            // The metadata's signature carries the metadata's own date (SOURCE_DATE_EPOCH, else the newest
            // package's build time; never before the key's creation): fixed, so publishing again signs the same.
            options.signerAt = { try key.signer(at: $0) }
        }
        let published = try Progress.stage(Stage.publish, repository) {
            try Publisher.publish(packages: inputs, into: URL(fileURLWithPath: repository), options: options)
        }
        return Result(repository: repository, added: published.added, unchanged: published.unchanged, removed: published.removed,
                      metadataChanged: published.metadataChanged, rpmCount: published.rpmCount, debCount: published.debCount,
                      entryPoints: published.entryPoints, signedBy: key?.summary, signedPackages: signedPackages)
    }

    /// Whether the package already carries a signature by `key`.
    static func isSigned(_ path: String, format: PackageFormat, by key: SigningKey) throws -> Bool {
        let url = URL(fileURLWithPath: path)
        switch format {
        case .rpm: return try RPMSigning.signatureInfo(fileAt: url)?.keyID == key.first.keyID
        case .deb: return try DebSigning.signatureInfo(fileAt: url)?.keyID == key.first.keyID
        }
    }
}
