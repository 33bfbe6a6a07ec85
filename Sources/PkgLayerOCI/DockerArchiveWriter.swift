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
        try write(config: image.config, layers: image.layers, repoTags: repoTags, from: store, to: path, epoch: epoch, overwrite: overwrite)
    }

    /// Converts the image tagged `tag` in an OCI layout (anyone's) to a docker-archive. Each layer is
    /// decompressed once to learn its size, then again as it is copied.
    public static func write(layout: OCILayoutReader, tag: String, repoTags: [String], to path: String,
                             epoch: SourceDateEpoch, overwrite: Bool = false) throws {
        guard let descriptor = try layout.manifest(tagged: tag) else {
            throw PkgLayerError(.invalidInput, "the layout has no image tagged '\(tag)'", at: layout.path)
        }
        guard descriptor.mediaType == OCIMediaType.imageManifest || descriptor.mediaType == "application/vnd.docker.distribution.manifest.v2+json" else {
            throw PkgLayerError(.invalidInput, "tag '\(tag)' names a \(descriptor.mediaType), not a single image; pick a platform's image", at: layout.path)
        }
        let blobs = try layout.reachableBlobs(from: descriptor)
        let config = blobs[1], layerDescriptors = Array(blobs.dropFirst(2))
        let configLocation = layout.store.path(for: config.digest)
        guard let object = try JSONSerialization.jsonObject(with: Data(try layout.store.read(config.digest))) as? [String: Any],
              let diffIDs = ((object["rootfs"] as? [String: Any])?["diff_ids"] as? [String])?.map(Digest.init(parsing:)),
              diffIDs.count == layerDescriptors.count, !diffIDs.contains(nil) else {
            throw PkgLayerError(.invalidInput, "the image config's rootfs.diff_ids do not match the manifest's layers", at: configLocation)
        }
        let layers = zip(layerDescriptors, diffIDs).map { LayerBlob(descriptor: $0, diffID: $1!, uncompressedSize: 0) }
        try write(config: config, layers: layers, repoTags: repoTags, from: layout.store, to: path, epoch: epoch, overwrite: overwrite)
    }

    /// A layer whose uncompressed size is not recorded (0: a base image's or another layout's) is
    /// decompressed once to learn it; the tar header needs it before the data.
    static func sized(_ layer: LayerBlob, in store: BlobStore) throws -> LayerBlob {
        guard layer.uncompressedSize == 0 else { return layer }
        var size: Int64 = 0
        let reader = try ArchiveReader(path: store.path(for: layer.descriptor.digest), raw: true)
        if try reader.next() != nil { try reader.readData { size += Int64($0.count) } }
        var sized = layer
        sized.uncompressedSize = size
        return sized
    }

    static func write(config: OCIDescriptor, layers unsized: [LayerBlob], repoTags: [String], from store: BlobStore, to path: String,
                      epoch: SourceDateEpoch, overwrite: Bool) throws {
        try write([(config, unsized, repoTags)], from: store, to: path, epoch: epoch, overwrite: overwrite)
    }

    /// Several images in one archive, as `docker save A B` writes them: one manifest.json entry each,
    /// every config and layer once.
    static func write(_ images: [(config: OCIDescriptor, layers: [LayerBlob], repoTags: [String])], from store: BlobStore, to path: String,
                      epoch: SourceDateEpoch, overwrite: Bool) throws {
        var entries: [JSONValue] = []
        var sizedImages: [(config: OCIDescriptor, layers: [LayerBlob])] = []
        for image in images {
            let layers = try image.layers.map { try sized($0, in: store) }
            for tag in image.repoTags { try OCIReference.validateRepoTag(tag) }
            entries.append(.object([
                "Config": .string("\(image.config.digest.hex).json"),
                "RepoTags": .array(image.repoTags.map(JSONValue.string)),
                "Layers": .array(layers.map { JSONValue.string("\($0.diffID.hex)/layer.tar") }),
            ]))
            sizedImages.append((image.config, layers))
        }
        let file = try AtomicFile(path: path, overwrite: overwrite, mode: 0o644)
        let archive = try ArchiveWriter(format: .tarPax, sink: file)
        let writer = DeterministicTar(archive: archive, epoch: epoch)
        var configs: Set<Digest> = [], written: Set<Digest> = []
        for image in sizedImages where configs.insert(image.config.digest).inserted {
            try writer.file("\(image.config.digest.hex).json", bytes: try store.read(image.config.digest))
        }
        for image in sizedImages {
            for layer in image.layers where written.insert(layer.diffID).inserted {
                try writer.directory("\(layer.diffID.hex)/")
                try writeUncompressed(layer, from: store, as: "\(layer.diffID.hex)/layer.tar", archive: archive, epoch: epoch)
            }
        }
        try writer.file("manifest.json", bytes: JSONValue.array(entries).canonicalBytes)
        try archive.finish()
        try file.commit()
    }

    /// Images of an OCI layout (the local store is one), each by its tag, into one docker-archive
    /// whose RepoTags are the tags.
    public static func write(layout: OCILayoutReader, tags: [String], to path: String, epoch: SourceDateEpoch, overwrite: Bool = false) throws {
        var images: [(config: OCIDescriptor, layers: [LayerBlob], repoTags: [String])] = []
        for tag in tags {
            let (config, layers) = try imageParts(layout: layout, tag: tag)
            images.append((config, layers, [tag]))
        }
        try write(images, from: layout.store, to: path, epoch: epoch, overwrite: overwrite)
    }

    static func imageParts(layout: OCILayoutReader, tag: String) throws -> (OCIDescriptor, [LayerBlob]) {
        guard let descriptor = try layout.manifest(tagged: tag) else {
            throw PkgLayerError(.invalidInput, "the layout has no image tagged '\(tag)'", at: layout.path)
        }
        let blobs = try layout.reachableBlobs(from: descriptor)
        let config = blobs[1], layerDescriptors = Array(blobs.dropFirst(2))
        guard let object = try JSONSerialization.jsonObject(with: Data(try layout.store.read(config.digest))) as? [String: Any],
              let diffIDs = ((object["rootfs"] as? [String: Any])?["diff_ids"] as? [String])?.map(Digest.init(parsing:)),
              diffIDs.count == layerDescriptors.count, !diffIDs.contains(nil) else {
            throw PkgLayerError(.invalidInput, "the image config's rootfs.diff_ids do not match the manifest's layers", at: layout.store.path(for: config.digest))
        }
        return (config, zip(layerDescriptors, diffIDs).map { LayerBlob(descriptor: $0, diffID: $1!, uncompressedSize: 0) })
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
