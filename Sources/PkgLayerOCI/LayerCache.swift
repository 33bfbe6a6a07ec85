import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Remembers which layer blob a manifest gave, so an unchanged package costs no file reads, no tar and
/// no gzip on the next assembly: the image-level counterpart of the build room's output cache.
///
/// The key is the sha256 of the canonical JSON of everything that reaches the layer's bytes: each
/// entry's path, kind, mode, owner (ids and names), mtime, size, content sha256, link target,
/// capabilities and ghost flag, plus the writer's compression level, the gzip block size, the gzip
/// engine when it is not the default, and a format version. Where a file comes from (`sourcePath`) is not part of it: the manifest's sha256 stands for
/// the content. A manifest with a non-empty file that has no sha256 has no key and is always written.
/// A hit counts only if the blob is still in the store with the recorded size and is the file recorded
/// (inode, mtime) or hashes to its digest. The directory is private (0700).
///
/// Entries are small JSON files `DIR/<key hex>.json`, written atomically.
public final class LayerCache {
    public let directory: String
    /// Bump when the layer bytes for the same manifest change (member spelling, header choices).
    public static let formatVersion = "pkglayer-layer-1"

    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw PkgLayerError(.io, "cannot create the layer cache: \(error.localizedDescription)", at: directory)
        }
        Self.restrict(directory)
    }

    /// Makes a cache directory of ours private (0700): what it records is trusted on the next build.
    static func restrict(_ directory: String) {
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(),
              info.st_mode & 0o077 != 0 else { return }
        chmod(directory, 0o700)
    }

    /// The blob file's identity when an entry was recorded: its inode and modification time. A blob
    /// rewritten in place (a same-size damaged copy) no longer matches, and is hashed before use.
    static func stamp(_ store: BlobStore, _ digest: Digest) -> (inode: Int64, mtime: Int64)? {
        var info = stat()
        guard lstat(store.path(for: digest), &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return (Int64(bitPattern: UInt64(info.st_ino)), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// The cache key for a manifest written by `writer`, or nil when some file's content has no sha256.
    public static func key(for manifest: FileManifest, compressionLevel: Int) -> Digest? {
        var entries: [JSONValue] = []
        for entry in manifest.entries {
            if entry.kind == .file, entry.size > 0, entry.sha256 == nil, !entry.flags.contains(.ghost) { return nil }
            entries.append(.object([
                ("path", .string(entry.path)), ("kind", .string(entry.kind.rawValue)), ("mode", .int(Int64(entry.mode))),
                ("uid", .int(Int64(entry.uid))), ("gid", .int(Int64(entry.gid))), ("user", .string(entry.user)),
                ("group", .string(entry.group)), ("mtime", .int(entry.mtime)), ("size", .int(Int64(entry.size))),
                ("sha256", entry.sha256.map { JSONValue.string($0.lowercased()) }), ("link", entry.linkTarget.map(JSONValue.string)),
                ("caps", entry.capabilities.map(JSONValue.string)), ("ghost", entry.flags.contains(.ghost) ? .bool(true) : nil),
            ]))
        }
        var fields: [(String, JSONValue?)] = [
            ("format", .string(formatVersion)), ("gzipLevel", .int(Int64(compressionLevel))),
            ("gzipBlock", .int(Int64(ParallelGzipSink.blockSize))), ("entries", .array(entries)),
        ]
        // The engine shapes the bytes too; libdeflate (the default) keeps the keys it always had.
        if GzipEngine.current != .libdeflate { fields.append(("gzipEngine", .string(GzipEngine.current.rawValue))) }
        let value = JSONValue.object(fields)
        return Digest.sha256(value.canonicalBytes)
    }

    private func path(for key: Digest) -> String { "\(directory)/\(key.hex).json" }

    /// The recorded layer, if its blob is still in `store` with the recorded size and either the same
    /// file the entry was recorded with (inode and modification time) or, when not, content that hashes
    /// to its digest (the entry is then recorded again with the file's identity). A damaged blob is a
    /// miss, and the layer is written again.
    public func lookup(_ key: Digest, in store: BlobStore) -> LayerBlob? {
        guard let data = FileManager.default.contents(atPath: path(for: key)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let digest = (object["digest"] as? String).flatMap(Digest.init(parsing:)),
              let diffID = (object["diffID"] as? String).flatMap(Digest.init(parsing:)),
              let size = (object["size"] as? NSNumber)?.int64Value,
              let uncompressed = (object["uncompressedSize"] as? NSNumber)?.int64Value,
              store.has(digest, size: size) else { return nil }
        let layer = LayerBlob(descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size),
                              diffID: diffID, uncompressedSize: uncompressed)
        let recorded = ((object["inode"] as? NSNumber)?.int64Value, (object["mtime"] as? NSNumber)?.int64Value)
        if let now = Self.stamp(store, digest), recorded.0 == now.inode, recorded.1 == now.mtime { return layer }
        guard (try? store.hash(digest)) == digest else { return nil }
        try? record(key, layer, in: store)
        return layer
    }

    /// Records `layer` under `key`; with `store`, with its blob file's identity, so the next lookup
    /// need not hash the blob.
    public func record(_ key: Digest, _ layer: LayerBlob, in store: BlobStore? = nil) throws {
        var fields: [String: JSONValue] = [
            "digest": .string(layer.descriptor.digest.description), "size": .int(layer.descriptor.size),
            "diffID": .string(layer.diffID.description), "uncompressedSize": .int(layer.uncompressedSize),
        ]
        if let store, let stamp = Self.stamp(store, layer.descriptor.digest) {
            fields["inode"] = .int(stamp.inode)
            fields["mtime"] = .int(stamp.mtime)
        }
        let value = JSONValue.object(fields)
        let file = try AtomicFile(path: path(for: key), overwrite: true)
        try file.write(value.canonicalBytes)
        try file.commit()
    }
}
