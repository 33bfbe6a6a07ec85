import Foundation
import PkgLayerCore

/// What `pkglayer inspect` shows of a stored image.
public struct ImageDetails: Sendable {
    public struct Layer: Sendable {
        public var descriptor: OCIDescriptor
        public var diffID: Digest?
        /// The package the layer holds (from its `io.pkglayer.package.*` annotations), if named.
        public var package: String?
        public var version: String?
        public var format: String?
        /// The uncompressed tar's size, when the layer cache recorded it (pkglayer's own layers).
        public var uncompressedSize: Int64?
        /// The history entry of the layer (`created_by`), if the config has one.
        public var createdBy: String?
    }

    public var image: StoredImage
    public var config: OCIDescriptor
    public var platform: OCIPlatform
    public var created: String?
    public var containerConfig: ContainerConfig
    public var layers: [Layer]
    public var annotations: [String: String]
}

extension ImageStore {
    /// Reads the manifest and config of a stored image.
    public func details(_ image: StoredImage) throws -> ImageDetails {
        let location = "\(image.reference) (manifest \(image.manifest.digest))"
        let manifestBytes = try blobs.read(image.manifest.digest)
        guard let manifest = try JSONSerialization.jsonObject(with: Data(manifestBytes)) as? [String: Any],
              let configObject = manifest["config"] as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "the image manifest is not JSON with a config", at: location)
        }
        let config = try OCILayoutReader.descriptor(configObject, at: location)
        let layers = try OCILayoutReader.descriptors(in: Data(manifestBytes), key: "layers", at: location)
        let configBytes = try blobs.read(config.digest)
        let object = (try JSONSerialization.jsonObject(with: Data(configBytes)) as? [String: Any]) ?? [:]
        let diffIDs = ((object["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []).map(Digest.init(parsing:))
        let history = (object["history"] as? [[String: Any]] ?? []).map(HistoryEntry.init(json:)).filter { !$0.emptyLayer }
        let sizes = uncompressedSizes()
        var result: [ImageDetails.Layer] = []
        for (index, layer) in layers.enumerated() {
            result.append(ImageDetails.Layer(
                descriptor: layer, diffID: index < diffIDs.count ? diffIDs[index] : nil,
                package: layer.annotations[LayerOrigin.nameAnnotation], version: layer.annotations[LayerOrigin.versionAnnotation],
                format: layer.annotations[LayerOrigin.formatAnnotation], uncompressedSize: sizes[layer.digest],
                createdBy: index < history.count && history.count == layers.count ? history[index].createdBy : nil))
        }
        let platform = OCIPlatform(architecture: object["architecture"] as? String ?? "", os: object["os"] as? String ?? "",
                                   variant: object["variant"] as? String)
        return ImageDetails(image: image, config: config, platform: platform, created: object["created"] as? String,
                            containerConfig: try ContainerConfig(json: object["config"] as? [String: Any] ?? [:], at: location),
                            layers: result, annotations: manifest["annotations"] as? [String: String] ?? [:])
    }

    /// Uncompressed layer sizes the layer cache knows, by compressed digest.
    func uncompressedSizes() -> [Digest: Int64] {
        var sizes: [Digest: Int64] = [:]
        let directory = layerCache.directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let digest = (object["digest"] as? String).flatMap(Digest.init(parsing:)),
                  let size = (object["uncompressedSize"] as? NSNumber)?.int64Value else { continue }
            sizes[digest] = size
        }
        return sizes
    }
}
