import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Writes a docker-archive, the `docker save` / `docker load` format that `skopeo inspect
/// docker-archive:FILE` also reads:
///
/// ```
/// <config hex>.json            the image config, byte for byte the OCI config blob
/// <diff id hex>/layer.tar      each layer, uncompressed (as `docker save` writes them), once
/// manifest.json                [{"Config":…,"RepoTags":["name:tag"],"Layers":[…]}]
/// ```
///
/// The layers are decompressed from the store's gzip blobs as they are copied, and checked against
/// their diff IDs. Deterministic in the same way as the oci-archive (fixed order, owner, modes and
/// mtime), written to a temporary file and renamed into place.
public enum DockerArchiveWriter {
    public static func write(_ image: AssembledImage, repoTags: [String], from store: BlobStore, to path: String,
                             epoch: SourceDateEpoch, overwrite: Bool = false) throws {
        for tag in repoTags { try OCIReference.validateRepoTag(tag) }
        let configName = "\(image.config.digest.hex).json"
        let configBytes = try store.read(image.config.digest)
        let layerNames = image.layers.map { "\($0.diffID.hex)/layer.tar" }
        let manifest = JSONValue.array([.object([
            "Config": .string(configName),
            "RepoTags": .array(repoTags.map(JSONValue.string)),
            "Layers": .array(layerNames.map(JSONValue.string)),
        ])])

        let file = try AtomicFile(path: path, overwrite: overwrite, mode: 0o644)
        let archive = try ArchiveWriter(format: .tarPax, sink: file)
        let writer = DeterministicTar(archive: archive, epoch: epoch)
        try writer.file(configName, bytes: configBytes)
        var written: Set<Digest> = []
        for layer in image.layers where written.insert(layer.diffID).inserted {
            try writer.directory("\(layer.diffID.hex)/")
            try writeUncompressed(layer, from: store, as: "\(layer.diffID.hex)/layer.tar", archive: archive, epoch: epoch)
        }
        try writer.file("manifest.json", bytes: manifest.canonicalBytes)
        try archive.finish()
        try file.commit()
    }

    private static func writeUncompressed(_ layer: LayerBlob, from store: BlobStore, as name: String, archive: ArchiveWriter,
                                          epoch: SourceDateEpoch) throws {
        let blobPath = store.path(for: layer.descriptor.digest)
        guard store.has(layer.descriptor.digest, size: layer.descriptor.size) else {
            throw PkgLayerError(.invalidInput, "layer blob \(layer.descriptor.digest) is missing from the store", at: blobPath)
        }
        var header = ArchiveEntryHeader(path: name, mode: 0o100644)
        header.mtime = epoch.seconds
        header.size = UInt64(layer.uncompressedSize)
        try archive.writeHeader(header)
        let reader = try ArchiveReader(path: blobPath, raw: true)
        var hasher = StreamingHasher([.sha256])
        var total: Int64 = 0
        if try reader.next() != nil {
            try reader.readData { block in
                total += Int64(block.count)
                guard total <= layer.uncompressedSize else { return }
                hasher.update(block)
                try archive.writeData(block)
            }
        }
        let diffID = Digest(hex: hasher.finalizeSHA256().hexString)
        guard total == layer.uncompressedSize, diffID == layer.diffID else {
            throw PkgLayerError(.invalidInput, "layer decompresses to \(total) bytes with digest \(diffID), but the image expects \(layer.uncompressedSize) bytes with \(layer.diffID); the store is corrupt",
                                at: blobPath)
        }
    }
}
