import CArchive
import Foundation
import PkgLayerCore

/// The container formats pkglayer writes through libarchive.
public enum ArchiveFormat: Sendable {
    /// SVR4 "newc" cpio without CRC (magic 070701), as rpm payloads use.
    case cpioNewc
    /// POSIX pax, using extended headers only where ustar cannot hold a value (long names, non-ASCII
    /// names, large sizes, xattrs). Pick it for OCI layers and anything that must carry xattrs (file
    /// capabilities): containerd, GNU tar, libarchive and `dpkg-deb -c` read it.
    case tarPax
    /// GNU tar, the format dpkg-deb itself writes: long names and link targets become
    /// `././@LongLink` members, non-ASCII names are stored as their UTF-8 bytes, and numbers too big
    /// for octal are base-256. Pick it for the tar members of a .deb: dpkg's own unpacker (`dpkg -i`,
    /// 1.21 on Debian 12) stops at a pax extended header ("unsupported PAX tar header type 'x'"),
    /// which `.tarPax` writes for exactly those names. It has no place for xattrs, so a header that
    /// carries any is refused rather than written without them.
    case tarGNU
    /// BSD ar, whose member names (16 characters or fewer) carry no trailing slash: the layout of a .deb.
    case arBSD

    /// pax or GNU tar: the formats with tar hardlink members.
    var isTar: Bool { self == .tarPax || self == .tarGNU }
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
///
/// Per format:
/// - `.cpioNewc`: `inode` and `nlink` are written as given (`nlink` defaults to 1). For an rpm link
///   set the caller gives every member but the last size 0; the writer writes whatever `size` says.
///   `hardlinkTarget`, names and xattrs have no place in newc and are ignored. Output ends right
///   after the `TRAILER!!!` member's own 4-byte padding.
/// - `.tarPax`, `.tarGNU`: a member with `hardlinkTarget` is a tar hardlink entry and carries no data
///   (its size is written as 0 whatever `size` says). Output is padded to a 10240-byte record, as GNU
///   tar does. `.tarPax`: xattrs become `SCHILY.xattr.*` records, and a pax header is added only when
///   ustar cannot hold a value. `.tarGNU`: no pax headers at all; xattrs, mtimes before 1970 and
///   user or group names over 31 bytes are refused (see `ArchiveFormat.tarGNU`).
/// - `.arBSD`: regular files only, names of at most 16 bytes without `/` or spaces, written as they
///   are (no trailing slash, no `#1/` long names), the layout dpkg expects. No padding beyond ar's own.
///
/// Only regular files carry data. After a failure the writer refuses further calls; start over.
public final class ArchiveWriter {
    public let format: ArchiveFormat

    private let archive: OpaquePointer
    private let output: WriterOutput
    private var state: State = .open
    /// The member being written and how many data bytes it still expects.
    private var member: String?
    private var remaining: UInt64 = 0

    private enum State {
        case open
        case failed(PkgLayerError)
        case finished
    }

    /// - Parameter sink: receives the uncompressed archive bytes; compress by passing a
    ///   `Compression.makeSink` result.
    public init(format: ArchiveFormat, sink: ByteSink) throws {
        guard let archive = archive_write_new() else {
            throw PkgLayerError(.archive, "libarchive could not allocate a writer (out of memory?)")
        }
        let output = WriterOutput(sink: sink)
        do {
            try Self.configure(archive, format: format)
            let status = archive_write_open(archive, Unmanaged.passUnretained(output).toOpaque(), nil,
                                            { _, context, buffer, length in
                                                guard let context else { return -1 }
                                                return Unmanaged<WriterOutput>.fromOpaque(context)
                                                    .takeUnretainedValue().write(buffer, length)
                                            }, nil)
            try checkArchive(status, archive, at: "opening the \(format) writer")
        } catch {
            output.discard = true
            archive_write_free(archive)
            throw error
        }
        self.format = format
        self.archive = archive
        self.output = output
    }

