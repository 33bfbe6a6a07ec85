import Foundation
import PkgLayerCore

/// An image recorded in the local store under `name:tag`.
public struct StoredImage: Equatable, Sendable {
    /// `name:tag`, as given to `tag(_:as:)` (a name without a tag got `:latest`).
    public var reference: String
    /// The manifest's descriptor (digest, size, platform).
    public var manifest: OCIDescriptor
    /// The image's creation time (RFC 3339) from its manifest annotation or config, if readable.
    public var created: String?
    /// Bytes of every blob the image needs (layers, config, manifest), compressed as stored.
    public var size: Int64

    public var name: String { ImageReference.split(reference).name }
    public var tag: String { ImageReference.split(reference).tag }
}

/// The local image store, `CACHE/images`: itself a valid OCI image layout (`oci-layout`, `index.json`,
/// `blobs/sha256`) whose tags are `name:tag` references. Images are assembled straight into its blob
/// store, so outputs are hard links from it and layers are shared between images. The layer cache
/// lives beside it in `CACHE/layers`.
///
/// Locking (flock, so a killed process never leaves a stale lock):
/// - `CACHE/images.lock` is held *shared* for as long as an `ImageStore` is open; `prune` upgrades it
///   to exclusive, so it never removes a blob that another running pkglayer has just written but not
///   yet tagged. It refuses (rather than waits) when another process has the store open.
/// - `CACHE/index.lock` is held exclusive around each read-modify-write of `index.json`, which is
///   always written whole (sorted by reference, canonical JSON) to a temporary file and renamed.
/// Both lock files sit beside the layout, not in it, so the layout holds only what the spec names.
public final class ImageStore {
    /// The cache root (`CacheLocation.root()`).
    public let cacheRoot: String
    /// The OCI layout directory, `CACHE/images`.
    public let path: String
    public let blobs: BlobStore
    public let layerCache: LayerCache
    private let useLock: Int32

    private init(cacheRoot: String) throws {
        self.cacheRoot = cacheRoot
        path = (cacheRoot as NSString).appendingPathComponent("images")
        blobs = try BlobStore(root: path)
        LayerCache.restrict(path)   // private, like the layer cache: what it holds is trusted on use
        layerCache = try LayerCache(directory: (cacheRoot as NSString).appendingPathComponent("layers"))
        useLock = try Self.openLock((cacheRoot as NSString).appendingPathComponent("images.lock"))
        guard flock(useLock, LOCK_SH) == 0 else {
            let error = PkgLayerError.posix("locking the image store", path: cacheRoot)
            close(useLock)
            throw error
        }
        let layoutFile = (path as NSString).appendingPathComponent("oci-layout")
        if !FileManager.default.fileExists(atPath: layoutFile) {
            try OCILayoutWriter.writeSmallFile(layoutFile, OCILayoutContent.layoutFile)
        }
        if !FileManager.default.fileExists(atPath: indexPath) {
            try withIndexLock { if !FileManager.default.fileExists(atPath: indexPath) { try writeIndex([]) } }
        }
    }

    deinit { close(useLock) }

    /// Opens (creating when missing) the store under the cache root.
    public static func open(root: String = CacheLocation.root()) throws -> ImageStore {
        try ImageStore(cacheRoot: root)
    }

    var indexPath: String { (path as NSString).appendingPathComponent("index.json") }

    /// Records `image` under "name:tag" (replacing an older image of that name:tag), atomically. The
    /// image's blobs must already be in `blobs`.
    public func tag(_ image: AssembledImage, as reference: String) throws {
        let normalized = try ImageReference.normalize(reference)
        for blob in image.blobs where !blobs.has(blob.digest, size: blob.size) {
            throw PkgLayerError(.invalidInput, "blob \(blob.digest) of the image is not in the store; assemble the image with the store's blobs",
                                at: blobs.path(for: blob.digest))
        }
        try record(image.manifest, as: normalized)
    }

    /// Points the name `normalized` (already normalised) at `manifest` in index.json, replacing what
    /// it named before, atomically. The manifest's blobs must already be in `blobs`.
    func record(_ manifest: OCIDescriptor, as normalized: String) throws {
        try withIndexLock {
            var entries = try readIndex().filter { $0.annotations[OCIAnnotation.refName] != normalized }
            var descriptor = manifest
            descriptor.annotations = [OCIAnnotation.refName: normalized]
            entries.append(descriptor)
            try writeIndex(entries)
        }
    }

    /// Removes the tag `reference` (not its blobs: `prune` does that). Returns whether it existed.
    @discardableResult
    public func untag(_ reference: String) throws -> Bool {
        let normalized = try ImageReference.normalize(reference)
        return try withIndexLock {
            let entries = try readIndex()
            let kept = entries.filter { $0.annotations[OCIAnnotation.refName] != normalized }
            guard kept.count != entries.count else { return false }
            try writeIndex(kept)
            return true
        }
    }

