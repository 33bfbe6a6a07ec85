import CArchive
import Foundation
import PkgLayerCore

/// Reads any archive libarchive knows (tar, cpio, ar, with gzip/xz/zstd/bzip2 compression) from a
/// file, optionally starting at a byte offset (an rpm's payload). Streams; holds one block at a time.
public final class ArchiveReader {
    /// - Parameters:
    ///   - offset: where the archive starts inside the file (the rpm payload offset), 0 otherwise.
    ///   - raw: read the (decompressed) stream as one member instead of parsing a container format;
    ///     used for rpm's stripped cpio, which libarchive does not know.
    public init(path: String, offset: UInt64 = 0, raw: Bool = false) throws {
        fatalError("PkgLayerArchive: ArchiveReader not implemented yet")
    }

    /// The next member's header, or nil at the end. Errors name the archive path.
    public func next() throws -> ArchiveEntryHeader? {
        fatalError("unimplemented")
    }

    /// Streams the current member's data.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        fatalError("unimplemented")
    }

    /// Reads the current member's data into memory (small members: control files).
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        fatalError("unimplemented")
    }

    /// Writes the current member's data to a new file at `path` (mode 0644; callers set the final mode).
    public func extractData(to path: String) throws {
        fatalError("unimplemented")
    }
}
