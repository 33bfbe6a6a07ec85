import Foundation
import PkgLayerCore
import PkgLayerRPM

/// How `Publisher.publish` writes a repository.
public struct PublishOptions: Sendable {
    /// Signs `repodata/repomd.xml` (→ `repomd.xml.asc`) and apt's Release (→ `InRelease`, `Release.gpg`).
    /// nil publishes an unsigned repository.
    public var signer: (any PackageSigner)?
    /// Instead of `signer`: a signer for the metadata's own timestamp, so the signature's date is the
    /// metadata's date (SOURCE_DATE_EPOCH, else the newest package's build time) and as reproducible.
    public var signerAt: (@Sendable (Int64) throws -> any PackageSigner)?
    /// Whether the metadata will be signed.
    public var signs: Bool { signer != nil || signerAt != nil }
    /// Publishing without a signer into a repository whose metadata is signed is refused (every client
    /// with gpgcheck or signed-by would break); `true` (`--unsigned`) removes the signatures on purpose.
    public var allowUnsigned = false
    /// Keep only the N newest versions of each name and architecture (per format); nil keeps all.
    public var keep: Int?
    /// apt: the suite (`dists/SUITE`), the component the pool and the indexes use, and the Release's
    /// Origin and Label.
    public var suite: String
    public var component: String
    public var origin: String?
    public var label: String?
    /// apt: `Valid-Until:` is the metadata time plus this many seconds (nil: no Valid-Until).
    public var validFor: Int64?
    /// The metadata's timestamps (repomd's revision and timestamps, Release's Date). nil takes the newest
    /// build time among the repository's packages. The CLI passes `SourceDateEpoch.fromEnvironment()`.
    public var sourceDateEpoch: SourceDateEpoch?
    /// How yum's primary, filelists and other are compressed: gzip (every dnf and yum) or zstd (dnf with
    /// libsolv built with zstd, as on Fedora, EL9 and Debian 12).
    public var yumCompression: YumMetadataCompression

    public init(signer: (any PackageSigner)? = nil, keep: Int? = nil, suite: String = "stable", component: String = "main",
                origin: String? = nil, label: String? = nil, validFor: Int64? = nil, sourceDateEpoch: SourceDateEpoch? = nil,
                yumCompression: YumMetadataCompression = .gzip) {
        self.signer = signer
        self.keep = keep
        self.suite = suite
        self.component = component
        self.origin = origin
        self.label = label
        self.validFor = validFor
        self.sourceDateEpoch = sourceDateEpoch
        self.yumCompression = yumCompression
    }
}

public enum YumMetadataCompression: String, Sendable, Codable, CaseIterable {
    case gzip, zstd

    var fileExtension: String { self == .gzip ? "gz" : "zst" }
}

/// One package in a published repository, as the index keeps it: where it lies, the identity of its
/// bytes, and the metadata each format's indexes need, read once when the package was added.
public struct PublishedPackage: Codable, Sendable, Equatable {
    /// Relative to the repository root: `Packages/hello-1.0-1.x86_64.rpm`, `pool/main/h/hello/hello_1.0-1_amd64.deb`.
    public var path: String
    public var sha256: String
    public var size: UInt64
    /// The package's build time (rpm's BUILDTIME; a .deb's member time), for the default metadata time.
    public var buildTime: Int64
    public var rpm: RPMRepositoryEntry?
    public var deb: AptPackageEntry?

    public init(path: String, sha256: String, size: UInt64, buildTime: Int64, rpm: RPMRepositoryEntry? = nil, deb: AptPackageEntry? = nil) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.buildTime = buildTime
        self.rpm = rpm
        self.deb = deb
    }

    /// `name-[epoch:]version-release.arch` or `name_version_arch`: what two packages must not share.
    public var identity: String {
        if let rpm { return "\(rpm.name)-\(RPMVersionOrder.join(epoch: rpm.epoch, version: rpm.version, release: rpm.release)).\(rpm.arch)" }
        if let deb { return "\(deb.package)_\(deb.version)_\(deb.architecture)" }
        return path
    }

    /// What `--keep` groups by: the format, the name and the architecture.
    var keepGroup: String {
        if let rpm { return "rpm\u{0}\(rpm.name)\u{0}\(rpm.arch)" }
        if let deb { return "deb\u{0}\(deb.package)\u{0}\(deb.architecture)" }
        return path
    }
}

/// What one publish did.
public struct PublishResult: Sendable, Equatable {
    /// Repository-relative paths of the packages copied in.
    public var added: [String]
    /// Inputs that were already in the repository with the same bytes.
    public var unchanged: [String]
    /// Packages removed by `keep` (deleted after the switch).
    public var removed: [String]
    /// Whether new metadata was written (false when nothing changed).
    public var metadataChanged: Bool
    /// The metadata generation now served (`.pkglayer/gen/<id>`).
    public var generation: String
    /// How many rpms and debs the repository now lists.
    public var rpmCount: Int
    public var debCount: Int
    /// Repository-relative metadata files a client fetches first: `repodata/repomd.xml`, `dists/SUITE/InRelease`.
    public var entryPoints: [String]
}
