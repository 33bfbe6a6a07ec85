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
/// A hit counts only if the blob is still in the store with the recorded size.
///
/// Entries are small JSON files `DIR/<key hex>.json`, written atomically.
public final class LayerCache {
    public let directory: String
    /// Bump when the layer bytes for the same manifest change (member spelling, header choices).
    public static let formatVersion = "pkglayer-layer-1"

    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw PkgLayerError(.io, "cannot create the layer cache: \(error.localizedDescription)", at: directory)
        }
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

    /// The recorded layer, if its blob is still in `store`.
    public func lookup(_ key: Digest, in store: BlobStore) -> LayerBlob? {
        guard let data = FileManager.default.contents(atPath: path(for: key)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let digest = (object["digest"] as? String).flatMap(Digest.init(parsing:)),
              let diffID = (object["diffID"] as? String).flatMap(Digest.init(parsing:)),
              let size = (object["size"] as? NSNumber)?.int64Value,
              let uncompressed = (object["uncompressedSize"] as? NSNumber)?.int64Value,
              store.has(digest, size: size) else { return nil }
        return LayerBlob(descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size),
                         diffID: diffID, uncompressedSize: uncompressed)
    }

    public func record(_ key: Digest, _ layer: LayerBlob) throws {
        let value = JSONValue.object([
            "digest": .string(layer.descriptor.digest.description), "size": .int(layer.descriptor.size),
            "diffID": .string(layer.diffID.description), "uncompressedSize": .int(layer.uncompressedSize),
        ])
        let file = try AtomicFile(path: path(for: key), overwrite: true)
        try file.write(value.canonicalBytes)
        try file.commit()
    }
}
