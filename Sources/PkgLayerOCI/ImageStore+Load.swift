import Foundation
import PkgLayerArchive
import PkgLayerCore

/// `pkglayer load`: a docker-archive or an oci-archive (gzip'd or not) into the local store, as
/// `docker load` does. The archive is extracted with the same safe extractor as `import` (no `..`,
/// absolute names or escaping links), so a hostile archive is refused with nothing stored.
extension ImageStore {
    /// Loads every image of the archive at `path`; returns the names given.
    public func load(archive path: String, layerCompressionLevel: Int = 2) throws -> [String] {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-load")
        let root = "\(scratch.path)/archive"
        let extractor = try ArchiveExtractor(root: root, archiveName: path, keepSpecialBits: false)
        let reader = try ArchiveReader(path: path)
        while let header = try reader.next() { try extractor.extract(header, from: reader) }
        if FileManager.default.fileExists(atPath: "\(root)/oci-layout") { return try loadLayout(root, archive: path) }
        if FileManager.default.fileExists(atPath: "\(root)/manifest.json") {
            return try loadDockerArchive(root, archive: path, level: layerCompressionLevel)
        }
        throw PkgLayerError(.invalidInput, "is neither a docker-archive (manifest.json) nor an oci-archive (oci-layout, index.json)", at: path)
    }

    private func loadLayout(_ layout: String, archive: String) throws -> [String] {
        let reader = try OCILayoutReader(path: layout)
        var names: [String] = []
        for descriptor in try reader.index() {
            guard let tag = descriptor.annotations[OCIAnnotation.refName] else { continue }
            let name = (try? ImageReference.normalize(tag)) != nil ? tag : "loaded:\(descriptor.digest.hex.prefix(12))"
            names.append(try add(layout: layout, tag: tag, as: name).reference)
        }
        guard !names.isEmpty else { throw PkgLayerError(.invalidInput, "the oci-archive names no image (no org.opencontainers.image.ref.name)", at: archive) }
        return names
    }

    /// A docker-archive's images become OCI images: the config byte for byte (so the image ID, the
    /// config digest, stays docker's), each uncompressed `layer.tar` gzip'd into a layer blob.
    private func loadDockerArchive(_ root: String, archive: String, level: Int) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: "\(root)/manifest.json"),
              let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw PkgLayerError(.invalidInput, "manifest.json is not a JSON list", at: archive)
        }
        var names: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let configName = entry["Config"] as? String, let layerNames = entry["Layers"] as? [String] else {
                throw PkgLayerError(.invalidInput, "manifest.json entry \(index) lacks Config or Layers", at: archive)
            }
            func member(_ name: String) throws -> String {
                let path = (root as NSString).appendingPathComponent(name)
                guard !name.hasPrefix("/"), !name.split(separator: "/").contains(".."), FileManager.default.fileExists(atPath: path) else {
                    throw PkgLayerError(.invalidInput, "manifest.json names '\(name)', which the archive does not hold", at: archive)
                }
                return path
            }
            let configBytes = Array(try Data(contentsOf: URL(fileURLWithPath: try member(configName))))
            let config = try blobs.put(configBytes, mediaType: OCIMediaType.imageConfig)
            var layers: [OCIDescriptor] = []
            for name in layerNames {
                let writer = try blobs.makeWriter()
                let sink = try Compression.gzip(level: level).makeSink(wrapping: writer)
                try FileReader.forEachBlock(path: try member(name)) { try sink.write($0) }
                try sink.finish()
                let (digest, size) = try writer.commit()
                layers.append(OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size))
            }
            let manifest = JSONValue.object([
                ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageManifest)),
                ("config", config.json), ("layers", .array(layers.map(\.json))),
            ]).canonicalBytes
            let descriptor = try blobs.put(manifest, mediaType: OCIMediaType.imageManifest)
            let tags = (entry["RepoTags"] as? [String]) ?? []
            for tag in tags.isEmpty ? ["loaded:\(config.digest.hex.prefix(12))"] : tags {
                let normalized = try ImageReference.normalize(tag)
                try record(descriptor, as: normalized)
                names.append(normalized)
            }
        }
        return names
    }
}
