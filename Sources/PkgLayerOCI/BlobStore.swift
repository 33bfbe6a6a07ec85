import Foundation
import PkgLayerArchive
import PkgLayerCore

/// A content-addressed blob directory: `ROOT/blobs/sha256/<hex>`, the layout an OCI image layout uses.
///
/// Blobs are written under a temporary name in the same directory, synced, and renamed to their digest,
/// so a reader never sees half a blob and a killed writer leaves at most a `.tmp-*` file. A blob already
/// present is not written again if it still hashes to its name. Every blob that enters the store
/// through a writer is hashed as it is written (`commit(expecting:)` refuses other bytes); `transfer`
/// with `verifying` hashes a foreign blob before linking it.
public final class BlobStore: Sendable {
    /// The directory that holds `blobs/`.
    public let root: String
    public var blobDirectory: String { "\(root)/blobs/sha256" }

    public init(root: String) throws {
        self.root = root
        do {
            try FileManager.default.createDirectory(atPath: "\(root)/blobs/sha256", withIntermediateDirectories: true)
        } catch {
            throw PkgLayerError(.io, "cannot create the blob directory: \(error.localizedDescription)", at: "\(root)/blobs/sha256")
        }
    }

    public func path(for digest: Digest) -> String { "\(blobDirectory)/\(digest.hex)" }

    /// Whether the blob is present; with `size`, only if its size matches too.
    public func has(_ digest: Digest, size: Int64? = nil) -> Bool {
        var info = stat()
        guard lstat(path(for: digest), &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return size.map { Int64(info.st_size) == $0 } ?? true
    }

    /// Stores bytes held in memory (configs, manifests) and returns their descriptor.
    @discardableResult
    public func put(_ bytes: [UInt8], mediaType: String, annotations: [String: String] = [:]) throws -> OCIDescriptor {
        let digest = Digest.sha256(bytes)
        let descriptor = OCIDescriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count), annotations: annotations)
        // A small blob already present is checked before it is trusted; a damaged one is replaced.
        if has(digest, size: descriptor.size), (try? hash(digest)) == digest { return descriptor }
        let writer = try makeWriter()
        try bytes.withUnsafeBytes { try writer.write($0) }
        _ = try writer.commit(expecting: digest)
        return descriptor
    }

    /// A sink that streams a blob of unknown digest into the store; `commit()` names it.
    public func makeWriter() throws -> BlobWriter { try BlobWriter(store: self) }

    /// Reads a whole (small) blob, checking its digest.
    public func read(_ digest: Digest, limit: Int = InputLimits.current.int(.ociJSONBytes)) throws -> [UInt8] {
        let path = path(for: digest)
        var bytes: [UInt8] = []
        try FileReader.forEachBlock(path: path) { block in
            guard bytes.count + block.count <= limit else {
                throw tooLarge(digest, limit: limit)   // OCILayoutReader+Limits.swift
            }
            bytes += block
        }
        guard Digest.sha256(bytes) == digest else {
            throw PkgLayerError(.invalidInput, "blob content does not match its digest \(digest): the store or layout is damaged; for the image store run 'pkglayer store verify', remove the images it names and build, pull or load them again",
                                at: path)
        }
        return bytes
    }

    /// The sha256 of the blob file named `digest`, read without following a symlink.
    public func hash(_ digest: Digest) throws -> Digest {
        let path = path(for: digest)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        return try Self.sha256(of: fd, path: path).digest
    }

    /// Checks that the blob named `digest` holds `size` bytes (when given) that hash to `digest`.
    public func verify(_ digest: Digest, size: Int64? = nil) throws {
        let path = path(for: digest)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT {
                throw PkgLayerError(.invalidInput, "blob \(digest) is missing: the image names it, but the layout does not hold it", at: path)
            }
            throw PkgLayerError.posix("open", path: path)
        }
        defer { close(fd) }
        let (actual, count) = try Self.sha256(of: fd, path: path)
        if let size, count != size {
            throw PkgLayerError(.invalidInput, "blob \(digest) holds \(count) bytes, but its descriptor says \(size); the image is damaged or was altered",
                                at: path)
        }
        guard actual == digest else {
            throw PkgLayerError(.invalidInput, "blob content hashes to \(actual), not to its name \(digest); the image is damaged or was altered",
                                at: path)
        }
    }

    /// The sha256 and length of what `fd` holds from its current offset to the end.
    static func sha256(of fd: Int32, path: String) throws -> (digest: Digest, size: Int64) {
        var hasher = StreamingHasher([.sha256])
        var size: Int64 = 0
        try FileReader.forEachBlock(fd: fd, path: path) { block in
            hasher.update(block)
            size += Int64(block.count)
        }
        return (Digest(hex: hasher.finalizeSHA256().hexString), size)
    }

    /// Makes `digest` present in `other`: a hard link when both stores share a file system, else a copy
    /// (which checks the digest as it copies). With `verifying`, the source is hashed before it is
    /// linked, so a blob whose bytes do not match its name never enters `other` (for stores written by
    /// others: an archive being loaded, a layout on disk).
    public func transfer(_ digest: Digest, size: Int64, to other: BlobStore, verifying: Bool = false) throws {
        if other.has(digest, size: size) { return }
        guard has(digest, size: size) else {
            throw PkgLayerError(.invalidInput, "blob \(digest) of \(size) bytes is missing from the store", at: path(for: digest))
        }
        if verifying { try verify(digest, size: size) }
        let source = path(for: digest), destination = other.path(for: digest)
        if link(source, destination) == 0 { return }
        if errno == EEXIST {
            unlink(destination)
            if link(source, destination) == 0 { return }
        }
        let writer = try other.makeWriter()
        try FileReader.forEachBlock(path: source) { try writer.write($0) }
        _ = try writer.commit(expecting: digest)
    }
}

