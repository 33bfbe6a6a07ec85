import Foundation
import PkgLayerArchive
import PkgLayerCore

/// `pkglayer load`: a docker-archive or an oci-archive (gzip'd or not) into the local store, as
/// `docker load` does, held to what docker holds it to and more (docs: hostile archives):
///
/// - The archive is extracted into a private work directory with the same safe extractor as `import`
///   (no `..`, absolute names or escaping links; nothing written through a link).
/// - Members are read back only through `ArchiveExtractor.openMember`, which resolves links inside
///   the extraction root (an absolute target from the root) and never leaves it, so a `layer.tar`
///   that is a symlink to `/etc/shadow` names a member the archive lacks. An oci-archive's layout
///   (`oci-layout`, `index.json`, `blobs/…`) may hold no link at all.
/// - Every blob is checked against its digest and its descriptor's size, each image config's
///   `rootfs.diff_ids` against the uncompressed layers, the JSON against `ociJSONBytes` and the layer
///   lists against `ociLayers` (the same limits as everywhere image JSON enters).
/// - Everything is checked before anything enters the store: a refused archive stores no blob and no
///   tag, and its work directory is removed.
///
/// Errors name the archive and the member (`FILE: blobs/sha256/…`), not the work directory.
extension ImageStore {
    /// Loads every image of the archive at `path`; returns the names given.
    public func load(archive path: String, layerCompressionLevel: Int = 2) throws -> [String] {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-load")
        chmod(scratch.path, 0o700)
        let root = "\(scratch.path)/archive"
        let extractor = try ArchiveExtractor(root: root, archiveName: path, keepSpecialBits: false)
        let reader = try ArchiveReader(path: path)
        while let header = try reader.next() { try extractor.extract(header, from: reader) }
        let archive = LoadedArchive(extractor: extractor, name: path)
        do {
            var info = stat()
            if lstat("\(root)/oci-layout", &info) == 0 { return try loadLayout(archive) }
            if lstat("\(root)/manifest.json", &info) == 0 { return try loadDockerArchive(archive, level: layerCompressionLevel) }
        } catch {
            throw archive.renamed(error)
        }
        throw PkgLayerError(.invalidInput, "is neither a docker-archive (manifest.json) nor an oci-archive (oci-layout, index.json)", at: path)
    }

    // MARK: - oci-archive

    private func loadLayout(_ archive: LoadedArchive) throws -> [String] {
        let layoutNames = ["/oci-layout", "/index.json", "/blobs", "/blobs/sha256"]
        if let link = archive.extractor.symlinks.first(where: { layoutNames.contains($0) || $0.hasPrefix("/blobs/") }) {
            throw PkgLayerError(.pathEscapesRoot, "member '\(link.dropFirst())' is a symlink; an oci-archive's layout holds plain files only, and pkglayer reads none of it through a link",
                                at: archive.name)
        }
        let reader = try OCILayoutReader(path: archive.root)
        var images: [(descriptor: OCIDescriptor, name: String)] = []
        for descriptor in try reader.index() {
            guard let tag = descriptor.annotations[OCIAnnotation.refName] else { continue }
            let name = (try? ImageReference.normalize(tag)) ?? "loaded:\(descriptor.digest.hex.prefix(12))"
            images.append((descriptor, name))
        }
        guard !images.isEmpty else {
            throw PkgLayerError(.invalidInput, "the oci-archive names no image (no org.opencontainers.image.ref.name in index.json)", at: archive.name)
        }
        // Everything is checked before anything enters the store.
        var checked = Set<Digest>()
        var order: [OCIDescriptor] = []
        for image in images { try check(image.descriptor, in: reader, checked: &checked, order: &order) }
        for blob in order {
            // The archive's modes do not reach the store (blobs are linked, not copied, when they can be).
            chmod(reader.store.path(for: blob.digest), 0o644)
            // A same-size blob of that name already in the store is kept only if it is intact.
            if blobs.has(blob.digest, size: blob.size), (try? blobs.hash(blob.digest)) != blob.digest { unlink(blobs.path(for: blob.digest)) }
            try reader.store.transfer(blob.digest, size: blob.size, to: blobs)
        }
        for image in images { try record(image.descriptor, as: image.name) }
        return images.map(\.name)
    }

