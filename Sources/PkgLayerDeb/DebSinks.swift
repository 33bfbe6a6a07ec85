import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Collects bytes in memory: the control tarball, which is small.
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    func finish() throws {}
}

/// Writes bytes to a new scratch file (O_EXCL, mode 0600) with 1 MiB buffering; no fsync, since the
/// file lives only until the .deb has been assembled.
final class ScratchFileSink: ByteSink {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let limit = 1 << 20
    private(set) var size: UInt64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("creating a scratch file", path: path) }
        buffer.reserveCapacity(limit)
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        size += UInt64(bytes.count)
        if bytes.count >= limit {
            try flush()
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= limit { try flush() }
        }
    }

    func finish() throws {
        try flush()
        if fd >= 0 {
            guard close(fd) == 0 else { fd = -1; throw PkgLayerError.posix("close", path: path) }
            fd = -1
        }
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
                throw PkgLayerError.posix("write", path: path)
            }
            offset += n
        }
    }
}
