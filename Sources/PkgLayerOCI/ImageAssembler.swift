import Foundation
import PkgLayerArchive
import PkgLayerCore

/// What a layer holds, for the history entry and `pkglayer inspect`: a package's name, version and
/// format (`nginx`, `1.22.1-1`, `rpm`).
public struct LayerOrigin: Equatable, Sendable {
    public var name: String
    public var version: String?
    /// `rpm`, `deb`, `files`, …
    public var format: String?
    /// The package's declared license, for the SBOM (an SPDX expression where the package has one).
    public var license: String?
    /// Lower-case hex sha256 of the package file (.rpm/.deb) the layer came from, for the SBOM.
    public var packageSHA256: String?

    public init(name: String, version: String? = nil, format: String? = nil, license: String? = nil, packageSHA256: String? = nil) {
        self.name = name; self.version = version; self.format = format
        self.license = license; self.packageSHA256 = packageSHA256
    }

    /// Annotation keys on a layer's descriptor naming its package, so a layer can be mapped to its
    /// package from the image manifest alone (`pkglayer inspect`), without reading the config.
    public static let nameAnnotation = "io.pkglayer.package.name"
    public static let versionAnnotation = "io.pkglayer.package.version"
    public static let formatAnnotation = "io.pkglayer.package.format"

    public var annotations: [String: String] {
        var result = [Self.nameAnnotation: name]
        if let version, !version.isEmpty { result[Self.versionAnnotation] = version }
        if let format, !format.isEmpty { result[Self.formatAnnotation] = format }
        return result
    }

    /// `pkglayer: nginx 1.22.1-1 (rpm)`: what `docker history` and `skopeo inspect --config` show.
    public var createdBy: String {
        var text = "pkglayer: \(name)"
        if let version, !version.isEmpty { text += " \(version)" }
        if let format, !format.isEmpty { text += " (\(format))" }
        return text
    }
}

/// One layer of an image: a manifest and where it came from.
public struct LayerSource: Sendable {
    public var manifest: FileManifest
    public var origin: LayerOrigin
    public var comment: String?
    /// Annotations on the layer's descriptor in the image manifest, added to (and overriding) the
    /// origin's `io.pkglayer.package.*` ones.
    public var annotations: [String: String]
    /// The layer already written into the assembler's store from this manifest (a package layered on
    /// its own core, or taken from the cache): used as it is, and `manifest` is not read again (it may
    /// be empty). Merging layerings never see one.
    public var layer: LayerBlob?

    public init(manifest: FileManifest, origin: LayerOrigin, comment: String? = nil, annotations: [String: String] = [:],
                layer: LayerBlob? = nil) {
        self.manifest = manifest; self.origin = origin; self.comment = comment; self.annotations = annotations
        self.layer = layer
    }
}

/// Everything an image is made of. The same request always gives the same manifest digest.
public struct ImageRequest: Sendable {
    /// Bottom first; usually one per package.
    public var layers: [LayerSource]
    /// The image's own files (accounts, package database, `files:`), stacked last.
    public var topLayer: FileManifest?
    public var config: ContainerConfig
    public var author: String?
    /// Image manifest annotations; `org.opencontainers.image.created` is added from the epoch unless given.
    public var annotations: [String: String]
    public var epoch: SourceDateEpoch
    public var architecture: Architecture
    public var os: String
    public var layering: Layering
    /// The image this one stacks on; nil is `scratch`. Its layers come first, its config is inherited
    /// (see `ContainerConfig.stacked(on:)`), its history is kept before ours. Its blobs must already be
    /// in the assembler's store (`BaseImage.resolve` puts them there).
    public var base: BaseImage?

    public init(layers: [LayerSource], topLayer: FileManifest? = nil, config: ContainerConfig = ContainerConfig(),
                author: String? = nil, annotations: [String: String] = [:], epoch: SourceDateEpoch,
                architecture: Architecture, os: String = "linux", layering: Layering = .perPackage, base: BaseImage? = nil) {
        self.layers = layers; self.topLayer = topLayer; self.config = config; self.author = author
        self.annotations = annotations; self.epoch = epoch; self.architecture = architecture; self.os = os
        self.layering = layering; self.base = base
    }
}

