import Foundation

/// Writing to a descriptor: the one loop that retries short writes and EINTR, shared by every file
/// writer (AtomicFile, scratch files, extraction).
public enum FileWriter {
    /// Writes all of `bytes` to `fd`; a failure is `.io`, naming `path`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, what: String = "write") throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix(what, path: path)
            }
            offset += n
        }
    }
}
