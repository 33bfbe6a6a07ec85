import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Writes an oci-archive: a tar of an OCI image layout (`skopeo inspect oci-archive:FILE:TAG`).
///
/// Deterministic: members in a fixed order (`blobs/`, `blobs/sha256/`, the blobs by digest,
/// `index.json`, `oci-layout`), owner 0:0 without names, modes 0755/0644, every mtime the epoch, pax
/// format (blobs over 8 GiB fit). Written to a temporary file and renamed into place.
public enum OCIArchiveWriter {
    public static func write(_ images: [TaggedImage], from store: BlobStore, to path: String, epoch: SourceDateEpoch,
                             overwrite: Bool = false) throws {
        try write(content: try OCILayoutContent(images), from: store, to: path, epoch: epoch, overwrite: overwrite)
    }

    /// Images of any layout (the local store is one), each under its tag.
    public static func write(_ manifests: [TaggedManifest], from store: BlobStore, to path: String, epoch: SourceDateEpoch,
                             overwrite: Bool = false) throws {
        try write(content: try OCILayoutContent(manifests), from: store, to: path, epoch: epoch, overwrite: overwrite)
    }

    static func write(content: OCILayoutContent, from store: BlobStore, to path: String, epoch: SourceDateEpoch, overwrite: Bool) throws {
        let file = try AtomicFile(path: path, overwrite: overwrite, mode: 0o644)
        let archive = try ArchiveWriter(format: .tarPax, sink: file)
        let writer = DeterministicTar(archive: archive, epoch: epoch)
        try writer.directory("blobs/")
        try writer.directory("blobs/sha256/")
        for blob in content.blobs {
            guard store.has(blob.digest, size: blob.size) else {
                throw PkgLayerError(.invalidInput, "blob \(blob.digest) of \(blob.size) bytes is missing from the store", at: store.path(for: blob.digest))
            }
            // Hashed as it is copied: a blob damaged in the store (a flipped byte keeps its size)
            // fails the save, and the temporary file is dropped, not renamed into place.
            var hasher = StreamingHasher([.sha256])
            try writer.file("blobs/sha256/\(blob.digest.hex)", contentsOf: store.path(for: blob.digest), size: UInt64(blob.size)) {
                hasher.update($0)
            }
            let actual = Digest(hex: hasher.finalizeSHA256().hexString)
            guard actual == blob.digest else {
                throw PkgLayerError(.invalidInput, "blob content hashes to \(actual), not to its name \(blob.digest): the store is damaged; run 'pkglayer store verify', remove the image and build, pull or load it again",
                                    at: store.path(for: blob.digest))
            }
        }
        try writer.file("index.json", bytes: content.index)
        try writer.file("oci-layout", bytes: OCILayoutContent.layoutFile)
        try archive.finish()
        try file.commit()
    }
}

/// Members with everything but name, size and content fixed.
struct DeterministicTar {
    let archive: ArchiveWriter
    let epoch: SourceDateEpoch

    private func header(_ path: String, mode: UInt32) -> ArchiveEntryHeader {
        var header = ArchiveEntryHeader(path: path, mode: mode)
        header.mtime = epoch.seconds
        return header
    }

    func directory(_ path: String) throws {
        try archive.writeHeader(header(path, mode: 0o040755))
    }

    func file(_ path: String, bytes: [UInt8]) throws {
        try archive.writeMember(header(path, mode: 0o100644), data: bytes)
    }

    func file(_ path: String, contentsOf source: String, size: UInt64, observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        var header = header(path, mode: 0o100644)
        header.size = size
        try archive.writeFile(header, contentsOf: source, observe: observe)
    }
}
