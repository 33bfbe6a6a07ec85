import CArchive
import Foundation
import PkgLayerCore

/// Reads any archive libarchive knows (tar, cpio, ar, with gzip/xz/zstd/bzip2 compression) from a
/// file, optionally starting at a byte offset (an rpm's payload). Streams; holds one block at a time.
///
/// Paths are reported exactly as the archive spells them, `../` and absolute paths included:
/// deciding what is safe to extract is the caller's job. Empty user and group names are reported as nil.
///
/// cpio has no link-target field: a link set is the members sharing an `inode` with `nlink` > 1, and
/// in rpm's convention only the last of them carries the data. So for cpio `inode` and `nlink` are
/// filled in and `hardlinkTarget` stays nil (libarchive would name the first member of the set there,
/// which in an rpm payload is the empty one; linking to it would lose the data).
public final class ArchiveReader {
    public let path: String
    let archive: OpaquePointer
    private let source: FileSource
    private var entry: OpaquePointer?
    private var member: String?
    private var atEnd = false
    private var isCpio = false
    /// The limits this reader enforces (members, extracted bytes); ArchiveReader+Limits.swift.
    public var limits = InputLimits.current
    var usage = ArchiveUsage()

    /// - Parameters:
    ///   - offset: where the archive starts inside the file (the rpm payload offset), 0 otherwise.
    ///   - raw: read the (decompressed) stream as one member (named `data`) instead of parsing a
    ///     container format; used for rpm's stripped cpio, which libarchive does not know. An empty
    ///     stream has no member.
    public init(path: String, offset: UInt64 = 0, raw: Bool = false) throws {
        let source = try FileSource(path: path, offset: offset)
        guard let archive = archive_read_new() else {
            throw PkgLayerError(.archive, "libarchive could not allocate a reader (out of memory?)", at: path)
        }
        do {
            // Filters that need an external program (lrzip, …) warn when it is missing; not an error.
            try checkArchive(archive_read_support_filter_all(archive), archive, at: path, allowWarning: true)
            if raw {
                try checkArchive(archive_read_support_format_raw(archive), archive, at: path)
                // An empty stream then reads as no member at all, rather than "Unrecognized archive format".
                try checkArchive(archive_read_support_format_empty(archive), archive, at: path)
            } else {
                try checkArchive(archive_read_support_format_all(archive), archive, at: path, allowWarning: true)
            }
            archive_read_set_read_callback(archive) { _, context, buffer in
                Unmanaged<FileSource>.fromOpaque(context!).takeUnretainedValue().read(buffer!)
            }
            archive_read_set_skip_callback(archive) { _, context, request in
                Unmanaged<FileSource>.fromOpaque(context!).takeUnretainedValue().skip(request)
            }
            archive_read_set_seek_callback(archive) { _, context, offset, whence in
                Unmanaged<FileSource>.fromOpaque(context!).takeUnretainedValue().seek(offset, whence: whence)
            }
            archive_read_set_callback_data(archive, Unmanaged.passUnretained(source).toOpaque())
            let status = withUTF8Locale { archive_read_open1(archive) }
            if status != ARCHIVE_OK {
                throw source.error(at: path) ?? archiveError(archive, status: status, at: path)
            }
        } catch {
            archive_read_free(archive)
            throw error
        }
        self.path = path
        self.archive = archive
        self.source = source
        usage = ArchiveUsage(path: path, offset: offset)
    }

    deinit {
        archive_read_free(archive)
    }

    /// The next member's header, or nil at the end. Errors name the archive path.
    public func next() throws -> ArchiveEntryHeader? {
        if atEnd { return nil }
        var next: OpaquePointer?
        let status = withUTF8Locale { archive_read_next_header(archive, &next) }
        entry = nil
        if status == ARCHIVE_EOF {
            atEnd = true
            return nil
        }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let next else {
            let location = member.map { "\(path): after \($0)" } ?? path
            throw failure(status, at: location)
        }
        entry = next
        isCpio = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_CPIO
        let header = withUTF8Locale { makeHeader(next) }
        member = header.path
        try admit(header, next)
        return header
    }

