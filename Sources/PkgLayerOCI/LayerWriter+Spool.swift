import Foundation
import PkgLayerArchive
import PkgLayerCore

/// File contents held for one layer while its manifest is still being made: a package's data archive
/// is read once, in its own member order, and its layer is written afterwards in the manifest's sorted
/// order (a .deb lists its symlinks last; the dpkg database files are only known at the end).
///
/// Everything goes into one anonymous scratch file (created and unlinked at once, so nothing is left
/// behind whatever happens to the process), appended in order and found again by the content's sha256:
/// no file per member, no directories, no names on disk. Identical contents are kept once. The kernel's
/// page cache holds what fits; the process's own memory stays one block.
public final class LayerSpool {
    private let fd: Int32
    private let location: String
    private var end: Int64 = 0
    private var start: Int64?
    private var ranges: [String: (offset: Int64, length: Int64)] = [:]

    /// `directory`: where the (immediately unlinked) scratch file is made.
    public init(directory: String) throws {
        var template = Array("\(directory)/.layer-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PkgLayerError.posix("creating the layer spool", path: directory) }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
        location = directory
    }

    deinit { close(fd) }

    /// Starts one file's content; `write` appends to it and `end(sha256:)` files it under its digest.
    public func begin() {
        start = end
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard start != nil else {
            throw PkgLayerError(.io, "spool written outside begin()/end(sha256:)", at: location)
        }
        var offset = 0
        while offset < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + offset, bytes.count - offset, off_t(end))
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("writing the layer spool", path: location)
            }
            offset += n
            end += Int64(n)
        }
    }

    /// Files the content written since `begin()` under `sha256` (lower-case hex). Content already held
    /// under that digest is kept once: the new copy's space is reused.
    public func end(sha256: String) {
        guard let first = start else { return }
        start = nil
        let key = sha256.lowercased()
        if ranges[key] != nil {
            end = first
            return
        }
        ranges[key] = (first, end - first)
    }

    /// Whether content with this digest is held.
    public func holds(sha256: String) -> Bool { ranges[sha256.lowercased()] != nil }

    /// Streams the content held under `sha256` in blocks of at most 1 MiB; false when none is held.
    @discardableResult
    public func forEachBlock(sha256: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard let range = ranges[sha256.lowercased()] else { return false }
        let size = Int(min(range.length, Int64(FileReader.blockSize)))
        guard size > 0 else { return true }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < range.length {
            let want = Int(min(Int64(size), range.length - done))
            let n = pread(fd, buffer.baseAddress!, want, off_t(range.offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("reading the layer spool", path: location)
            }
            guard n > 0 else { throw PkgLayerError(.io, "the layer spool ended early", at: location) }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += Int64(n)
        }
        return true
    }

    /// The whole content held under `sha256`, when it is at most `limit` bytes (a copyright file).
    public func contents(sha256: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard let range = ranges[sha256.lowercased()], range.length <= Int64(limit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(range.length))
        try forEachBlock(sha256: sha256) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