/// An image whose blobs are in a store.
public struct AssembledImage: Equatable, Sendable {
    /// The manifest's descriptor, with the platform set (what an index lists).
    public var manifest: OCIDescriptor
    public var config: OCIDescriptor
    public var layers: [LayerBlob]
    public var imageConfig: OCIImageConfig
    public var imageManifest: OCIImageManifest

    /// Every blob the image needs: layers, config, manifest.
    public var blobs: [OCIDescriptor] { layers.map(\.descriptor) + [config, manifest] }
}

/// Writes an image's blobs (layers, config, manifest) into a store. No file system walks, no wall
/// clock: everything comes from the request.
public struct ImageAssembler {
    public let store: BlobStore
    public var layerWriter: LayerWriter

    public init(store: BlobStore, layerWriter: LayerWriter = LayerWriter()) {
        self.store = store
        self.layerWriter = layerWriter
    }

    public func assemble(_ request: ImageRequest) throws -> AssembledImage {
        try request.config.validate()
        let created = RFC3339.utc(request.epoch)
        var layers: [LayerBlob] = []
        var history: [HistoryEntry] = []
        var containerConfig = request.config
        var annotations = request.annotations
        if let base = request.base {
            try checkBase(base, for: request)
            layers = base.layers
            history = base.history
            containerConfig = request.config.stacked(on: base.config)
            try containerConfig.validate()
            if annotations[OCIAnnotation.baseName] == nil { annotations[OCIAnnotation.baseName] = base.name }
            if annotations[OCIAnnotation.baseDigest] == nil { annotations[OCIAnnotation.baseDigest] = base.manifestDigest.description }
        }
        let top = request.topLayer.map {
            LayerSource(manifest: $0, origin: LayerOrigin(name: "image files"), comment: "the image's own files")
        }
        for source in try Self.plan(request.layers, top: top, layering: request.layering) {
            let layerAnnotations = source.origin.annotations.merging(source.annotations) { $1 }
            if var written = source.layer {
                guard store.has(written.descriptor.digest, size: written.descriptor.size) else {
                    throw PkgLayerError(.io, "layer \(written.descriptor.digest) of \(source.origin.name) left the store while the image was assembled (a prune?); build the image again",
                                        at: store.path(for: written.descriptor.digest))
                }
                written.descriptor.annotations = layerAnnotations
                layers.append(written)
            } else {
                layers.append(try layerWriter.write(source.manifest, to: store, annotations: layerAnnotations))
            }
            history.append(HistoryEntry(created: created, createdBy: source.origin.createdBy, comment: source.comment,
                                        author: request.author))
        }
        let platform = OCIPlatform(request.architecture, os: request.os)
        let imageConfig = OCIImageConfig(created: created, author: request.author, platform: platform, config: containerConfig,
                                         diffIDs: layers.map(\.diffID), history: history)
        let config = try store.put(imageConfig.json.canonicalBytes, mediaType: OCIMediaType.imageConfig)
        if annotations[OCIAnnotation.created] == nil { annotations[OCIAnnotation.created] = created }
        let imageManifest = OCIImageManifest(config: config, layers: layers.map(\.descriptor), annotations: annotations)
        var manifest = try store.put(imageManifest.json.canonicalBytes, mediaType: OCIMediaType.imageManifest)
        manifest.platform = platform
        return AssembledImage(manifest: manifest, config: config, layers: layers, imageConfig: imageConfig,
                              imageManifest: imageManifest)
    }
}

extension ImageAssembler {
    /// A base must be of the image's platform and have its blobs in this store.
    func checkBase(_ base: BaseImage, for request: ImageRequest) throws {
        let platform = OCIPlatform(request.architecture, os: request.os)
        guard base.platform.architecture == platform.architecture, base.platform.os == platform.os else {
            throw PkgLayerError(.invalidInput, "the base is \(base.platform.os)/\(base.platform.architecture) but the image is \(platform.os)/\(platform.architecture); use a base of the same platform",
                                at: base.name)
        }
        for layer in base.layers where !store.has(layer.descriptor.digest, size: layer.descriptor.size) {
            throw PkgLayerError(.invalidInput, "layer \(layer.descriptor.digest) of the base is not in the assembler's store; resolve the base into this store",
                                at: base.name)
        }
    }
}

extension OCIAnnotation {
    public static let baseName = "org.opencontainers.image.base.name"
    public static let baseDigest = "org.opencontainers.image.base.digest"
}
