import Foundation
import PkgLayerCore

/// The image an image is built on: its layer blobs (already in the store the assembly writes to),
/// its container config (inherited unless the new image sets a field) and its history (kept, before
/// the new image's own). `nil` in `ImageRequest.base` is `scratch`.
public struct BaseImage: Equatable, Sendable {
    /// What the base was named by, for the `org.opencontainers.image.base.name` annotation: the store
    /// reference (`busybox:latest`), a layout's tag (or its directory's name), a tarball's file name.
    /// Never a full host path, so the image does not depend on where the base was.
    public var name: String
    /// The base's manifest digest (`org.opencontainers.image.base.digest`).
    public var manifestDigest: Digest
    /// Bottom first; descriptors keep their annotations (a pkglayer base names its packages).
    public var layers: [LayerBlob]
    public var config: ContainerConfig
    public var history: [HistoryEntry]
    public var platform: OCIPlatform

    public init(name: String, manifestDigest: Digest, layers: [LayerBlob], config: ContainerConfig,
                history: [HistoryEntry], platform: OCIPlatform) {
        self.name = name; self.manifestDigest = manifestDigest; self.layers = layers; self.config = config
        self.history = history; self.platform = platform
    }

    /// Resolves what an image file's `base:` says:
    /// - `scratch` (or empty): no base, nil;
    /// - `oci-layout:PATH[:TAG]`, or a directory holding `index.json`: an OCI image layout;
    /// - an existing file (`.tar`, `.tar.gz`, `.tar.xz`, `.tar.zst`, …): a rootfs tarball, imported now
    ///   into `store` as one layer (as `pkglayer import` would);
    /// - anything else: `NAME[:TAG]` or a digest prefix in the local store.
    /// Every blob of the base ends up in `store.blobs`.
    public static func resolve(_ spec: String, store: ImageStore, architecture: Architecture,
                               epoch: SourceDateEpoch? = nil, compressionLevel: Int = LayerWriter().compressionLevel) throws -> BaseImage? {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "scratch" { return nil }
        if trimmed.hasPrefix("oci-layout:") {
            let (path, tag) = splitLayoutSpec(String(trimmed.dropFirst("oci-layout:".count)))
            return try ociLayout(path: path, tag: tag, into: store.blobs, architecture: architecture)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: trimmed, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                return try ociLayout(path: trimmed, tag: nil, into: store.blobs, architecture: architecture)
            }
            let imported = try RootfsImporter.importImage(tarball: trimmed, into: store.blobs,
                                                          layerWriter: LayerWriter(compressionLevel: compressionLevel, cache: store.layerCache),
                                                          architecture: architecture, epoch: epoch)
            return try fromManifest(imported.image.manifest, in: store.blobs, into: store.blobs, name: (trimmed as NSString).lastPathComponent,
                                    architecture: architecture)
        }
        guard let stored = try store.lookup(trimmed) else {
            _ = try store.require(trimmed)
            return nil
        }
        return try fromManifest(stored.manifest, in: store.blobs, into: store.blobs, name: stored.reference, architecture: architecture)
    }

    /// `PATH[:TAG]`: the tag is what follows the last `:` when the part before it is an existing
    /// directory (paths may hold colons).
    static func splitLayoutSpec(_ text: String) -> (String, String?) {
        if let colon = text.lastIndex(of: ":") {
            let path = String(text[..<colon]), tag = String(text[text.index(after: colon)...])
            var isDirectory: ObjCBool = false
            if !tag.contains("/"), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return (path, tag.isEmpty ? nil : tag)
            }
        }
        return (text, nil)
    }

    /// A base from an OCI image layout: the manifest tagged `tag`, or the only one when `tag` is nil.
    /// Its blobs are linked (or copied) into `target`.
    public static func ociLayout(path: String, tag: String?, into target: BlobStore, architecture: Architecture) throws -> BaseImage {
        let reader = try OCILayoutReader(path: path)
        let entries = try reader.index()
        let tags = entries.compactMap { $0.annotations[OCIAnnotation.refName] }
        let chosen: OCIDescriptor
        if let tag {
            guard let match = entries.first(where: { $0.annotations[OCIAnnotation.refName] == tag }) else {
                throw PkgLayerError(.invalidInput, "the layout has no image tagged '\(tag)'; its tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", "))",
                                    at: path)
            }
            chosen = match
        } else {
            guard entries.count == 1, let only = entries.first else {
                throw PkgLayerError(.invalidInput, "the layout holds \(entries.count) images; name one as oci-layout:\(path):TAG (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))",
                                    at: path)
            }
            chosen = only
        }
        return try fromManifest(chosen, in: reader.store, into: target, name: tag ?? (path as NSString).lastPathComponent,
                                architecture: architecture)
    }
}
