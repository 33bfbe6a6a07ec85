import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// A package the image installs: a verified file (in the package cache, or the local file itself).
public struct ResolvedPackage: Equatable, Sendable {
    public var name: String
    public var version: String
    public var architecture: String
    public var format: PackageFormat
    /// A verified local file: the cache entry for repository packages, the given path for local ones.
    public var path: String
    public var sha256: String
    public var size: Int64
    /// The repository's summary (`apt http://… bookworm main`); nil for a local package.
    public var repository: String?
    /// Where a repository package was downloaded from (its URL in the index or lockfile).
    public var url: String? = nil

    /// `evil 1.0 (all) from http://…/pool/evil.deb`, for errors about the package.
    public var label: String { "\(name) \(version) (\(architecture))" + (url.map { " from \($0)" } ?? "") }
}

/// Resolves an image's packages over apt or yum repositories, with a lockfile. What the image pipeline calls.
///
/// - Without a usable lockfile: every repository's signed index is fetched and verified (apt InRelease
///   via gpgv, yum repomd.xml.asc), the roots and the local packages' own requirements are resolved into a
///   closure (`DependencyResolver`), each package is fetched into the package cache with its sha256
///   checked, and the lockfile is written atomically to `writeLockfile`.
/// - With `lockfile` present and written for the same inputs (format, architecture, roots, local package
///   digests, repositories): no index is fetched and nothing is resolved; only packages missing from the
///   cache are downloaded, and every file's sha256 is checked against the lockfile. A mismatch is an error
///   naming the lockfile, the package and both digests; nothing is written.
/// - A stale lockfile (written for other inputs): offline, an error (the pinned set cannot be trusted to
///   fit and nothing can be resolved); online, it is resolved afresh and the new lockfile written to
///   `writeLockfile`, with a log line saying so.
///
/// Mirrors: `mirrors` maps a URL prefix to another one, applied only when fetching (signatures, digests
/// and lockfile URLs stay the original archive's); `PKGLAYER_APT_MIRROR=FROM=TO[,FROM=TO]` adds pairs.
/// This is how a test serves http://deb.debian.org/debian from 127.0.0.1 with Debian's real signatures.
public enum PackageResolution {
    /// What resolving gives: the package files, and the lockfile to write once the caller has read and
    /// accepted every one of them (nil when the lockfile read was used as it is).
    public struct Outcome {
        public var packages: [ResolvedPackage]
        public var lockfile: Lockfile?
    }

    /// Resolves, and writes the lockfile to `writeLockfile` at once (for callers that do not read the
    /// packages afterwards; the image pipeline uses `resolution` and writes it after layering).
    public static func resolve(format: PackageFormat, architecture: Architecture, roots: [Dependency], local: [String],
                        repositories: [RepositorySpec], lockfile: String?, writeLockfile: String?, offline: Bool,
                        mirrors: [String: String] = [:], cacheRoot: String = CacheLocation.root(),
                        downloader: SourceDownloader = HTTPDownloader()) throws -> [ResolvedPackage] {
        let outcome = try resolution(format: format, architecture: architecture, roots: roots, local: local, repositories: repositories,
                                     lockfile: lockfile, offline: offline, mirrors: mirrors, cacheRoot: cacheRoot, downloader: downloader)
        if let writeLockfile, let fresh = outcome.lockfile {
            try fresh.write(to: writeLockfile)
            Progress.note("wrote the lockfile \(writeLockfile) (\(fresh.packages.count) packages)")
        }
        return outcome.packages
    }