    /// Checks the blob `descriptor` names and everything it reaches: each blob hashes to its digest and
    /// holds its descriptor's size; an image's config is JSON within the limits whose `rootfs.diff_ids`
    /// are the digests of its uncompressed layers. Appends each blob once to `order`.
    private func check(_ descriptor: OCIDescriptor, in reader: OCILayoutReader, checked: inout Set<Digest>,
                       order: inout [OCIDescriptor]) throws {
        guard checked.insert(descriptor.digest).inserted else { return }
        let store = reader.store
        try store.verify(descriptor.digest, size: descriptor.size)
        order.append(descriptor)
        let location = store.path(for: descriptor.digest)
        switch descriptor.mediaType {
        case OCIMediaType.imageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
            let bytes = try store.read(descriptor.digest)
            for child in try OCILayoutReader.descriptors(in: Data(bytes), key: "manifests", at: location) {
                try check(child, in: reader, checked: &checked, order: &order)
            }
        case OCIMediaType.imageManifest, "application/vnd.docker.distribution.manifest.v2+json":
            let bytes = try store.read(descriptor.digest)
            guard let object = try OCILayoutReader.jsonObject(Data(bytes), at: location) as? [String: Any],
                  let configObject = object["config"] as? [String: Any] else {
                throw PkgLayerError(.invalidInput, "image manifest has no config", at: location)
            }
            let config = try OCILayoutReader.descriptor(configObject, at: location)
            let layers = try OCILayoutReader.descriptors(in: Data(bytes), key: "layers", at: location)
            if checked.insert(config.digest).inserted {
                try store.verify(config.digest, size: config.size)
                order.append(config)
            }
            let configLocation = store.path(for: config.digest)
            let configBytes = try store.read(config.digest)   // within ociJSONBytes
            let configJSON = try OCILayoutReader.jsonObject(Data(configBytes), at: configLocation)
            let isImage = [OCIMediaType.imageConfig, "application/vnd.docker.container.image.v1+json"].contains(config.mediaType)
            let tarLayers = layers.allSatisfy { $0.mediaType.contains(".tar") || $0.mediaType.contains("rootfs.diff") }
            var diffIDs: [Digest] = []
            if isImage {
                diffIDs = try Self.diffIDs(configJSON, layerCount: layers.count, at: configLocation)
            }
            for (index, layer) in layers.enumerated() {
                if checked.insert(layer.digest).inserted {
                    try store.verify(layer.digest, size: layer.size)
                    order.append(layer)
                }
                guard isImage, tarLayers else { continue }
                let actual = try Self.uncompressedDigest(of: store.path(for: layer.digest))
                guard actual == diffIDs[index] else {
                    throw PkgLayerError(.invalidInput, "layer \(index) (\(layer.digest)) decompresses to \(actual), but the config's rootfs.diff_ids[\(index)] is \(diffIDs[index]); the image is damaged or was altered (docker refuses it too)",
                                        at: store.path(for: layer.digest))
                }
            }
        default:
            break
        }
    }