    /// Every tagged image, sorted by reference.
    public func list() throws -> [StoredImage] {
        try readIndex().compactMap { descriptor in
            guard let reference = descriptor.annotations[OCIAnnotation.refName] else { return nil }
            return try stored(descriptor, reference: reference)
        }
    }

    /// Finds an image by `name` (meaning `name:latest`), `name:tag`, or a manifest digest
    /// (`sha256:HEX`, or a hex prefix of at least 4 digits, as `docker image ls` shows them). A prefix
    /// that matches two different images is an error.
    public func lookup(_ reference: String) throws -> StoredImage? {
        let images = try list()
        if let exact = images.first(where: { $0.reference == reference }) { return exact }
        if let normalized = try? ImageReference.normalize(reference),
           let match = images.first(where: { $0.reference == normalized }) { return match }
        var hex = reference.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
        guard hex.count >= 4, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        let matches = images.filter { $0.manifest.digest.hex.hasPrefix(hex) }
        if Set(matches.map(\.manifest.digest)).count > 1 {
            throw PkgLayerError(.invalidInput, "digest prefix matches \(matches.count) images (\(matches.map(\.reference).joined(separator: ", "))); give more digits",
                                at: reference)
        }
        return matches.first
    }

    /// Like `lookup`, but a missing image is an error that lists what the store holds.
    public func require(_ reference: String) throws -> StoredImage {
        if let image = try lookup(reference) { return image }
        let known = try list().map(\.reference)
        let hint = known.isEmpty ? "the store is empty; build or import an image first"
            : "known images: \(known.prefix(10).joined(separator: ", "))\(known.count > 10 ? ", …" : "")"
        throw PkgLayerError(.invalidInput, "no image of that name, tag or digest in the local store (\(path)); \(hint)", at: reference)
    }

    // MARK: - index.json

    func readIndex() throws -> [OCIDescriptor] {
        guard let data = FileManager.default.contents(atPath: indexPath) else { return [] }
        return try OCILayoutReader.descriptors(in: data, key: "manifests", at: indexPath)
    }

    /// Writes `index.json` sorted by reference, canonical JSON, temp file then rename.
    func writeIndex(_ entries: [OCIDescriptor]) throws {
        let sorted = entries.sorted {
            ($0.annotations[OCIAnnotation.refName] ?? "").utf8.lexicographicallyPrecedes(($1.annotations[OCIAnnotation.refName] ?? "").utf8)
        }
        try OCILayoutWriter.writeSmallFile(indexPath, OCIImageIndex(manifests: sorted).json.canonicalBytes)
    }

    func withIndexLock<T>(_ body: () throws -> T) throws -> T {
        let fd = try Self.openLock((cacheRoot as NSString).appendingPathComponent("index.lock"))
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw PkgLayerError.posix("locking the image index", path: cacheRoot) }
        return try body()
    }

    /// Runs `body` holding the store exclusively (no other pkglayer has it open), then returns to shared.
    func withExclusiveUse<T>(_ body: () throws -> T) throws -> T {
        guard flock(useLock, LOCK_EX | LOCK_NB) == 0 else {
            flock(useLock, LOCK_SH)
            throw PkgLayerError(.io, "another pkglayer process is using the image store; run this again when it has finished",
                                at: (cacheRoot as NSString).appendingPathComponent("images.lock"))
        }
        defer { flock(useLock, LOCK_SH) }
        return try body()
    }

    static func openLock(_ path: String) throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PkgLayerError.posix("opening the lock file", path: path) }
        return fd
    }

    func stored(_ descriptor: OCIDescriptor, reference: String) throws -> StoredImage {
        var size = descriptor.size
        var created: String?
        if let bytes = try? blobs.read(descriptor.digest),
           let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] {
            created = (object["annotations"] as? [String: String])?[OCIAnnotation.created]
            if let config = object["config"] as? [String: Any] {
                size += (config["size"] as? NSNumber)?.int64Value ?? 0
                if created == nil, let digest = (config["digest"] as? String).flatMap(Digest.init(parsing:)),
                   let configBytes = try? blobs.read(digest),
                   let configObject = try? JSONSerialization.jsonObject(with: Data(configBytes)) as? [String: Any] {
                    created = configObject["created"] as? String
                }
            }
            for layer in object["layers"] as? [[String: Any]] ?? [] {
                size += (layer["size"] as? NSNumber)?.int64Value ?? 0
            }
        }
        return StoredImage(reference: reference, manifest: descriptor, created: created, size: size)
    }
}
