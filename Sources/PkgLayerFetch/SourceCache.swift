import Foundation
import PkgLayerCore

/// A content-addressed store: `<root>/<namespace>/sha256/<hex>`. Build keeps source files under the
/// `sources` namespace; repository packages and indexes use `packages` and `indexes`
/// (`PackageDownloadCache`).
///
/// An entry is only ever created by writing a temporary file in the same directory, hashing what was
/// written, comparing with the expected digest and renaming it into place; a mismatch deletes the
/// temporary file. So an entry's name is always its content's digest, a killed download leaves at most a
/// hidden `.<hex>.tmp-XXXXXX`, and a bad file is never kept. Lookups re-hash the entry and remove one
/// that no longer matches (a disk error or a hand edit).
public struct SourceCache: Sendable, Equatable {
    public let root: String
    /// The folder under `root`: `sources`, `packages`, `indexes`.
    public let namespace: String

    public init(root: String, namespace: String = "sources") {
        self.root = root
        self.namespace = namespace
    }

    /// `$PKGLAYER_CACHE`, else `$XDG_CACHE_HOME/pkglayer`, else `~/.cache/pkglayer`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        CacheLocation.root(environment)
    }

    public static var `default`: SourceCache { SourceCache(root: CacheLocation.root()) }

    public var sourcesDirectory: String { "\(root)/\(namespace)/sha256" }

    public func path(forSHA256 hex: String) -> String { "\(sourcesDirectory)/\(hex)" }

    /// The cached file for `sha256`, or nil. An entry whose content no longer matches is removed.
    public func lookup(sha256 hex: String) throws -> String? {
        let path = path(forSHA256: hex)
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw PkgLayerError(.io, "cache entry is not a regular file; remove it", at: path)
        }
        if try FileDigest.sha256Hex(path: path) == hex { return path }
        unlink(path)
        return nil
    }

    /// Copies `source` into the cache, verifying its digest on the way. Returns the entry's path.
    /// A mismatch throws (naming `origin`, the expected and the actual digest) and stores nothing.
    @discardableResult
    public func insert(copyOf source: String, expectedSHA256 hex: String, origin: String) throws -> String {
        let writer = try makeWriter(expectedSHA256: hex)
        try FileReader.forEachBlock(path: source) { try writer.write($0) }
        return try writer.commit(origin: origin)
    }

    /// A writer for a new entry; bytes go to a temporary file next to the entry.
    public func makeWriter(expectedSHA256 hex: String) throws -> SourceCacheWriter {
        try FileManager.default.createDirectory(atPath: sourcesDirectory, withIntermediateDirectories: true)
        return try SourceCacheWriter(finalPath: path(forSHA256: hex), expectedSHA256: hex)
    }
}

/// Writes one cache entry: hashes as it writes, and `commit` renames it into place only if the digest
/// matches. Dropped without a successful commit, it deletes its temporary file.
public final class SourceCacheWriter {
    public let expectedSHA256: String
    private let file: AtomicFile
    private var hasher = StreamingHasher([.sha256])

    init(finalPath: String, expectedSHA256: String) throws {
        self.expectedSHA256 = expectedSHA256
        file = try AtomicFile(path: finalPath, overwrite: true, mode: 0o644)
    }

    public var bytesWritten: UInt64 { file.bytesWritten }
    public var temporaryPath: String { file.temporaryPath }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try file.write(bytes)
    }

    /// Deletes what was written (a failed transfer). The writer is unusable afterwards.
    public func discard() {
        unlink(file.temporaryPath)
    }

    /// Verifies and publishes the entry. On a mismatch the temporary file is removed and the error
    /// names `origin` (the URL or file the bytes came from) and both digests.
    public func commit(origin: String) throws -> String {
        try commit { actual in SourceCache.mismatch(origin: origin, expected: expectedSHA256, actual: actual) }
    }

    /// Verifies and publishes the entry; on a mismatch the temporary file is removed and the error is
    /// `mismatch(actual digest)`, so a caller can name where the expected digest came from (a lockfile).
    public func commit(mismatch: (String) -> Error) throws -> String {
        let actual = hasher.finalizeSHA256().hexString
        guard actual == expectedSHA256 else {
            unlink(file.temporaryPath)
            throw mismatch(actual)
        }
        try file.commit()
        return file.finalPath
    }
}

extension SourceCache {
    public static func mismatch(origin: String, expected: String, actual: String) -> PkgLayerError {
        PkgLayerError(.invalidInput, """
            sha256 mismatch: expected \(expected), got \(actual); the file was not kept. \
            If the new file is the one you want, put its sha256 in the recipe; otherwise the download or mirror copy is corrupt or was tampered with
            """, at: origin)
    }
}