    /// Resolves without writing anything: the lockfile a fresh resolution gives is returned, for the
    /// caller to write (atomically) only once the packages were read and accepted, so a refused package
    /// leaves no lockfile pinning it.
    public static func resolution(format: PackageFormat, architecture: Architecture, roots: [Dependency], local: [String],
                                  repositories: [RepositorySpec], lockfile: String?, offline: Bool,
                                  mirrors: [String: String] = [:], cacheRoot: String = CacheLocation.root(),
                                  downloader: SourceDownloader = HTTPDownloader()) throws -> Outcome {
        let environmentMirrors = try PackageDownloadCache.mirrors(fromEnvironment: ProcessInfo.processInfo.environment)
        let cache = PackageDownloadCache(root: cacheRoot, downloader: downloader, offline: offline,
                                         mirrors: environmentMirrors.merging(mirrors) { _, given in given })
        let localPackages = try local.map { try readLocal($0, format: format) }
        let repositories = try expand(repositories, format: format)
        let archName = format == .deb ? architecture.deb : architecture.rpm
        let inputs = Lockfile.inputsDigest(packageFormat: format, architecture: archName, roots: roots,
                                           localSHA256: localPackages.map(\.sha256), repositories: repositories)
        let locals = localPackages.map { resolved($0, format: format, path: $0.location) }

        if let lockfile, FileManager.default.fileExists(atPath: lockfile) {
            let lock = try Lockfile.read(path: lockfile)
            if lock.inputs == inputs {
                Progress.note("using the lockfile \(lockfile) (\(lock.packages.count) packages)")
                let pinned = try lock.packages.map { try fetchPinned($0, lockfile: lockfile, cache: cache, format: format) }
                return Outcome(packages: (locals + pinned).sorted { $0.name < $1.name }, lockfile: nil)
            }
            guard !offline else {
                throw PkgLayerError(.invalidInput, """
                    the lockfile was written for other inputs (packages, local package files, repositories, format or architecture changed), \
                    and offline nothing can be resolved; resolve once online to update it, or restore the inputs it was written for
                    """, at: lockfile)
            }
            Progress.note("the lockfile \(lockfile) is stale (the inputs changed): resolving again")
        }

        let closure = try resolveClosure(format: format, architecture: architecture, roots: roots, local: localPackages,
                                         repositories: repositories, cache: cache)
        var result = locals
        var entries: [Lockfile.Entry] = []
        for package in closure where package.repository != nil {
            let path = try naming(package.label) {
                try cache.package(url: package.location, sha256: package.sha256, size: package.size > 0 ? package.size : nil, mismatch: { actual in
                    PkgLayerError(.invalidInput, """
                        the downloaded file has sha256 \(actual), but the repository index (\(package.repository!)) \
                        says \(package.sha256); it was not kept. The mirror is corrupt or was tampered with
                        """, at: package.location)
                })
            }
            var entry = resolved(package, format: format, path: path)
            entry.url = package.location
            result.append(entry)
            entries.append(Lockfile.Entry(name: package.name, version: package.version, architecture: package.architecture,
                                          url: package.location, sha256: package.sha256, size: package.size,
                                          repository: package.repository!))
        }
        return Outcome(packages: result.sorted { $0.name < $1.name },
                       lockfile: Lockfile(packageFormat: format, architecture: archName, inputs: inputs, packages: entries))
    }

    /// Runs `body`; a `PkgLayerError` it throws gets `what` (the package) in front of its message.
    static func naming<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PkgLayerError {
            throw PkgLayerError(error.code, "\(what): \(error.message)", at: error.location, cause: error.cause)
        }
    }

    private static func resolved(_ package: AvailablePackage, format: PackageFormat, path: String) -> ResolvedPackage {
        ResolvedPackage(name: package.name, version: package.version, architecture: package.architecture, format: format,
                        path: path, sha256: package.sha256, size: package.size, repository: package.repository)
    }

    /// One lockfile entry: the cached file, else downloaded; its sha256 must be the lockfile's.
    private static func fetchPinned(_ entry: Lockfile.Entry, lockfile: String, cache: PackageDownloadCache,
                                    format: PackageFormat) throws -> ResolvedPackage {
        let path = try naming("package \(entry.name) \(entry.version)") {
            try cache.package(url: entry.url, sha256: entry.sha256, size: entry.size > 0 ? entry.size : nil, mismatch: { actual in
                PkgLayerError(.invalidInput, """
                    the lockfile pins sha256 \(entry.sha256), but \(entry.url) has sha256 \(actual); \
                    nothing was written. If the repository really changed, delete the lockfile to resolve again
                    """, at: lockfile)
            })
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        guard size == entry.size else {
            throw PkgLayerError(.invalidInput, """
                package \(entry.name) \(entry.version): the lockfile gives size \(entry.size), but the file with its sha256 has \(size ?? -1) bytes; \
                the lockfile was edited. Delete it to resolve again
                """, at: lockfile)
        }
        return ResolvedPackage(name: entry.name, version: entry.version, architecture: entry.architecture, format: format,
                               path: path, sha256: entry.sha256, size: entry.size, repository: entry.repository, url: entry.url)
    }
}