    private static func configure(_ a: OpaquePointer, format: ArchiveFormat) throws {
        let location = "configuring the \(format) writer"
        switch format {
        case .cpioNewc:
            try checkArchive(archive_write_set_format_cpio_newc(a), a, at: location)
            // Blocks are only an output buffer here; the archive is not padded beyond newc's own.
            try checkArchive(archive_write_set_bytes_per_block(a, 64 << 10), a, at: location)
            try checkArchive(archive_write_set_bytes_in_last_block(a, 1), a, at: location)
        case .tarPax:
            try checkArchive(archive_write_set_format_pax_restricted(a), a, at: location)
            // Xattrs only as SCHILY.xattr (what GNU tar, containerd and dpkg read), not also as
            // LIBARCHIVE.xattr: one record per attribute, and no duplicates when read back.
            try checkArchive(archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY"), a, at: location)
            // 6 records of 10240 per write; the end is padded to a multiple of 10240, as GNU tar does.
            try checkArchive(archive_write_set_bytes_per_block(a, 6 * 10240), a, at: location)
            try checkArchive(archive_write_set_bytes_in_last_block(a, 10240), a, at: location)
        case .tarGNU:
            try checkArchive(archive_write_set_format_gnutar(a), a, at: location)
            // The same blocking as .tarPax: whole 10240-byte records, as GNU tar and dpkg-deb write.
            try checkArchive(archive_write_set_bytes_per_block(a, 6 * 10240), a, at: location)
            try checkArchive(archive_write_set_bytes_in_last_block(a, 10240), a, at: location)
        case .arBSD:
            try checkArchive(archive_write_set_format_ar_bsd(a), a, at: location)
            try checkArchive(archive_write_set_bytes_per_block(a, 64 << 10), a, at: location)
            try checkArchive(archive_write_set_bytes_in_last_block(a, 1), a, at: location)
        }
        try checkArchive(archive_write_add_filter_none(a), a, at: location)
    }

    deinit {
        if case .finished = state {} else {
            // Abandoned: mark the archive failed so freeing it writes no trailer into the sink.
            output.discard = true
            archive_write_fail(archive)
        }
        archive_write_free(archive)
    }

    /// Writes a member's header. For regular files, follow with exactly `header.size` bytes of data.
    public func writeHeader(_ header: ArchiveEntryHeader) throws {
        try requireOpen()
        try requireMemberComplete()
        let size = try validate(header)
        let format = self.format
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        let status: CInt = withUTF8Locale {
            archive_entry_copy_pathname(entry, header.path)
            archive_entry_set_mode(entry, mode_t(header.mode))
            archive_entry_set_uid(entry, Int64(header.uid))
            archive_entry_set_gid(entry, Int64(header.gid))
            archive_entry_set_mtime(entry, time_t(header.mtime), 0)
            archive_entry_set_size(entry, Int64(size))
            if header.isSymlink, let target = header.symlinkTarget {
                archive_entry_copy_symlink(entry, target)
            }
            switch format {
            case .tarPax:
                if let name = header.userName { archive_entry_copy_uname(entry, name) }
                if let name = header.groupName { archive_entry_copy_gname(entry, name) }
                if let target = header.hardlinkTarget { archive_entry_copy_hardlink(entry, target) }
                for xattr in header.xattrs {
                    xattr.value.withUnsafeBytes { value in
                        archive_entry_xattr_add_entry(entry, xattr.name, value.baseAddress, value.count)
                    }
                }
            case .tarGNU:
                if let name = header.userName { archive_entry_copy_uname(entry, name) }
                if let name = header.groupName { archive_entry_copy_gname(entry, name) }
                if let target = header.hardlinkTarget { archive_entry_copy_hardlink(entry, target) }
            case .cpioNewc:
                if let inode = header.inode { archive_entry_set_ino64(entry, Int64(inode)) }
                archive_entry_set_nlink(entry, header.nlink ?? 1)
            case .arBSD:
                break
            }
            return archive_write_header(archive, entry)
        }
        try check(status, at: header.path)
        member = header.path
        remaining = size
    }

    /// Checks what libarchive would silently get wrong or drop, and returns the data size the member
    /// will carry.
    private func validate(_ header: ArchiveEntryHeader) throws -> UInt64 {
        let type = header.mode & FileTypeBits.mask
        let octal = String(header.mode, radix: 8)
        guard !header.path.isEmpty, !header.path.utf8.contains(0) else {
            throw PkgLayerError(.archive, "a member needs a non-empty path without NUL bytes", at: header.path)
        }
        guard type != 0 else {
            throw PkgLayerError(.archive, "mode 0\(octal) has no file-type bits; pass st_mode, for example 0o100644 for a file or 0o040755 for a directory",
                                at: header.path)
        }
        if type == FileTypeBits.symlink, header.symlinkTarget?.isEmpty ?? true {
            throw PkgLayerError(.archive, "a symlink member needs a non-empty symlinkTarget", at: header.path)
        }
        guard header.size <= UInt64(Int64.max) else {
            throw PkgLayerError(.archive, "size \(header.size) is too large", at: header.path)
        }
        switch format {
        case .arBSD:
            guard type == FileTypeBits.regular else {
                throw PkgLayerError(.archive, "an ar archive holds only regular files, not mode 0\(octal)", at: header.path)
            }
            let bytes = header.path.utf8
            guard bytes.count <= 16, !bytes.contains(UInt8(ascii: "/")), !bytes.contains(UInt8(ascii: " ")) else {
                throw PkgLayerError(.archive, "an ar member name must be at most 16 bytes without '/' or spaces (dpkg reads no other kind)",
                                    at: header.path)
            }
        case .cpioNewc:
            if let inode = header.inode, inode > 0xFFFF_FFFF {
                throw PkgLayerError(.archive, "inode \(inode) does not fit newc's 32 bits; number the inodes from 1", at: header.path)
            }
            if type == FileTypeBits.regular, header.size > 0xFFFF_FFFF {
                throw PkgLayerError(.archive, "newc cpio cannot hold a file of 4 GiB or more (\(header.size) bytes)", at: header.path)
            }
        case .tarPax:
            if header.hardlinkTarget != nil { return 0 }
        case .tarGNU:
            guard header.xattrs.isEmpty else {
                throw PkgLayerError(.archive, "GNU tar has no place for xattrs (\(header.xattrs.map(\.name).joined(separator: ", "))); write .tarPax to keep them",
                                    at: header.path)
            }
            guard header.mtime >= 0 else {
                throw PkgLayerError(.archive, "mtime \(header.mtime) lies before 1970, which GNU tar readers such as dpkg do not take; set SOURCE_DATE_EPOCH or fix the file's time",
                                    at: header.path)
            }
            for (field, name) in [("user", header.userName), ("group", header.groupName)] {
                // libarchive would cut a longer one short without a word.
                if let name, name.utf8.count > 31 {
                    throw PkgLayerError(.archive, "\(field) name '\(name)' is longer than the 31 bytes a GNU tar header holds", at: header.path)
                }
            }
            if header.hardlinkTarget != nil { return 0 }
        }
        return type == FileTypeBits.regular ? header.size : 0
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        try requireOpen()
        guard bytes.count > 0 else { return }
        let location = member ?? "(before the first member)"
        guard UInt64(bytes.count) <= remaining else {
            throw fail(PkgLayerError(.archive, "\(bytes.count) bytes of data given, but the header's size leaves room for only \(remaining) more",
                                     at: location))
        }
        var offset = 0
        while offset < bytes.count {
            let written = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 {
                try check(written < 0 ? CInt(truncatingIfNeeded: written) : ARCHIVE_FATAL, at: location)
            }
            offset += written
        }
        remaining -= UInt64(bytes.count)
    }

    /// Writes a header and then streams the file at `path` as its data; fails if the file's size
    /// differs from `header.size` (the file changed under us). A tar hardlink member reads nothing.
    /// Each block written is shown to `observe` too, so a caller can hash the file as it is archived
    /// rather than read it twice.
    public func writeFile(_ header: ArchiveEntryHeader, contentsOf path: String,
                          observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        guard header.isRegular else {
            throw PkgLayerError(.archive, "writeFile needs a regular-file header, not mode 0\(String(header.mode, radix: 8))", at: header.path)
        }
        try writeHeader(header)
        if format.isTar, header.hardlinkTarget != nil { return }
        var total: UInt64 = 0
        do {
            try FileReader.forEachBlock(path: path) { block in
                total += UInt64(block.count)
                guard total <= header.size else { throw sizeChanged(path, expected: header.size, atLeast: total) }
                observe?(block)
                try writeData(block)
            }
        } catch {
            throw fail(error)
        }
        guard total == header.size else { throw fail(sizeChanged(path, expected: header.size, actual: total)) }
    }

    private func sizeChanged(_ path: String, expected: UInt64, actual: UInt64? = nil, atLeast: UInt64? = nil) -> PkgLayerError {
        let what = actual.map { "shrank to \($0) bytes" } ?? "grew to at least \(atLeast ?? 0) bytes"
        return PkgLayerError(.io, "\(what) after its header (and the manifest) said \(expected); nothing may modify the staged tree while packaging, or rebuild the manifest",
                             at: path)
    }

    /// Writes a member whose data is in memory (control files, debian-binary). For a regular file the
    /// size written is `data.count`, whatever `header.size` says.
    public func writeMember(_ header: ArchiveEntryHeader, data: [UInt8]) throws {
        var header = header
        if header.isRegular { header.size = UInt64(data.count) }
        try writeHeader(header)
        if remaining > 0 { try data.withUnsafeBytes { try writeData($0) } }
        else if !data.isEmpty && !(format.isTar && header.hardlinkTarget != nil) {
            throw PkgLayerError(.archive, "only regular files carry data; this member's mode is 0\(String(header.mode, radix: 8))", at: header.path)
        }
    }

    /// Writes the archive trailer and finishes the sink chain.
    public func finish() throws {
        try requireOpen()
        try requireMemberComplete()
        try check(archive_write_close(archive), at: "the end of the \(format) archive")
        state = .finished
        try output.sink.finish()
    }

    // MARK: - State

    private func requireOpen() throws {
        switch state {
        case .open: return
        case .finished:
            throw PkgLayerError(.archive, "the \(format) archive is already finished; start a new ArchiveWriter")
        case .failed(let earlier):
            throw PkgLayerError(.archive, "the \(format) writer failed earlier (\(earlier)); the archive is incomplete, start over",
                                at: earlier.location)
        }
    }

    private func requireMemberComplete() throws {
        guard remaining == 0 else {
            throw fail(PkgLayerError(.archive, "\(remaining) bytes of data are missing: write exactly the header's size before the next member",
                                     at: member))
        }
    }

    /// Throws for a libarchive status; a failure in the sink below wins, because it says more.
    private func check(_ status: CInt, at location: String) throws {
        guard status != ARCHIVE_OK else { return }
        throw fail(output.error ?? archiveError(archive, status: status, at: location))
    }

    /// Marks the writer failed (the archive is incomplete) and hands the error back to throw.
    private func fail(_ error: Error) -> Error {
        state = .failed(error as? PkgLayerError ?? PkgLayerError(.io, "\(error)"))
        return error
    }
}

/// The C write callback's context: forwards libarchive's blocks to the sink and keeps its error,
/// which libarchive itself can only report as a failed write.
final class WriterOutput {
    let sink: ByteSink
    var error: Error?
    /// Set when the writer is abandoned: whatever libarchive still flushes goes nowhere.
    var discard = false

    init(sink: ByteSink) { self.sink = sink }

    func write(_ buffer: UnsafeRawPointer?, _ length: Int) -> Int {
        if discard { return length }
        guard error == nil else { return -1 }
        do {
            try sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        } catch {
            self.error = error
            return -1
        }
    }
}
