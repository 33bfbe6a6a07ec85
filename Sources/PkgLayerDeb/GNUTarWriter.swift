import PkgLayerArchive
import PkgLayerCore

/// Writes the tar members of a .deb in GNU tar format, the format dpkg-deb itself writes.
///
/// Why not `ArchiveWriter(.tarPax)`: dpkg's own tar reader (used by `dpkg -i`/`--unpack`, not by
/// `dpkg-deb -c`) does not read pax extended headers. dpkg 1.21 (Debian 12) stops with "unsupported PAX
/// tar header type 'x'", and libarchive's pax writer emits such a header for any non-ASCII name, any
/// name it cannot split into ustar's prefix/name fields, and any link target over 100 bytes. GNU tar
/// spells long names and link targets with `././@LongLink` members (types `L` and `K`), which dpkg
/// reads, and stores non-ASCII names as raw bytes.
///
/// This is a deliberately small writer with ArchiveWriter's calling shape, so the Deb room can move to
/// a GNU format in PkgLayerArchive (libarchive's `archive_write_set_format_gnutar`, checked to install
/// with dpkg 1.21) by changing the one place that constructs it.
///
/// Layout: 512-byte headers with the GNU magic (`ustar␠␠\0`), numbers in octal, or base-256 where octal
/// cannot hold them; data padded to 512 bytes; two zero blocks; the whole padded to 10240 bytes (GNU
/// tar's default record). Types: `0` file, `1` hardlink, `2` symlink, `5` directory. Every byte comes
/// from the headers given, so output is reproducible.
final class GNUTarWriter {
    private let sink: ByteSink
    private var buffer: [UInt8] = []
    private let bufferLimit = 64 << 10
    private var total: UInt64 = 0
    /// Data bytes still owed for the current member, and its padding.
    private var remaining: UInt64 = 0
    private var padding = 0
    private var member = ""
    private var finished = false

    static let block = 512
    static let record = 10240

    init(sink: ByteSink) {
        self.sink = sink
        buffer.reserveCapacity(bufferLimit)
    }

    /// Writes a member's header (and any long-name members before it). For regular files without a
    /// hardlink target, follow with exactly `header.size` bytes through `writeData`.
    func writeHeader(_ h: ArchiveEntryHeader) throws {
        guard !finished else { throw PkgLayerError(.archive, "tar writer already finished", at: h.path) }
        guard remaining == 0 else {
            throw PkgLayerError(.archive, "member '\(member)' is \(remaining) bytes short of its declared size", at: h.path)
        }
        member = h.path
        let typeflag: UInt8
        var size: UInt64 = 0
        var link: String?
        if let target = h.hardlinkTarget {
            typeflag = UInt8(ascii: "1"); link = target
        } else if h.isSymlink {
            typeflag = UInt8(ascii: "2"); link = h.symlinkTarget ?? ""
        } else if h.isDirectory {
            typeflag = UInt8(ascii: "5")
        } else if h.isRegular {
            typeflag = UInt8(ascii: "0"); size = h.size
        } else {
            throw PkgLayerError(.unsupportedFileType, "only files, directories and links go into a deb", at: h.path)
        }
        let name = Array(h.path.utf8)
        let linkBytes = link.map { Array($0.utf8) } ?? []
        if name.contains(0) || linkBytes.contains(0) {
            throw PkgLayerError(.invalidInput, "a tar name cannot hold a NUL byte", at: h.path)
        }
        if linkBytes.count >= 100 { try writeLongLink(type: UInt8(ascii: "K"), bytes: linkBytes) }
        if name.count >= 100 { try writeLongLink(type: UInt8(ascii: "L"), bytes: name) }

        var header = [UInt8](repeating: 0, count: Self.block)
        func put(_ bytes: [UInt8], at offset: Int, max: Int) { header.replaceSubrange(offset..<offset + min(bytes.count, max), with: bytes.prefix(max)) }
        put(name, at: 0, max: 100)
        try number(h.mode & 0o7777, into: &header, at: 100, width: 8, field: "mode", path: h.path)
        try number(UInt64(h.uid), into: &header, at: 108, width: 8, field: "uid", path: h.path)
        try number(UInt64(h.gid), into: &header, at: 116, width: 8, field: "gid", path: h.path)
        try number(size, into: &header, at: 124, width: 12, field: "size", path: h.path)
        guard h.mtime >= 0 else {
            throw PkgLayerError(.invalidInput, "mtime \(h.mtime) lies before 1970; set SOURCE_DATE_EPOCH or fix the file's time", at: h.path)
        }
        try number(UInt64(h.mtime), into: &header, at: 136, width: 12, field: "mtime", path: h.path)
        header[156] = typeflag
        put(linkBytes, at: 157, max: 100)
        put(Array("ustar  ".utf8), at: 257, max: 8) // GNU magic "ustar " + version " \0"
        for (value, offset, field) in [(h.userName ?? "", 265, "user name"), (h.groupName ?? "", 297, "group name")] {
            let bytes = Array(value.utf8)
            guard bytes.count < 32 else {
                throw PkgLayerError(.invalidInput, "\(field) '\(value)' is longer than tar's 31 bytes", at: h.path)
            }
            put(bytes, at: offset, max: 32)
        }
        Self.checksum(&header)
        try emit(header)
        remaining = size
        padding = Int((Self.block - Int(size % UInt64(Self.block))) % Self.block)
        if size == 0 { padding = 0 }
    }