    /// The config's `rootfs.diff_ids`, which must name one digest per layer.
    static func diffIDs(_ config: Any, layerCount: Int, at location: String) throws -> [Digest] {
        guard let object = config as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "the image config is not a JSON object", at: location)
        }
        guard let list = (object["rootfs"] as? [String: Any])?["diff_ids"] as? [Any] else {
            throw PkgLayerError(.invalidInput, "the image config has no rootfs.diff_ids list; an image config names the digest of each uncompressed layer",
                                at: location)
        }
        let digests = list.map { ($0 as? String).flatMap(Digest.init(parsing:)) }
        if let bad = digests.firstIndex(where: { $0 == nil }) {
            throw PkgLayerError(.invalidInput, "rootfs.diff_ids[\(bad)] is not a sha256 digest", at: location)
        }
        guard digests.count == layerCount else {
            throw PkgLayerError(.invalidInput, "the config's rootfs.diff_ids name \(digests.count) layers, but the image has \(layerCount); the image is damaged or was altered (docker refuses it too)",
                                at: location)
        }
        return digests.map { $0! }
    }

    /// The sha256 of a layer blob once decompressed (gzip, zstd, xz or none), streamed, within the
    /// archive limits (`extractedBytes`, `expansionRatio`).
    static func uncompressedDigest(of path: String) throws -> Digest {
        let reader = try ArchiveReader(path: path, raw: true)
        var hasher = StreamingHasher([.sha256])
        if try reader.next() != nil { try reader.readData { hasher.update($0) } }
        return Digest(hex: hasher.finalizeSHA256().hexString)
    }

    // MARK: - docker-archive

    /// A docker-archive's images become OCI images: the config byte for byte (so the image ID, the
    /// config digest, stays docker's), each uncompressed `layer.tar` gzip'd into a layer blob. Two
    /// passes: the first checks every entry, config and layer (its sha256 against the config's
    /// `rootfs.diff_ids`), the second writes into the store.
    private func loadDockerArchive(_ archive: LoadedArchive, level: Int) throws -> [String] {
        let limits = InputLimits.current
        let manifestLocation = "\(archive.name): manifest.json"
        let manifestBytes = try archive.read("manifest.json", limit: limits.int(.ociJSONBytes))
        guard let entries = try OCILayoutReader.jsonObject(Data(manifestBytes), at: manifestLocation) as? [Any] else {
            throw PkgLayerError(.invalidInput, "is not a JSON list of images; a docker-archive's manifest.json is [{\"Config\":…,\"RepoTags\":[…],\"Layers\":[…]}]",
                                at: manifestLocation)
        }
        struct Entry { var config: String; var configDigest: Digest; var layers: [String]; var tags: [String] }
        var plan: [Entry] = []
        var layerDigests: [String: Digest] = [:]   // resolved member path -> sha256
        for (index, value) in entries.enumerated() {
            guard let entry = value as? [String: Any], let configName = entry["Config"] as? String,
                  let layerNames = entry["Layers"] as? [Any] else {
                throw PkgLayerError(.invalidInput, "entry \(index) lacks Config (a string) or Layers (a list)", at: manifestLocation)
            }
            let layers = try layerNames.enumerated().map { i, name in
                guard let name = name as? String else {
                    throw PkgLayerError(.invalidInput, "entry \(index): Layers[\(i)] is not a string", at: manifestLocation)
                }
                return name
            }
            try OCILayoutReader.checkLayerCount(layers.count, at: manifestLocation)
            let configBytes = try archive.read(configName, limit: limits.int(.ociJSONBytes))
            let configLocation = "\(archive.name): \(configName)"
            let diffIDs = try Self.diffIDs(try OCILayoutReader.jsonObject(Data(configBytes), at: configLocation), layerCount: layers.count,
                                           at: configLocation)
            for (i, name) in layers.enumerated() {
                let (fd, resolved) = try archive.open(name)
                defer { close(fd) }
                let actual: Digest
                if let known = layerDigests[resolved] {
                    actual = known
                } else {
                    actual = try BlobStore.sha256(of: fd, path: "\(archive.name): \(name)").digest
                    layerDigests[resolved] = actual
                }
                guard actual == diffIDs[i] else {
                    throw PkgLayerError(.invalidInput, "layer '\(name)' hashes to \(actual), but the config's rootfs.diff_ids[\(i)] is \(diffIDs[i]); the archive is damaged or was altered (docker refuses it too)",
                                        at: "\(archive.name): \(name)")
                }
            }
            var tags: [String] = []
            switch entry["RepoTags"] {
            case nil, is NSNull: break
            case let list as [String]:
                tags = try list.map { tag in
                    do {
                        return try ImageReference.normalize(tag)
                    } catch let error as PkgLayerError {
                        throw PkgLayerError(.invalidInput, "entry \(index): RepoTags names '\(tag)', which is not an image name: \(error.message)",
                                            at: manifestLocation)
                    }
                }
            default: throw PkgLayerError(.invalidInput, "entry \(index): RepoTags is not a list of names", at: manifestLocation)
            }
            plan.append(Entry(config: configName, configDigest: Digest.sha256(configBytes), layers: layers, tags: tags))
        }
        guard !plan.isEmpty else { throw PkgLayerError(.invalidInput, "names no image", at: manifestLocation) }

        var names: [String] = []
        var written: [String: OCIDescriptor] = [:]   // resolved member path -> layer blob
        for entry in plan {
            let configBytes = try archive.read(entry.config, limit: limits.int(.ociJSONBytes))
            guard Digest.sha256(configBytes) == entry.configDigest else {
                throw PkgLayerError(.io, "changed while it was being loaded", at: "\(archive.name): \(entry.config)")
            }
            let config = try blobs.put(configBytes, mediaType: OCIMediaType.imageConfig)
            var layers: [OCIDescriptor] = []
            for name in entry.layers {
                let (fd, resolved) = try archive.open(name)
                defer { close(fd) }
                if let done = written[resolved] { layers.append(done); continue }
                let writer = try blobs.makeWriter()
                let sink = try Compression.gzip(level: level).makeSink(wrapping: writer)
                try FileReader.forEachBlock(fd: fd, path: "\(archive.name): \(name)") { try sink.write($0) }
                try sink.finish()
                let (digest, size) = try writer.commit()
                let descriptor = OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size)
                written[resolved] = descriptor
                layers.append(descriptor)
            }
            let manifest = JSONValue.object([
                ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageManifest)),
                ("config", config.json), ("layers", .array(layers.map(\.json))),
            ]).canonicalBytes
            let descriptor = try blobs.put(manifest, mediaType: OCIMediaType.imageManifest)
            for name in entry.tags.isEmpty ? ["loaded:\(config.digest.hex.prefix(12))"] : entry.tags {
                let normalized = try ImageReference.normalize(name)
                try record(descriptor, as: normalized)
                names.append(normalized)
            }
        }
        return names
    }

}

