import Foundation
import PkgLayerCore

/// Fetches repository packages and indexes over http, https or file, through content-addressed caches:
/// packages under `<cache>/packages/sha256/<hex>`, repository indexes (Packages, primary.xml) under
/// `<cache>/indexes/sha256/<hex>`, keyed by the sha256 their signed index (InRelease, repomd.xml) gives.
/// Bytes are hashed while they stream into a temporary file and renamed into place only when the digest
/// matches (`SourceCache`), so a second resolution needs no download and a bad file is never kept.
///
/// Mirrors: `mirrors` maps a URL prefix to another (`http://deb.debian.org/debian` →
/// `http://127.0.0.1:8080/debian`). The rewrite applies only when fetching: signatures and digests stay the
/// original archive's, and lockfiles keep the original URLs. `PKGLAYER_APT_MIRROR=FROM=TO[,FROM=TO…]`
/// adds to it (see `mirrors(fromEnvironment:)`).
public struct PackageDownloadCache {
    public let packages: SourceCache
    public let indexes: SourceCache
    public var downloader: SourceDownloader
    /// When set, nothing is fetched over the network: a file missing from the cache is an error.
    public var offline: Bool
    /// Longest prefix wins.
    public var mirrors: [String: String]

    public init(root: String = CacheLocation.root(), downloader: SourceDownloader = HTTPDownloader(),
                offline: Bool = false, mirrors: [String: String] = [:]) {
        packages = SourceCache(root: root, namespace: "packages")
        indexes = SourceCache(root: root, namespace: "indexes")
        self.downloader = downloader
        self.offline = offline
        self.mirrors = mirrors
    }

    /// Parses `PKGLAYER_APT_MIRROR`: `FROM=TO` pairs separated by commas or spaces.
    public static func mirrors(fromEnvironment env: [String: String] = ProcessInfo.processInfo.environment) throws -> [String: String] {
        guard let text = env["PKGLAYER_APT_MIRROR"], !text.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex, pair.index(after: eq) != pair.endIndex else {
                throw PkgLayerError(.usage, "'\(pair)' is not FROM=TO (e.g. http://deb.debian.org/debian=http://127.0.0.1:8080/debian)",
                                    at: "PKGLAYER_APT_MIRROR")
            }
            result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return result
    }

    /// `url` with the longest matching mirror prefix replaced.
    public func rewritten(_ url: String) -> String {
        let match = mirrors.keys.filter { url.hasPrefix($0) }.max { $0.count < $1.count }
        guard let from = match else { return url }
        return mirrors[from]! + url.dropFirst(from.count)
    }

    /// A package file by digest: the cached entry, else fetched from `url` and verified.
    /// `mismatch(actual)` builds the error for a file whose digest differs (default: names the URL and
    /// both digests). `size`, the size the index gives (apt's `Size`), is checked as the bytes arrive:
    /// a server sending more is cut off, one sending another amount is an error, and it sets the
    /// download's deadline (`DownloadDeadline`).
    public func package(url: String, sha256: String, size: Int64? = nil, mismatch: ((String) -> Error)? = nil) throws -> String {
        try fetch(url: url, sha256: sha256, size: size, into: packages, mismatch: mismatch)
    }

    /// A repository index by digest (and size, when the signed index gives it): the cached entry, else
    /// fetched from `url` and verified.
    public func index(url: String, sha256: String, size: Int64? = nil) throws -> String {
        try fetch(url: url, sha256: sha256, size: size, into: indexes)
    }

    /// Whether a package is cached (and still matches its digest).
    public func hasPackage(sha256: String) -> Bool { (try? packages.lookup(sha256: sha256)) != nil }