    func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard UInt64(bytes.count) <= remaining else {
            throw PkgLayerError(.archive, "more data than the \(member) header declared", at: member)
        }
        remaining -= UInt64(bytes.count)
        if bytes.count >= bufferLimit {
            try flush()
            try sink.write(bytes)
            total += UInt64(bytes.count)
        } else {
            try emit(bytes)
        }
        if remaining == 0 && padding > 0 {
            try emit([UInt8](repeating: 0, count: padding))
            padding = 0
        }
    }

    /// A header plus its in-memory data.
    func writeMember(_ header: ArchiveEntryHeader, data: [UInt8]) throws {
        var h = header
        h.size = UInt64(data.count)
        try writeHeader(h)
        if !data.isEmpty { try data.withUnsafeBytes { try writeData($0) } }
    }

    /// Two zero blocks, padding to a whole record, then finishes the sink chain.
    func finish() throws {
        guard remaining == 0 else {
            throw PkgLayerError(.archive, "member '\(member)' is \(remaining) bytes short of its declared size", at: member)
        }
        finished = true
        var tail = 2 * Self.block
        let after = (total + UInt64(buffer.count) + UInt64(tail)) % UInt64(Self.record)
        if after != 0 { tail += Self.record - Int(after) }
        try emit([UInt8](repeating: 0, count: tail))
        try flush()
        try sink.finish()
    }

    // MARK: - Encoding

    private func writeLongLink(type: UInt8, bytes: [UInt8]) throws {
        var header = [UInt8](repeating: 0, count: Self.block)
        let name = Array("././@LongLink".utf8)
        header.replaceSubrange(0..<name.count, with: name)
        try number(0o644, into: &header, at: 100, width: 8, field: "mode", path: member)
        try number(0, into: &header, at: 108, width: 8, field: "uid", path: member)
        try number(0, into: &header, at: 116, width: 8, field: "gid", path: member)
        try number(UInt64(bytes.count + 1), into: &header, at: 124, width: 12, field: "size", path: member)
        try number(0, into: &header, at: 136, width: 12, field: "mtime", path: member)
        header[156] = type
        header.replaceSubrange(257..<265, with: Array("ustar  ".utf8) + [0])
        header.replaceSubrange(265..<269, with: Array("root".utf8))
        header.replaceSubrange(297..<301, with: Array("root".utf8))
        Self.checksum(&header)
        try emit(header)
        var data = bytes + [0]
        let pad = (Self.block - data.count % Self.block) % Self.block
        data += [UInt8](repeating: 0, count: pad)
        try emit(data)
    }

    /// Octal with a trailing NUL when it fits in `width - 1` digits, else GNU base-256 (high bit set).
    private func number<T: BinaryInteger>(_ value: T, into header: inout [UInt8], at offset: Int, width: Int,
                                          field: String, path: String) throws {
        let v = UInt64(value)
        let digits = width - 1
        if v < (UInt64(1) << UInt64(3 * digits)) {
            let text = Array(String(v, radix: 8).utf8)
            let padded = [UInt8](repeating: UInt8(ascii: "0"), count: digits - text.count) + text
            header.replaceSubrange(offset..<offset + digits, with: padded)
            header[offset + digits] = 0
            return
        }
        guard width >= 9 || v < (UInt64(1) << 56) else {
            throw PkgLayerError(.invalidInput, "\(field) \(v) does not fit a tar header", at: path)
        }
        var x = v
        for i in stride(from: offset + width - 1, to: offset, by: -1) {
            header[i] = UInt8(x & 0xFF)
            x >>= 8
        }
        header[offset] = 0x80
    }

    private static func checksum(_ header: inout [UInt8]) {
        header.replaceSubrange(148..<156, with: [UInt8](repeating: UInt8(ascii: " "), count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        let text = Array(String(sum, radix: 8).utf8)
        let six = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, 6 - text.count)) + text
        header.replaceSubrange(148..<154, with: six)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
    }

    private func emit(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try sink.write($0) }
        total += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
