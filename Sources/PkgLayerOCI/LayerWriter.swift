import Foundation
import PkgLayerArchive
import PkgLayerCore

/// A layer blob in a store: its descriptor (compressed digest and size) and its diff ID (the sha256 of
/// the uncompressed tar, which the image config lists).
public struct LayerBlob: Equatable, Sendable {
    public var descriptor: OCIDescriptor
    public var diffID: Digest
    public var uncompressedSize: Int64

    public init(descriptor: OCIDescriptor, diffID: Digest, uncompressedSize: Int64) {
        self.descriptor = descriptor; self.diffID = diffID; self.uncompressedSize = uncompressedSize
    }
}

/// Turns one FileManifest into one gzip-compressed pax tar layer, streamed from the entries' source
/// files into a BlobStore in constant memory.
///
/// Members follow the manifest's order (sorted by path, parents first), spelled as umoci and Docker
/// spell them: relative (`usr/bin/x`), directories with a trailing `/`. Each carries the manifest's
/// numeric uid/gid and its user/group names, its mtime, its full mode (setuid, setgid and sticky
/// included), symlink text, hardlinks as tar hardlink members naming their target, and file
/// capabilities as the `security.capability` xattr (a pax `SCHILY.xattr` record). `%ghost` entries have
/// no content in any package, so they are left out. Nothing else reaches the bytes: gzip's header has
/// mtime 0, and the compressed bytes do not depend on the number of threads, so a manifest always
/// gives the same layer digest.
public struct LayerWriter {
    public var compressionLevel: Int
    public var threads: Int
    /// When set, a manifest already written (same key, blob still in the store) is not written again.
    public var cache: LayerCache?

    public init(compressionLevel: Int = 6, threads: Int = Compression.defaultThreads, cache: LayerCache? = nil) {
        self.compressionLevel = compressionLevel
        self.threads = threads
        self.cache = cache
    }

    /// Writes the layer into `store` and returns its blob. A regular file's content comes from `spool`
    /// when it holds the entry's sha256 (a package read without staging its files), else from its
    /// `sourcePath`, which must have the manifest's size and (when the manifest has one) sha256. The
    /// bytes are the same either way: they depend on the manifest and the contents only.
    public func write(_ manifest: FileManifest, to store: BlobStore, annotations: [String: String] = [:],
                      spool: LayerSpool? = nil) throws -> LayerBlob {
        guard let cache, let key = LayerCache.key(for: manifest, compressionLevel: compressionLevel) else {
            return try writeUncached(manifest, to: store, annotations: annotations, spool: spool)
        }
        if var hit = cache.lookup(key, in: store) {
            hit.descriptor.annotations = annotations
            return hit
        }
        let layer = try writeUncached(manifest, to: store, annotations: annotations, spool: spool)
        try cache.record(key, layer, in: store)
        return layer
    }

