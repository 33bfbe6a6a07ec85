import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// One apt archive (root URL, suites, components) read for resolution:
/// `dists/SUITE/InRelease` is fetched and verified with `gpgv` against the keyring *before* anything in it
/// is read (an archive without InRelease: `Release` with its detached `Release.gpg`); its SHA256 list pins
/// `COMPONENT/binary-ARCH/Packages.xz` (else `.gz`, else the uncompressed `Packages`), which is fetched
/// through the index cache and checked against that digest; `Valid-Until` is enforced when present.
///
/// A suite ending in `/` is a flat repository (`deb URL ./`): its InRelease and Packages sit in that
/// directory, and components are not used. With `trusted` (apt's `[trusted=yes]`) the signature is
/// skipped with a logged warning, and a repository without any Release file is read without digests.
public struct AptRepository {
    let logger = Logger(label: "pkglayer.apt")
    public var spec: RepositorySpec
    /// The archive root, without a trailing slash.
    public var url: String
    public var architecture: Architecture
    public var now: Date

    public init(spec: RepositorySpec, architecture: Architecture, now: Date = Date()) throws {
        guard let url = spec.url, !url.isEmpty else {
            throw PkgLayerError(.invalidInput, "the apt repository has no URL; read the host's sources with AptRepository.hostSources()",
                                at: spec.origin)
        }
        guard !spec.suites.isEmpty else {
            throw PkgLayerError(.invalidInput, "the apt repository \(url) names no suite; add e.g. suites: [bookworm]", at: spec.origin)
        }
        self.spec = spec
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.architecture = architecture
        self.now = now
    }

    /// Every package of every suite and component, in suite, component, file order.
    public func packages(cache: PackageDownloadCache) throws -> [AvailablePackage] {
        var result: [AvailablePackage] = []
        for suite in spec.suites {
            let release = try self.release(suite: suite, cache: cache)
            for component in Self.isFlat(suite) ? [""] : spec.components {
                let source = Self.isFlat(suite) ? "\(url) \(suite)" : "\(url) \(suite) \(component)"
                let index = try packagesIndex(release: release, suite: suite, component: component, cache: cache)
                let parse = {
                    // Streamed (IndexStream): a decompression bomb costs time up to the index limit, not memory.
                    var parser = PackagesParser(baseURL: url, repository: "apt \(source)", location: index.url)
                    try IndexStream(path: index.path, location: index.url).forEachChunk { try parser.feed($0) }
                    return try parser.finish()
                }
                guard let sha256 = index.sha256 else {
                    result += try parse()
                    continue
                }
                // Checked against the signed Release already: the parsed form of these bytes can be reused.
                let parsed = ParsedIndexCache(root: cache.indexes.root)
                result += try parsed.packages(key: parsed.key(indexSHA256: sha256, baseURL: url, repository: "apt \(source)", location: index.url),
                                              parse: parse)
            }
        }
        return result
    }

    /// A suite ending in `/` names a flat repository directory.
    static func isFlat(_ suite: String) -> Bool { suite.hasSuffix("/") }

    /// The directory holding a suite's Release files and indexes, ending in `/`.
    func distURL(_ suite: String) -> String {
        guard Self.isFlat(suite) else { return "\(url)/dists/\(suite)/" }
        return suite == "./" ? "\(url)/" : "\(url)/\(suite)"
    }

    /// The `Packages` index of one component as a file: from the index cache, checked against the
    /// Release digests; for a trusted repository without Release, fetched as it is into `scratch`.
    func packagesIndex(release: ReleaseFile?, suite: String, component: String, cache: PackageDownloadCache) throws -> (path: String, url: String, scratch: TemporaryDirectory?, sha256: String?) {
        let base = component.isEmpty ? "Packages" : "\(component)/binary-\(architecture.deb)/Packages"
        var unavailable: PkgLayerError?
        for name in [base + ".xz", base + ".gz", base] {
            let fileURL = distURL(suite) + name
            do {
                guard let release else {
                    let scratch = try TemporaryDirectory(prefix: "pkglayer-apt")
                    let path = "\(scratch.path)/\((name as NSString).lastPathComponent)"
                    try cache.unpinned(url: fileURL, limit: InputLimits.current[.indexBytes], to: path)
                    return (path, fileURL, scratch, nil)
                }
                guard let entry = release.sha256[name] else { continue }
                return (try cache.index(url: fileURL, sha256: entry.sha256, size: entry.size), fileURL, nil, entry.sha256)
            } catch let error as PkgLayerError where error.code == .io {
                // Not on this mirror (a mirror may carry only some compressions): try the next one.
                // A digest mismatch is not .io and is never retried.
                unavailable = error
                logger.debug("\(fileURL): \(error.message); trying the next compression")
            }
        }
        if let unavailable { throw unavailable }
        let components = Set(release?.sha256.keys.compactMap { $0.split(separator: "/").first.map(String.init) } ?? []).sorted()
        throw PkgLayerError(.invalidInput, """
            the Release file lists no \(base)(.xz|.gz): the suite has no component '\(component)' for \(architecture.deb); \
            components it has: \(components.joined(separator: ", "))
            """, at: "\(distURL(suite))InRelease (\(spec.origin))")
    }
}
