import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// One yum/dnf repository read for resolution: `repodata/repomd.xml` is fetched and (unless the
/// repository is marked trusted, yum's gpgcheck=0) its detached signature `repomd.xml.asc` verified with
/// gpgv against the key, before it is read; the `primary` entry it lists (gz, xz or zst) is fetched
/// through the index cache and checked against repomd's sha256, then parsed (`YumPrimaryParser`).
///
/// Requirement rules: `rpmlib(...)` requires are rpm's own features and need no package; a file
/// requirement (`/bin/sh`) is met by a package that provides it or lists the file in primary.xml
/// (createrepo lists files under /etc, */bin/* and /usr/lib/sendmail); anything else is an error naming
/// the file, as for any missing capability.
public struct YumRepository {
    let logger = Logger(label: "pkglayer.yum")
    public var spec: RepositorySpec
    public var url: String
    public var architecture: Architecture

    public init(spec: RepositorySpec, architecture: Architecture) throws {
        guard let url = spec.url, !url.isEmpty else {
            throw PkgLayerError(.invalidInput, "the yum repository has no baseurl; give the URL of the directory that holds repodata/",
                                at: spec.origin)
        }
        guard spec.trusted || spec.keyring != nil else {
            throw PkgLayerError(.invalidInput, """
                the yum repository \(url) names no key to check repomd.xml.asc against; give its key (e.g. key: RPM-GPG-KEY), \
                or mark it trusted to skip the check (gpgcheck=0)
                """, at: spec.origin)
        }
        self.spec = spec
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.architecture = architecture
    }

    /// The resolver never needs a package for these.
    public static func isRPMFeature(_ name: String) -> Bool { name.hasPrefix("rpmlib(") }

    public func packages(cache: PackageDownloadCache) throws -> [AvailablePackage] {
        let repomdURL = "\(url)/repodata/repomd.xml"
        let repomd = try cache.unpinned(url: repomdURL)
        if spec.trusted {
            logger.warning("\(repomdURL) is not verified: the repository is marked trusted (\(spec.origin))")
        } else {
            let signatureURL = repomdURL + ".asc"
            let signature: [UInt8]
            do {
                signature = try cache.unpinned(url: signatureURL)
            } catch {
                throw PkgLayerError(.invalidInput, "repomd.xml has no signature (\(error)); sign it (gpg --detach-sign --armor) or mark the repository trusted",
                                    at: signatureURL)
            }
            try GPGVerifier.verifyDetached(repomd, signature: signature, keyring: spec.keyring!, url: repomdURL)
        }
        let primary = try YumRepomd(parsing: repomd, location: repomdURL)
        let primaryURL = "\(url)/\(primary.href)"
        let path = try cache.index(url: primaryURL, sha256: primary.sha256, size: primary.size)
        // Checked against repomd.xml's sha256 (itself signed unless trusted): its parsed form can be reused.
        let parsed = ParsedIndexCache(root: cache.indexes.root)
        let key = parsed.key(indexSHA256: primary.sha256, baseURL: url, repository: "yum \(url)", location: primaryURL)
        return try parsed.packages(key: key) {
            try YumPrimaryParser.parse(file: path, baseURL: url, repository: "yum \(url)", location: primaryURL)
        }
    }
}
