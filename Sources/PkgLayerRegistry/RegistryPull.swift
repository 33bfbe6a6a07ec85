import Foundation
import PkgLayerCore
import PkgLayerOCI

/// Where a pulled image landed: a layout and a tag, usable later as an image base (`oci:PATH:TAG`).
public struct PulledImage: Sendable {
    public var layout: String
    public var tag: String
    /// The image manifest's digest (for an index, the chosen platform's manifest).
    public var digest: Digest
    /// The digest the reference resolved to: the index's when the registry served one.
    public var resolvedDigest: Digest
    public var platform: OCIPlatform?
    public var stats: RegistryStats
}

extension Registry {
    /// Pulls `reference` into the OCI layout at `layout` (created when absent, other tags kept) under
    /// `tag` (default: the reference's tag, else `latest`). From an index the manifest for
    /// `options.platform` (default: this machine's) is chosen. Every blob is checked against its
    /// digest and size, and every layer's members against `LayerMemberCheck`'s rules, before the
    /// layout is written; a refused image writes nothing.
    public static func pull(_ reference: RegistryReference, into layout: String, tag: String? = nil,
                            options: RegistryOptions = RegistryOptions()) async throws -> PulledImage {
        let tag = tag ?? reference.tag ?? "latest"
        try OCIReference.validateTag(tag)
        let parent = (layout as NSString).deletingLastPathComponent.isEmpty ? "." : (layout as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: parent) else {
            throw PkgLayerError(.usage, "the directory for the output layout does not exist; create it first", at: parent)
        }
        let existing = FileManager.default.fileExists(atPath: layout) ? try OCILayoutReader(path: layout) : nil
        // Blobs land beside the layout (same file system, so the final write links instead of copying).
        let staging = try TemporaryDirectory(parent: parent, prefix: ".pkglayer-pull")
        let store = try BlobStore(root: staging.path)
        return try await session(reference, options: options, scopes: ["repository:\(reference.repository):pull"]) { client in
            let top = try await client.getManifest(reference.repository, reference: reference.reference)
            var manifest = top
            var platform: OCIPlatform?
            if ManifestMediaType.isIndex(top.mediaType) {
                let wanted = options.platform ?? OCIPlatform(Architecture.native)
                let children = try ManifestJSON.children(top.bytes, at: reference.description)
                guard let child = Self.choose(wanted, from: children) else {
                    let offered = children.compactMap(\.platform).map { [$0.os, $0.architecture, $0.variant].compactMap { $0 }.joined(separator: "/") }
                    throw PkgLayerError(.usage, "has no image for \(wanted.os)/\(wanted.architecture)\(wanted.variant.map { "/\($0)" } ?? ""); it offers \(offered.joined(separator: ", ")); choose one with --platform",
                                        at: reference.description)
                }
                manifest = try await client.getManifest(reference.repository, reference: child.digest.description)
                platform = child.platform
            }
            let (config, layers) = try ManifestJSON.blobs(manifest.bytes, at: "\(reference) \(manifest.digest)")
            try await forEachConcurrently([config] + layers, limit: options.concurrency) { blob in
                if let existing, existing.store.has(blob.digest, size: blob.size) {
                    try existing.store.transfer(blob.digest, size: blob.size, to: store)
                } else {
                    try await client.downloadBlob(reference.repository, blob, into: store)
                }
            }
            // The registry is untrusted: every file-system layer passes the extractor's member rules
            // before anything is stored (LayerMemberCheck), so a refused image leaves nothing behind.
            var check = LayerMemberCheck(image: reference.description, layerCount: layers.count)
            for layer in layers where LayerMemberCheck.isFilesystemLayer(layer.mediaType) {
                try check.check(layerAt: store.path(for: layer.digest), digest: layer.digest)
            }
            if platform == nil { platform = try Self.platform(ofConfig: store.read(config.digest)) }
            var descriptor = try store.put(manifest.bytes, mediaType: manifest.mediaType)
            descriptor.platform = platform
            try OCILayoutWriter.add([TaggedManifest(descriptor: descriptor, tag: tag, blobs: [descriptor, config] + layers)], from: store, to: layout)
            options.blobLocations.map(RegistryBlobLocations.init(path:))?
                .record([top.digest, manifest.digest, config.digest] + layers.map(\.digest), in: reference.registry, repository: reference.repository)
            return PulledImage(layout: layout, tag: tag, digest: manifest.digest, resolvedDigest: top.digest, platform: platform,
                               stats: await client.stats)
        }
    }

    /// The blocking form of `pull`.
    public static func pull(_ reference: RegistryReference, into layout: String, tag: String? = nil,
                            options: RegistryOptions = RegistryOptions()) throws -> PulledImage {
        try blocking { try await pull(reference, into: layout, tag: tag, options: options) }
    }

    /// The index entry for `wanted`: os and architecture must match; a variant only when both name one.
    static func choose(_ wanted: OCIPlatform, from children: [OCIDescriptor]) -> OCIDescriptor? {
        let candidates = children.filter { $0.platform?.os == wanted.os && $0.platform?.architecture == wanted.architecture }
        return candidates.first { wanted.variant == nil || $0.platform?.variant == nil || $0.platform?.variant == wanted.variant }
    }

    static func platform(ofConfig bytes: [UInt8]) -> OCIPlatform? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let arch = object["architecture"] as? String, let os = object["os"] as? String else { return nil }
        return OCIPlatform(architecture: arch, os: os, variant: object["variant"] as? String)
    }
}
