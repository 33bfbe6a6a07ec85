import Foundation
import PkgLayerCore

/// A manifest (or index) that is not an `AssembledImage` (a pulled one), with the tag it gets in a
/// layout and every blob it reaches.
public struct TaggedManifest: Sendable {
    public var descriptor: OCIDescriptor
    public var tag: String
    /// The blobs the manifest reaches, itself included.
    public var blobs: [OCIDescriptor]

    public init(descriptor: OCIDescriptor, tag: String, blobs: [OCIDescriptor]) {
        self.descriptor = descriptor; self.tag = tag; self.blobs = blobs
    }
}

extension OCILayoutWriter {
    /// Adds manifests whose blobs are in `store` to the layout at `path` (created when absent): a tag
    /// given again moves, other tags and what they reach stay. Atomic like `write`: the layout is
    /// built beside the destination and renamed into place.
    public static func add(_ manifests: [TaggedManifest], from store: BlobStore, to path: String) throws {
        let existing = FileManager.default.fileExists(atPath: path) ? try OCILayoutReader(path: path) : nil
        let newTags = Set(manifests.map(\.tag))
        var index: [OCIDescriptor] = []
        var keptBlobs: [OCIDescriptor] = []
        for descriptor in try existing?.index() ?? [] {
            if let tag = descriptor.annotations[OCIAnnotation.refName], newTags.contains(tag) { continue }
            index.append(descriptor)
            keptBlobs += try existing?.reachableBlobs(from: descriptor) ?? []
        }
        for manifest in manifests {
            try OCIReference.validateTag(manifest.tag)
            var descriptor = manifest.descriptor
            descriptor.annotations[OCIAnnotation.refName] = manifest.tag
            index.append(descriptor)
        }
        let parent = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let staging = try makeSiblingDirectory(parent: parent, name: ".\(base).tmp")
        do {
            let target = try BlobStore(root: staging)
            for blob in keptBlobs { try existing!.store.transfer(blob.digest, size: blob.size, to: target) }
            for blob in manifests.flatMap(\.blobs) where !target.has(blob.digest, size: blob.size) {
                try store.transfer(blob.digest, size: blob.size, to: target)
            }
            try writeSmallFile("\(staging)/oci-layout", OCILayoutContent.layoutFile)
            try writeSmallFile("\(staging)/index.json", OCIImageIndex(manifests: index).json.canonicalBytes)
            for dir in [staging, "\(staging)/blobs", "\(staging)/blobs/sha256"] { chmod(dir, 0o755) }
            try replace(path, with: staging, exists: existing != nil, parent: parent, base: base)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }
}
