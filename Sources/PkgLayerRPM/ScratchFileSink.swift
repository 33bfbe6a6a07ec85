import Foundation
import PkgLayerArchive
import PkgLayerCore

/// A plain buffered scratch file: the temporary payload, or a stripped payload member's content
/// before it moves into place. Unlike AtomicFile there is no fsync and no rename: the file is
/// consumed and deleted. Created exclusively, never through a symlink.
final class ScratchFileSink: ByteSink {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let path: String
    private static let bufferLimit = 1 << 20

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("creating a scratch file", path: path) }
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > Self.bufferLimit { try flush() }
        if bytes.count >= Self.bufferLimit {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func finish() throws { try flush() }

    func close() throws {
        try flush()
        guard Foundation.close(fd) == 0 else { fd = -1; throw PkgLayerError.posix("closing a scratch file", path: path) }
        fd = -1
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("writing a scratch file", path: path)
            }
            offset += n
        }
    }
}
