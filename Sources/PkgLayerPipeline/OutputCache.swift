import Foundation
import PkgLayerCore

/// The output cache: finished build results keyed by a digest of everything that went into them.
///
/// An entry is a directory `outputs/<key>/` holding the package files and `result.json`. It is built
/// in a temporary directory beside it and renamed into place only when complete, so a failed or
/// killed build never leaves a poisoned entry: either the whole entry is there or none of it is.
public struct OutputCache {
    public let directory: String

    public init(root: String = CacheLocation.root()) {
        directory = (root as NSString).appendingPathComponent("outputs")
    }

    public func entryPath(for key: String) -> String { (directory as NSString).appendingPathComponent(key) }

    /// The entry's directory if it is complete, else nil.
    public func lookup(key: String) -> String? {
        let path = entryPath(for: key)
        return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("result.json")) ? path : nil
    }

    /// Fills a fresh temporary directory with `fill` and publishes it as the entry for `key`.
    /// `fill` must write `result.json` last. Returns what `fill` returned.
    @discardableResult
    public func store<T>(key: String, _ fill: (String) throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let staging = try TemporaryDirectory(parent: directory, prefix: ".incoming-\(key.prefix(12))")
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