    private func makeHeader(_ e: OpaquePointer) -> ArchiveEntryHeader {
        let pathname = String(archiveCString: archive_entry_pathname_utf8(e))
            ?? String(archiveCString: archive_entry_pathname(e)) ?? ""
        var header = ArchiveEntryHeader(path: pathname, mode: UInt32(archive_entry_mode(e)))
        header.uid = UInt32(clamping: archive_entry_uid(e))
        header.gid = UInt32(clamping: archive_entry_gid(e))
        header.userName = nonEmpty(archive_entry_uname_utf8(e) ?? archive_entry_uname(e))
        header.groupName = nonEmpty(archive_entry_gname_utf8(e) ?? archive_entry_gname(e))
        header.mtime = Int64(archive_entry_mtime(e))
        header.size = archive_entry_size_is_set(e) != 0 ? UInt64(clamping: archive_entry_size(e)) : 0
        header.symlinkTarget = nonEmpty(archive_entry_symlink_utf8(e) ?? archive_entry_symlink(e))
        if isCpio {
            header.inode = archive_entry_ino_is_set(e) != 0 ? UInt64(clamping: archive_entry_ino64(e)) : nil
            header.nlink = UInt32(archive_entry_nlink(e))
        } else {
            header.hardlinkTarget = nonEmpty(archive_entry_hardlink_utf8(e) ?? archive_entry_hardlink(e))
            // libarchive leaves the type bits of a tar hardlink entry empty; it links to a regular file.
            if header.hardlinkTarget != nil, header.mode & FileTypeBits.mask == 0 {
                header.mode |= FileTypeBits.regular
            }
        }
        if archive_entry_xattr_reset(e) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK {
                guard let key = String(archiveCString: name) else { continue }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                header.xattrs.append((name: key, value: bytes))
            }
        }
        return header
    }

    private func nonEmpty(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let text = String(archiveCString: pointer), !text.isEmpty else { return nil }
        return text
    }

    /// Streams the current member's data. Holes of a sparse member are delivered as zeros.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard entry != nil else {
            throw PkgLayerError(.archive, "no current member: call next() first", at: path)
        }
        var position: Int64 = 0
        while true {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = archive_read_data_block(archive, &block, &size, &offset)
            if status != ARCHIVE_OK && status != ARCHIVE_WARN && status != ARCHIVE_EOF {
                throw failure(status, at: currentLocation)
            }
            if offset > position {
                try consume(UInt64(offset - position), at: currentLocation)
                try Self.emitZeros(count: offset - position, body)
                position = offset
            }
            if status == ARCHIVE_EOF { break }
            if size > 0, let block {
                try consume(UInt64(size), at: currentLocation)
                try body(UnsafeRawBufferPointer(start: block, count: size))
                position += Int64(size)
            }
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 64 << 10)

    private static func emitZeros(count: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var left = count
        try zeros.withUnsafeBytes { buffer in
            while left > 0 {
                let n = Int(min(left, Int64(buffer.count)))
                try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                left -= Int64(n)
            }
        }
    }

    /// Reads the current member's data into memory (small members: control files).
    public func readAll(limit: Int = 64 << 20) throws -> [UInt8] {
        guard let entry else {
            throw PkgLayerError(.archive, "no current member: call next() first", at: path)
        }
        let tooLarge = PkgLayerError(.archive, "member is larger than \(limit) bytes, the most read into memory", at: currentLocation)
        var declared = 0
        if archive_entry_size_is_set(entry) != 0 {
            let size = archive_entry_size(entry)
            if size > Int64(limit) { throw tooLarge }
            declared = Int(max(0, size))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(declared)
        try readData { chunk in
            if bytes.count + chunk.count > limit { throw tooLarge }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Writes the current member's data to a new file at `path` (mode 0644; callers set the final mode).
    /// The file must not exist yet; on failure it is removed again.
    public func extractData(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw PkgLayerError.posix("creating the file for \(currentLocation)", path: path) }
        do {
            guard fchmod(fd, 0o644) == 0 else { throw PkgLayerError.posix("chmod", path: path) }
            try readData { chunk in
                var offset = 0
                while offset < chunk.count {
                    let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw PkgLayerError.posix("write", path: path)
                    }
                    offset += n
                }
            }
            guard close(fd) == 0 else {
                throw PkgLayerError.posix("close", path: path)
            }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    private var currentLocation: String { member.map { "\(path): \($0)" } ?? path }

    /// An I/O failure of the file itself wins over libarchive's message, which cannot name errno.
    private func failure(_ status: CInt, at location: String) -> PkgLayerError {
        source.error(at: location) ?? archiveError(archive, status: status, at: location)
    }
}

/// The file under an ArchiveReader: reads, skips and seeks relative to the archive's start offset,
/// so a payload in the middle of a file (an rpm's) looks like a file of its own to libarchive.
final class FileSource {
    private let fd: Int32
    private let base: Int64
    private let canSeek: Bool
    private let buffer: UnsafeMutableRawPointer
    private let bufferSize = 1 << 20
    private var failedCall: String?
    private var failedErrno: Int32 = 0

    init(path: String, offset: UInt64) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = PkgLayerError.posix("stat", path: path)
            close(fd)
            throw error
        }
        canSeek = info.st_mode & S_IFMT == S_IFREG
        if offset > 0 {
            guard canSeek, offset <= UInt64(info.st_size), lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
                close(fd)
                throw PkgLayerError(.archive, "cannot start reading at byte \(offset): not a regular file of that size", at: path)
            }
        }
        self.fd = fd
        base = Int64(offset)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    func read(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        while true {
            let n = Foundation.read(fd, buffer, bufferSize)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { record("read") }
            out.pointee = UnsafeRawPointer(buffer)
            return n
        }
    }

    func skip(_ request: Int64) -> Int64 {
        guard canSeek, request > 0 else { return 0 }
        let old = lseek(fd, 0, SEEK_CUR)
        guard old >= 0 else { return 0 }
        let new = lseek(fd, off_t(request), SEEK_CUR)
        guard new >= 0 else {
            record("seek")
            return -1
        }
        return Int64(new - old)
    }

    func seek(_ offset: Int64, whence: CInt) -> Int64 {
        guard canSeek else { return Int64(ARCHIVE_FATAL) }
        let target = whence == SEEK_SET ? offset + base : offset
        let position = lseek(fd, off_t(target), whence)
        guard position >= 0 else {
            record("seek")
            return Int64(ARCHIVE_FATAL)
        }
        return Int64(position) - base
    }

    private func record(_ call: String) {
        failedCall = call
        failedErrno = errno
    }

    /// The I/O error seen by a callback, if any.
    func error(at location: String) -> PkgLayerError? {
        guard let failedCall else { return nil }
        return PkgLayerError.posix(failedCall, path: location, errno: failedErrno)
    }
}