    private func writeUncached(_ manifest: FileManifest, to store: BlobStore, annotations: [String: String],
                               spool: LayerSpool?) throws -> LayerBlob {
        try Self.checkGhostLinks(manifest)
        for entry in manifest.entries { try Self.checkLayerSafety(entry) }
        let blob = try store.makeWriter()
        let compressed = HashingSink(next: blob)
        let gzip = try Compression.gzip(level: compressionLevel).makeSink(wrapping: compressed, threads: threads)
        let tar = HashingSink(next: gzip)
        let archive = try ArchiveWriter(format: .tarPax, sink: tar)
        for entry in manifest.entries where !entry.flags.contains(.ghost) {
            try Self.writeEntry(entry, to: archive, spool: spool)
        }
        try archive.finish()
        let (digest, size) = try blob.commit()
        return LayerBlob(descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size, annotations: annotations),
                         diffID: Digest(hex: tar.sha256Hex), uncompressedSize: Int64(tar.count))
    }

    /// What a package may hold but a layer must not carry:
    /// - a name starting with `.wh.`: in a layer that is a whiteout, and would delete the file of that
    ///   name (or, as `.wh..wh..opq`, a whole directory's content) from the layers below;
    /// - a symlink whose target climbs above the root (`../../../etc/shadow`): a runtime clamps it to
    ///   `/`, but no honest package ships one, and tools that follow it on the host escape.
    static func checkLayerSafety(_ entry: ManifestEntry) throws {
        if ManifestPath.basename(of: entry.path).hasPrefix(".wh.") {
            throw PkgLayerError(.pathEscapesRoot, "a name starting with '.wh.' is an OCI whiteout and would delete files of the layers below; rename the file",
                                at: entry.path)
        }
        if entry.kind == .symlink, let target = entry.linkTarget,
           !ManifestPath.symlinkStaysInside(linkPath: entry.path, target: target) {
            throw PkgLayerError(.pathEscapesRoot, "symlink target '\(target)' climbs above the image root; point it inside the tree",
                                at: entry.path)
        }
    }

    /// A `%ghost` file is left out of the layer, so nothing may hardlink to it.
    static func checkGhostLinks(_ manifest: FileManifest) throws {
        let ghosts = Set(manifest.entries.filter { $0.flags.contains(.ghost) }.map(\.path))
        guard !ghosts.isEmpty else { return }
        for entry in manifest.entries where entry.kind == .hardlink && !entry.flags.contains(.ghost) {
            if let target = entry.linkTarget, ghosts.contains(target) {
                throw PkgLayerError(.invalidInput, "hardlinks to the %ghost file '\(target)', which has no content in a layer; make one of them a real file",
                                    at: entry.path)
            }
        }
    }

    /// The tar header for a manifest entry (without data).
    public static func header(for entry: ManifestEntry) throws -> ArchiveEntryHeader {
        var header = ArchiveEntryHeader(path: entry.relativePath + (entry.kind == .directory ? "/" : ""), mode: entry.fullMode)
        header.uid = entry.uid
        header.gid = entry.gid
        header.userName = entry.user.isEmpty ? nil : entry.user
        header.groupName = entry.group.isEmpty ? nil : entry.group
        header.mtime = entry.mtime
        switch entry.kind {
        case .file:
            header.size = entry.size
        case .directory:
            break
        case .symlink:
            header.symlinkTarget = entry.linkTarget
        case .hardlink:
            guard let target = entry.linkTarget else {
                throw PkgLayerError(.invalidInput, "hardlink has no target", at: entry.path)
            }
            header.hardlinkTarget = String(target.drop(while: { $0 == "/" }))
        }
        if let caps = entry.capabilities, !caps.isEmpty, entry.kind == .file {
            let value = try FileCapabilities.xattr(fromText: caps, field: entry.path)
            header.xattrs = [(FileCapabilities.xattrName, value)]
        }
        return header
    }

    static func writeEntry(_ entry: ManifestEntry, to archive: ArchiveWriter, spool: LayerSpool? = nil) throws {
        let header = try header(for: entry)
        guard entry.kind == .file, entry.size > 0 else {
            try archive.writeHeader(header)
            return
        }
        if let spool, let sha256 = entry.sha256, spool.holds(sha256: sha256) {
            // The spool's content was hashed on its way in and nothing else can reach it (the file has no name).
            try archive.writeHeader(header)
            var total: UInt64 = 0
            try spool.forEachBlock(sha256: sha256) { block in
                total += UInt64(block.count)
                guard total <= entry.size else {
                    throw PkgLayerError(.io, "spooled content is larger than the manifest's \(entry.size) bytes", at: entry.path)
                }
                try archive.writeData(block)
            }
            guard total == entry.size else {
                throw PkgLayerError(.io, "spooled content has \(total) bytes, the manifest says \(entry.size)", at: entry.path)
            }
            return
        }
        guard let source = entry.sourcePath else {
            throw PkgLayerError(.invalidInput, "has \(entry.size) bytes but no source file to read them from", at: entry.path)
        }
        try archive.writeHeader(header)
        var hasher = StreamingHasher([.sha256])
        var total: UInt64 = 0
        try FileReader.forEachBlock(path: source) { block in
            total += UInt64(block.count)
            guard total <= entry.size else {
                throw PkgLayerError(.io, "source grew past the manifest's \(entry.size) bytes; nothing may change the staged tree while writing a layer",
                                    at: source)
            }
            if entry.sha256 != nil { hasher.update(block) }
            try archive.writeData(block)
        }
        guard total == entry.size else {
            throw PkgLayerError(.io, "source has \(total) bytes, the manifest says \(entry.size); nothing may change the staged tree while writing a layer",
                                at: source)
        }
        if let expected = entry.sha256 {
            let actual = hasher.finalizeSHA256().hexString
            guard actual == expected.lowercased() else {
                throw PkgLayerError(.invalidInput, "source content has sha256 \(actual), the manifest says \(expected); the file changed after the manifest was made",
                                    at: "\(entry.path) (\(source))")
            }
        }
    }
}
