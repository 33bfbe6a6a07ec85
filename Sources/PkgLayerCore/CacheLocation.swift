import Foundation
import Logging

/// pkglayer's cache directory: `$PKGLAYER_CACHE`, else `$XDG_CACHE_HOME/pkglayer`, else
/// `~/.cache/pkglayer`. Sources live under `sources/`, build outputs under `outputs/`.
///
/// What is in the cache is built from and signed, so only its owner may write it: the root is created
/// mode 0700 on first use (so every cache under it is private whatever its own mode), and the caches
/// pkglayer creates inside it are made 0700 too (`makePrivateDirectory`). An existing root is never
/// changed (it may be a directory a team shares on purpose), but one that other users can write is
/// warned about once.
public enum CacheLocation {
    /// This process's cache root, prepared: created 0700 when missing, warned about when others can write it.
    public static func root() -> String {
        let path = root(ProcessInfo.processInfo.environment)
        prepareRoot(path)
        return path
    }

    /// The cache root `env` names. Only computes the path: nothing is created (a caller asking where a
    /// cache would be, for another environment, must not make directories on the host).
    public static func root(_ env: [String: String]) -> String {
        let path: String
        if let explicit = env["PKGLAYER_CACHE"], !explicit.isEmpty {
            path = explicit
        } else if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            path = (xdg as NSString).appendingPathComponent("pkglayer")
        } else {
            let home = env["HOME"] ?? NSHomeDirectory()
            path = (home as NSString).appendingPathComponent(".cache/pkglayer")
        }
        return path
    }

    /// Creates `path` and any missing parents, each mode 0700; an existing directory is left as it is.
    public static func makePrivateDirectory(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw PkgLayerError(.io, "is not a directory; pkglayer keeps a cache here: move the file away or set PKGLAYER_CACHE", at: path)
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makePrivateDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw PkgLayerError.posix("creating the cache directory", path: path)
        }
    }

    /// Roots already checked in this process: each is created or warned about once.
    private static let checked = CheckedRoots()

    private static func prepareRoot(_ path: String) {
        guard checked.insert(path) else { return }
        var st = stat()
        if stat(path, &st) != 0 {
            // Best effort: a cache that cannot be created fails later, where it is written, naming the path.
            try? makePrivateDirectory(path)
            return
        }
        if (st.st_mode & S_IFMT) == S_IFDIR, st.st_mode & 0o022 != 0 {
            Logger(label: "pkglayer.cache").warning("""
                the cache directory \(path) is writable by other users (mode \(String(st.st_mode & 0o777, radix: 8))): \
                anyone who can write it can change what pkglayer copies out and signs; `chmod 700 \(path)` unless it is shared on purpose
                """)
        }
    }
}

/// A set of paths behind a lock.
private final class CheckedRoots: @unchecked Sendable {  // `paths` only under `lock`
    private let lock = NSLock()
    private var paths: Set<String> = []

    /// Whether `path` was new.
    func insert(_ path: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return paths.insert(path).inserted
    }
}
