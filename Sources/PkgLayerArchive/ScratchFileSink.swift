import Foundation
import PkgLayerCore

/// A plain buffered scratch file as the end of a sink chain: the deb writer's data.tar before it goes
/// into the ar archive, the rpm writer's payload before it goes behind the headers. Unlike AtomicFile
/// there is no fsync and no rename: the file lives only until it has been copied and its directory is
/// removed. Created exclusively (O_EXCL, mode 0600), never through a symlink.
public final class ScratchFileSink: ByteSink {
    public let path: String
    /// Bytes written so far.
    public private(set) var size: UInt64 = 0
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 20

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("creating a scratch file", path: path) }
        buffer.reserveCapacity(Self.bufferLimit)
    }

    deinit { if fd >= 0 { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw PkgLayerError(.io, "the scratch file is already finished", at: path) }
        size += UInt64(bytes.count)
        if bytes.count >= Self.bufferLimit {
            try flush()
            try FileWriter.writeAll(fd, bytes, path: path)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= Self.bufferLimit { try flush() }
        }
    }

    /// Flushes and closes the file (once; later calls do nothing), so it can be read by path.
    public func finish() throws {
        guard fd >= 0 else { return }
        try flush()
        let result = close(fd)
        fd = -1
        guard result == 0 else { throw PkgLayerError.posix("close", path: path) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try FileWriter.writeAll(fd, $0, path: path) }
        buffer.removeAll(keepingCapacity: true)
    }
}