/// Streams a blob into a store: bytes go to a temporary file while being hashed and counted; `commit()`
/// syncs it and renames it to its digest. Dropped without a commit, the temporary file is removed.
// @unchecked Sendable: a writer belongs to one transfer at a time: the registry transport writes it from
// the task that receives the body, and the caller commits it only after that send has returned.
public final class BlobWriter: ByteSink, @unchecked Sendable {
    public let store: BlobStore
    public let temporaryPath: String
    private var fd: Int32
    private var hasher = StreamingHasher([.sha256])
    public private(set) var size: Int64 = 0
    /// A raw buffer copied into with memcpy: appending a buffer pointer to an [UInt8] goes element by
    /// element in unoptimised builds.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferLimit, alignment: 16)
    private var buffered = 0
    private static let bufferLimit = 1 << 20
    private var done = false

    init(store: BlobStore) throws {
        self.store = store
        let made = try WorkOwnership.makeFile(in: store.blobDirectory, prefix: ".tmp")
        self.fd = made.fd
        temporaryPath = made.path
        fchmod(fd, 0o644)
    }

    deinit {
        if !done {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
        buffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw PkgLayerError(.io, "the blob is already committed", at: temporaryPath) }
        hasher.update(bytes)
        size += Int64(bytes.count)
        if buffered + bytes.count > Self.bufferLimit { try flush() }
        if bytes.count >= Self.bufferLimit {
            try FileWriter.writeAll(fd, bytes, path: temporaryPath)
        } else if let base = bytes.baseAddress {
            (buffer.baseAddress! + buffered).copyMemory(from: base, byteCount: bytes.count)
            buffered += bytes.count
        }
    }

    /// Finishing the sink chain does not commit: the owner commits once it knows everything went well.
    public func finish() throws { try flush() }

    private func flush() throws {
        guard buffered > 0 else { return }
        try FileWriter.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]), path: temporaryPath)
        buffered = 0
    }

    /// Removes the temporary file now; the writer is finished.
    public func discard() {
        guard !done else { return }
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(temporaryPath)
        done = true
    }

    /// Syncs the blob and renames it to `blobs/sha256/<digest>`. With `expecting`, a different digest is
    /// an error and nothing is stored. A blob already present with the same size is kept as it is.
    public func commit(expecting expected: Digest? = nil) throws -> (digest: Digest, size: Int64) {
        guard !done else { throw PkgLayerError(.io, "the blob is already committed", at: temporaryPath) }
        try flush()
        let digest = Digest(hex: hasher.finalizeSHA256().hexString)
        if let expected, expected != digest {
            discard()
            throw PkgLayerError(.invalidInput, "blob content hashes to \(digest), not the expected \(expected)", at: temporaryPath)
        }
        guard fsync(fd) == 0 else { throw PkgLayerError.posix("fsync", path: temporaryPath) }
        close(fd)
        fd = -1
        done = true
        // A blob of that name already there is kept (outputs may share its inode) only when it holds
        // what its name says; a damaged one is replaced by the bytes just checked.
        if store.has(digest, size: size), (try? store.hash(digest)) == digest {
            unlink(temporaryPath)
        } else if rename(temporaryPath, store.path(for: digest)) != 0 {
            let error = PkgLayerError.posix("rename into place", path: store.path(for: digest))
            unlink(temporaryPath)
            throw error
        }
        return (digest, size)
    }
}
