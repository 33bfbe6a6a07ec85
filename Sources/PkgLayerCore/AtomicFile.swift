import Foundation

/// A file written under a temporary name in its final directory, renamed into place by `commit()`.
/// Until then the final path is untouched; if the writer fails or is dropped, the temporary file is
/// removed. A killed process leaves at most a hidden `.NAME.tmp-XXXXXX`, never a half-written package.
public final class AtomicFile {
    public let finalPath: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    public private(set) var bytesWritten: UInt64 = 0

    /// - Parameters:
    ///   - overwrite: without it, an existing file at `path` is an error (fpm's `-f`).
    ///   - mode: the final file's permission bits, independent of the umask.
    public init(path: String, overwrite: Bool, mode: mode_t = 0o644) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw PkgLayerError(.fileExists, "already exists; pass -f to overwrite it", at: path)
        }
        finalPath = path
        let dir = ManifestPathDirectory.directory(of: path)
        let base = (path as NSString).lastPathComponent
        let made = try WorkOwnership.makeFile(in: dir, prefix: ".\(base).tmp")
        self.fd = made.fd
        temporaryPath = made.path
        fchmod(fd, mode)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= bufferLimit {
            try flushBuffer()
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= bufferLimit { try flushBuffer() }
        }
        bytesWritten += UInt64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ string: String) throws { try write(Array(string.utf8)) }

    /// Appends a whole file, block by block.
    public func append(contentsOf path: String) throws {
        try FileReader.forEachBlock(path: path) { try write($0) }
    }

    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try FileWriter.writeAll(fd, bytes, path: temporaryPath)
    }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws {
        try flushBuffer()
        guard fsync(fd) == 0 else { throw PkgLayerError.posix("fsync", path: temporaryPath) }
        close(fd)
        fd = -1
        guard rename(temporaryPath, finalPath) == 0 else { throw PkgLayerError.posix("rename into place", path: finalPath) }
        committed = true
    }
}

enum ManifestPathDirectory {
    static func directory(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }
}

/// A scratch directory that is removed when dropped.
public final class TemporaryDirectory {
    public let path: String

    /// Creates `<prefix>-<owner tag>-XXXXXX` under `parent` (default: `$TMPDIR` or /tmp), after removing
    /// the work directories of dead runs there (`WorkOwnership`).
    public init(parent: String? = nil, prefix: String = "pkglayer") throws {
        let base = parent ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        path = try WorkOwnership.makeDirectory(in: base, prefix: prefix)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
