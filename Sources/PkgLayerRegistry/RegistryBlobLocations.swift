import Foundation
import PkgLayerCore

/// Where blobs were last seen, per registry: `{"REGISTRY": {"sha256:…": ["repo/a", …]}}`, so a push to
/// another repository of the same registry mounts them instead of uploading (docker and skopeo keep
/// such a cache too). It is only a hint: a wrong entry costs one mount request that falls back to an
/// upload. Written atomically after each push or pull; a lost update between two processes only
/// loses hints.
public struct RegistryBlobLocations {
    public let path: String
    /// Repositories remembered per blob, newest first.
    static let perBlob = 4

    /// `CACHE/registry-blobs.json` (see `CacheLocation`).
    public static var defaultPath: String { "\(CacheLocation.root())/registry-blobs.json" }

    public init(path: String) { self.path = path }

    func load() -> [String: [String: [String]]] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: [String: [String]]] else { return [:] }
        return object
    }

    /// Repositories of `registry` that held `digest`, other than `except`.
    func repositories(of digest: Digest, in registry: String, except: String) -> [String] {
        (load()[registry]?[digest.description] ?? []).filter { $0 != except }
    }

    /// Remembers that `repository` of `registry` holds these blobs.
    func record(_ digests: [Digest], in registry: String, repository: String) {
        guard !digests.isEmpty else { return }
        var all = load()
        var known = all[registry] ?? [:]
        for digest in digests {
            known[digest.description] = Array(([repository] + (known[digest.description] ?? []).filter { $0 != repository }).prefix(Self.perBlob))
        }
        all[registry] = known
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: all, options: [.sortedKeys])
            let file = try AtomicFile(path: path, overwrite: true, mode: 0o644)
            try file.write([UInt8](data))
            try file.commit()
        } catch {
            // A cache that cannot be written only costs future mounts.
        }
    }
}