    private func fetch(url: String, sha256: String, size: Int64?, into store: SourceCache, mismatch: ((String) -> Error)? = nil) throws -> String {
        if let hit = try store.lookup(sha256: sha256) { return hit }
        if offline && !Self.isLocal(url) {
            throw PkgLayerError(.io, "offline, and the file with sha256 \(sha256) is not in the cache (\(store.sourcesDirectory)); run once online to fill it",
                                at: url)
        }
        let source = rewritten(url)
        Progress.note("fetching \(source)")
        let writer = try store.makeWriter(expectedSHA256: sha256)
        let expected = size.map { UInt64(max(0, $0)) }
        do {
            try stream(source, expectedSize: expected) { chunk in
                if let expected, writer.bytesWritten + UInt64(chunk.count) > expected {
                    throw Self.sizeMismatch(expected: expected, actual: nil, at: source)
                }
                try writer.write(chunk)
            }
            if let expected, writer.bytesWritten != expected {
                throw Self.sizeMismatch(expected: expected, actual: writer.bytesWritten, at: source)
            }
        } catch {
            writer.discard()
            throw error
        }
        let origin = source == url ? url : "\(source) (mirror of \(url))"
        return try writer.commit(mismatch: mismatch ?? { SourceCache.mismatch(origin: origin, expected: sha256, actual: $0) })
    }

    /// A small file that has no digest yet (InRelease, repomd.xml, a signature), read into memory.
    public func unpinned(url: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let source = rewritten(url)
        if offline && !Self.isLocal(source) {
            throw PkgLayerError(.io, "offline: cannot fetch a repository index; use a lockfile, or go online", at: url)
        }
        var bytes: [UInt8] = []
        try stream(source, maximumSize: UInt64(limit)) { chunk in
            guard bytes.count + chunk.count <= limit else {
                throw PkgLayerError(.io, "larger than \(limit) bytes, more than a repository index may be", at: source)
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// A file that has no digest (the Packages index of a trusted repository without Release), streamed
    /// into `path` (not memory), at most `limit` bytes. A failed transfer removes what it wrote.
    public func unpinned(url: String, limit: UInt64, to path: String) throws {
        let source = rewritten(url)
        if offline && !Self.isLocal(source) {
            throw PkgLayerError(.io, "offline: cannot fetch a repository index; use a lockfile, or go online", at: url)
        }
        let file = try AtomicFile(path: path, overwrite: true, mode: 0o644)
        do {
            try stream(source, maximumSize: limit) { chunk in
                guard file.bytesWritten + UInt64(chunk.count) <= limit else {
                    throw PkgLayerError(.io, "larger than \(limit) bytes, more than a repository index may be", at: source)
                }
                try file.write(chunk)
            }
            try file.commit()
        } catch {
            unlink(file.temporaryPath)
            throw error
        }
    }

    /// The error for a file whose length is not the size its index gives (`actual` nil: it grew past it).
    static func sizeMismatch(expected: UInt64, actual: UInt64?, at location: String) -> PkgLayerError {
        let got = actual.map { "is \($0) bytes" } ?? "is larger"
        return PkgLayerError(.invalidInput, """
            the file \(got), but the signed index gives its size as \(expected); nothing was kept. \
            The mirror is out of date (a sync in progress?) or was tampered with; try again later or use another mirror
            """, at: location)
    }

    static func isLocal(_ url: String) -> Bool { url.hasPrefix("file:") || url.hasPrefix("/") }

    /// Streams a file (`file://` or a path) or an http(s) body. `expectedSize` and `maximumSize` bound an
    /// http transfer's length and deadline (`SourceDownloader`).
    public func stream(_ url: String, expectedSize: UInt64? = nil, maximumSize: UInt64? = nil,
                       _ sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        if Self.isLocal(url) {
            let path = url.hasPrefix("file://") ? String(url.dropFirst(7)) : url.hasPrefix("file:") ? String(url.dropFirst(5)) : url
            let decoded = path.removingPercentEncoding ?? path
            guard FileManager.default.fileExists(atPath: decoded) else {
                throw PkgLayerError(.io, "no such file", at: url)
            }
            try FileReader.forEachBlock(path: decoded, sink)
            return
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme, scheme == "http" || scheme == "https" else {
            throw PkgLayerError(.invalidInput, "unsupported URL; use http://, https:// or file://", at: url)
        }
        try downloader.download(url: parsed, expectedSize: expectedSize, maximumSize: maximumSize, to: sink, progress: { _, _, _ in })
    }
}
