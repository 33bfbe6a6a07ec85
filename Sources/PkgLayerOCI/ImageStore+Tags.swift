import Foundation
import PkgLayerCore

/// `pkglayer tag` and `rmi`: names for stored images, as docker's `tag` and `rmi` give them.
extension ImageStore {
    /// Gives `source` (a name, name:tag or digest prefix) the name `target` as well. Returns the image.
    @discardableResult
    public func tag(_ source: String, as target: String) throws -> StoredImage {
        let image = try require(source)
        try record(image.manifest, as: try ImageReference.normalize(target))
        return image
    }

    /// Removes names. `reference` as a name or name:tag removes that name; as a digest prefix it removes
    /// the image's only name, and with several names only with `force`. An image that is the base of
    /// another stored image (its layers are the other's first layers) is kept unless `force`. Blobs stay
    /// until `prune`. Returns the names removed.
    public func remove(_ reference: String, force: Bool) throws -> [String] {
        let image = try require(reference)
        let images = try list()
        let sameImage = images.filter { $0.manifest.digest == image.manifest.digest }
        let byName = (try? ImageReference.normalize(reference)).map { name in images.contains { $0.reference == name } } ?? false
        var names = [image.reference]
        if !byName {
            guard sameImage.count == 1 || force else {
                throw PkgLayerError(.invalidInput, "image \(image.manifest.digest.hex.prefix(12)) has \(sameImage.count) names (\(sameImage.map(\.reference).joined(separator: ", "))); remove them by name, or pass -f to remove them all",
                                    at: reference)
            }
            names = sameImage.map(\.reference)
        }
        let stillNamed = images.filter { !names.contains($0.reference) && $0.manifest.digest == image.manifest.digest }
        if stillNamed.isEmpty, !force {
            let layers = try details(image).layers.map(\.descriptor.digest)
            for other in images where other.manifest.digest != image.manifest.digest {
                let theirs = try details(other).layers.map(\.descriptor.digest)
                if theirs.count > layers.count, Array(theirs.prefix(layers.count)) == layers {
                    throw PkgLayerError(.invalidInput, "is the base of \(other.reference); remove that first, or pass -f (its blobs stay while \(other.reference) needs them)",
                                        at: reference)
                }
            }
        }
        for name in names { try untag(name) }
        return names
    }
}

extension ImageStore {
    /// Adds the image tagged `tag` in the OCI layout at `layout` to the store as `name` (its blobs are
    /// linked or copied into the store's blob store, each hashed against its
    /// digest first): how `pkglayer pull` and `load` put
    /// an image where `pkglayer images` lists it.
    @discardableResult
    public func add(layout: String, tag: String?, as name: String) throws -> StoredImage {
        let reader = try OCILayoutReader(path: layout)
        let index = try reader.index()
        let chosen: OCIDescriptor
        if let tag {
            guard let found = index.first(where: { $0.annotations[OCIAnnotation.refName] == tag }) else {
                throw PkgLayerError(.invalidInput, "the layout has no image tagged '\(tag)'", at: layout)
            }
            chosen = found
        } else {
            guard index.count == 1 else { throw PkgLayerError(.invalidInput, "the layout holds \(index.count) images; name one", at: layout) }
            chosen = index[0]
        }
        for blob in try reader.reachableBlobs(from: chosen) where !blobs.has(blob.digest, size: blob.size) {
            try reader.store.transfer(blob.digest, size: blob.size, to: blobs, verifying: true)
        }
        let normalized = try ImageReference.normalize(name)
        try record(chosen, as: normalized)
        return try require(normalized)
    }
}
