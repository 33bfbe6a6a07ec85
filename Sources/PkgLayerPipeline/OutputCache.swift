import Foundation
import Logging
import PkgLayerCore

/// The output cache: finished build results keyed by a digest of everything that went into them.
///
/// An entry is a directory `outputs/<key>/` holding the package files and `result.json`. It is built
/// in a temporary directory beside it and renamed into place only when complete, so a failed or
/// killed build never leaves a poisoned entry: either the whole entry is there or none of it is.
///
/// An entry is checked on use, not trusted: `lookup` reads its record and hashes every package it
/// lists against the sha256 there (cheap next to the copy that follows). An entry whose record is
/// unreadable, names another key, names a file outside the entry, or whose files differ from it is
/// removed (with a warning) and reported as a miss, so the recipe is built again and nothing from it
/// is copied out. The cache directories are made 0700 (`CacheLocation.makePrivateDirectory`).
public struct OutputCache {
    public let directory: String
    private let logger = Logger(label: "pkglayer.output-cache")

    public init(root: String = CacheLocation.root()) {
        directory = (root as NSString).appendingPathComponent("outputs")
    }

    public func entryPath(for key: String) -> String { (directory as NSString).appendingPathComponent(key) }

    /// Marks an entry taken from a registry cache without a signature check (no `--cache-trust`).
    static let unverifiedMarker = ".unverified-remote"

    /// The entry's directory if it is complete and its files are what its record says, else nil (a
    /// damaged entry is removed first, so the build that follows can store a good one).
    ///
    /// With `requireVerifiedRemote` (a run under `--cache-trust`), an entry that an earlier run took from
    /// the registry without checking its signature is not used either: it is removed, so the registry's
    /// entry is fetched again and verified (or the recipe built).
    public func lookup(key: String, requireVerifiedRemote: Bool = false) -> String? {
        let path = entryPath(for: key)
        guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("result.json")) else { return nil }
        if requireVerifiedRemote, FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(Self.unverifiedMarker)) {
            logger.debug("output cache entry \(path) came from a registry unverified; not used under --cache-trust")
            discard(path)
            return nil
        }
        do {
            try verify(entry: path, key: key)
            return path
        } catch {
            let reason = (error as? PkgLayerError)?.message ?? PkgLayerError.describe(error)
            logger.warning("the output cache entry \(path) is damaged (\(reason)); it was removed and the recipe is built again")
            discard(path)
            return nil
        }
    }

    /// Checks the entry at `path` against its own record: the key, each package's name and sha256.
    func verify(entry path: String, key: String) throws {
        let recordPath = (path as NSString).appendingPathComponent("result.json")
        let record = try JSONDecoder().decode(RecipeBuilder.RecipeResult.self, from: Data(contentsOf: URL(fileURLWithPath: recordPath)))
        guard record.cacheKey == key else {
            throw PkgLayerError(.invalidInput, "its record is for key \(record.cacheKey)", at: recordPath)
        }
        for package in record.packages {
            try Self.checkEntryFile(package.file, sha256: package.sha256, in: path)
        }
    }

    /// `name` is a plain file directly in `entry` (no path, no symlink) whose sha256 is `sha256`.
    static func checkEntryFile(_ name: String, sha256: String, in entry: String) throws {
        guard isPlainName(name) else {
            throw PkgLayerError(.invalidInput, "the record names '\(name)', which is not a file name in the entry", at: entry)
        }
        let file = "\(entry)/\(name)"
        var st = stat()
        guard lstat(file, &st) == 0 else { throw PkgLayerError(.invalidInput, "\(name), which the record lists, is missing", at: entry) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw PkgLayerError(.invalidInput, "\(name) is not a regular file", at: entry)
        }
        let actual = try FileDigest.sha256Hex(path: file)
        guard actual == sha256 else {
            throw PkgLayerError(.invalidInput, "\(name) has sha256 \(actual), but the record says \(sha256)", at: entry)
        }
    }

    /// A file name an entry may hold: one component, not hidden (hidden names are the cache's own).
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.hasPrefix(".") && !name.contains("\0")
    }

    /// Moves a damaged entry out of the way (atomically: no one can take it after this), then removes it.
    private func discard(_ path: String) {
        let aside = "\(directory)/.damaged-\((path as NSString).lastPathComponent.prefix(12))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if rename(path, aside) == 0 {
            try? FileManager.default.removeItem(atPath: aside)
        } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Fills a fresh temporary directory with `fill` and publishes it as the entry for `key`.
    /// `fill` must write `result.json` last. Returns what `fill` returned.
    @discardableResult
    public func store<T>(key: String, _ fill: (String) throws -> T) throws -> T {
        try CacheLocation.makePrivateDirectory(directory)
        let staging = try TemporaryDirectory(parent: directory, prefix: ".incoming-\(key.prefix(12))")
        chmod(staging.path, 0o700)
        let value = try fill(staging.path)
        let final = entryPath(for: key)
        guard FileManager.default.fileExists(atPath: (staging.path as NSString).appendingPathComponent("result.json")) else {
            throw PkgLayerError(.io, "cache entry is missing result.json; not stored", at: final)
        }
        if rename(staging.path, final) != 0 {
            // Another build stored the same key first: theirs is as good as ours.
            if errno == ENOTEMPTY || errno == EEXIST { return value }
            throw PkgLayerError.posix("publishing cache entry", path: final)
        }
        return value
    }
}