/// An extracted archive being loaded: members read back without leaving its root, and errors that
/// name the archive and member rather than the work directory.
struct LoadedArchive {
    let extractor: ArchiveExtractor
    /// The archive as the user named it.
    let name: String
    var root: String { extractor.root }

    /// Opens the member `member` names (a docker-archive's manifest.json entry), links resolved inside
    /// the archive; returns the descriptor (the caller closes it) and the member's path after links.
    func open(_ member: String) throws -> (fd: Int32, path: String) {
        let location = "\(name): manifest.json"
        guard !member.isEmpty, !member.hasPrefix("/"), !member.split(separator: "/").contains("..") else {
            throw PkgLayerError(.pathEscapesRoot, "names the member '\(member)'; members are named by relative paths without '..'", at: location)
        }
        do {
            return try extractor.openMember(member)
        } catch let problem as ArchiveExtractor.MemberProblem {
            switch problem {
            case .missing(nil):
                throw PkgLayerError(.invalidInput, "names '\(member)', which the archive does not hold; the archive is incomplete or damaged",
                                    at: location)
            case .missing(let link?):
                throw PkgLayerError(.invalidInput, "names '\(member)', which the archive does not hold: the link '\(link)' leads to nothing in the archive (links are resolved inside the archive, an absolute target from its root, so a link to a host file finds nothing)",
                                    at: location)
            case .notAFile:
                throw PkgLayerError(.invalidInput, "names '\(member)', which is not a regular file in the archive", at: location)
            case .escapes(let link, let target):
                throw PkgLayerError(.pathEscapesRoot, "names '\(member)', which leads through the link '\(link)' -> '\(target)' out of the archive; pkglayer reads no member through a link that leaves it",
                                    at: location)
            case .tooManyLinks:
                throw PkgLayerError(.invalidInput, "names '\(member)', which goes through more than 40 links (a loop?)", at: location)
            }
        }
    }

    /// Reads a small member whole, refusing one past `limit` (`ociJSONBytes`) before reading it.
    func read(_ member: String, limit: Int) throws -> [UInt8] {
        let (fd, _) = try open(member)
        defer { close(fd) }
        let location = "\(name): \(member)"
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PkgLayerError.posix("fstat", path: location) }
        if Int64(info.st_size) > Int64(limit) {
            let limits = InputLimits.current
            throw limits.exceeded(.ociJSONBytes, "member '\(member)'", actual: UInt64(info.st_size), at: location,
                                  hint: "image JSON (manifest.json, a config) is a few KiB; the archive is damaged or hostile")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        try FileReader.forEachBlock(fd: fd, path: location) { block in
            guard bytes.count + block.count <= limit else {
                throw InputLimits.current.exceeded(.ociJSONBytes, "member '\(member)'", at: location)
            }
            bytes += block
        }
        return bytes
    }

    /// `error` with the work directory replaced by the archive's name in its location and message.
    func renamed(_ error: Error) -> Error {
        guard var error = error as? PkgLayerError else { return error }
        let prefix = root + "/"
        if let location = error.location {
            if location.hasPrefix(prefix) {
                error.location = "\(name): \(location.dropFirst(prefix.count))"
            } else if location == root {
                error.location = name
            }
        }
        error.message = error.message.replacingOccurrences(of: prefix, with: "\(name): ")
        return error
    }
}
