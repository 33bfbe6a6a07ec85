import CArchive
import Foundation
import PkgLayerCore

/// The container formats pkglayer writes through libarchive.
public enum ArchiveFormat: Sendable {
    /// SVR4 "newc" cpio without CRC (magic 070701), as rpm payloads use.
    case cpioNewc
    /// POSIX pax, using extended headers only where ustar cannot hold a value (long names,
    /// large sizes, xattrs). dpkg and OCI layers read it.
    case tarPax
    /// BSD ar, whose member names (16 characters or fewer) carry no trailing slash: the layout of a .deb.
    case arBSD
}

/// One member's header, in the terms every format shares.
public struct ArchiveEntryHeader: Sendable, Equatable {
    public var path: String
    /// `st_mode`: type bits and permission bits.
    public var mode: UInt32
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var userName: String? = nil
    public var groupName: String? = nil
    public var mtime: Int64 = 0
    public var size: UInt64 = 0
    public var symlinkTarget: String? = nil
    /// For a tar hardlink: the member it links to (a path as written in this archive).
    public var hardlinkTarget: String? = nil
    /// cpio only: inode number and link count (rpm pairs hardlinks by inode).
    public var inode: UInt64? = nil
    public var nlink: UInt32? = nil
    /// Extended attributes to record (pax SCHILY.xattr), e.g. `security.capability`.
    public var xattrs: [(name: String, value: [UInt8])] = []

    public init(path: String, mode: UInt32) {
        self.path = path
        self.mode = mode
    }

    public static func == (a: ArchiveEntryHeader, b: ArchiveEntryHeader) -> Bool {
        a.path == b.path && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.userName == b.userName
            && a.groupName == b.groupName && a.mtime == b.mtime && a.size == b.size && a.symlinkTarget == b.symlinkTarget
            && a.hardlinkTarget == b.hardlinkTarget && a.inode == b.inode && a.nlink == b.nlink
            && a.xattrs.map(\.name) == b.xattrs.map(\.name) && a.xattrs.map(\.value) == b.xattrs.map(\.value)
    }

    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isRegular: Bool { mode & 0o170000 == 0o100000 }
    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
}

/// Writes an archive (cpio, tar or ar) to a ByteSink through libarchive, one member at a time, with
/// nothing held whole in memory. Deterministic: only what the header says is written (no atime,
/// ctime, host user lookups or current time).
public final class ArchiveWriter {
    /// - Parameter sink: receives the uncompressed archive bytes; compress by passing a
    ///   `Compression.makeSink` result.
    public init(format: ArchiveFormat, sink: ByteSink) throws {
        fatalError("PkgLayerArchive: ArchiveWriter not implemented yet")
    }

    /// Writes a member's header. For regular files, follow with exactly `header.size` bytes of data.
    public func writeHeader(_ header: ArchiveEntryHeader) throws {
        fatalError("unimplemented")
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        fatalError("unimplemented")
    }

    /// Writes a header and then streams the file at `path` as its data; fails if the file's size
    /// differs from `header.size` (the file changed under us).
    public func writeFile(_ header: ArchiveEntryHeader, contentsOf path: String) throws {
        fatalError("unimplemented")
    }

    /// Writes a member whose data is in memory (control files, debian-binary).
    public func writeMember(_ header: ArchiveEntryHeader, data: [UInt8]) throws {
        fatalError("unimplemented")
    }

    /// Writes the archive trailer and finishes the sink chain.
    public func finish() throws {
        fatalError("unimplemented")
    }
}
