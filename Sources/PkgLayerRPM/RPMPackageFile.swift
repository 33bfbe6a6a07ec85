import CRPM
import Foundation
import PkgLayerCore

/// An .rpm opened for reading: lead, signature and main header parsed and checked, and where the
/// payload starts. Nothing is trusted before it is checked: header sizes are bounded before anything
/// is allocated, librpm validates each header's structure when importing it, and the main header must
/// match the signature's digest.
struct RPMPackageFile {
    let path: String
    let lead: RPMLead
    /// The lead as stored (96 bytes).
    let leadBytes: [UInt8]
    let signature: RPMHeader
    /// The signature header as stored (magic included), without its padding to 8 bytes.
    let signatureBytes: [UInt8]
    let header: RPMHeader
    /// The main header as stored (magic included): what the signature's digests cover.
    let headerBytes: [UInt8]
    let payloadOffset: UInt64
    let fileSize: UInt64

    /// rpm's own limits (lib/header_internal.h): at most 0xffff tags and 256 MiB of data per header.
    static let maxTags: UInt32 = 0xFFFF
    static let maxData: UInt32 = 0x0FFF_FFFF

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PkgLayerError.posix("stat", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PkgLayerError(.rpm, "is not a regular file", at: path)
        }
        fileSize = UInt64(info.st_size)

        var offset: UInt64 = 0
        leadBytes = try Self.read(fd, at: offset, count: RPMLead.size, path: path, what: "lead")
        lead = try RPMLead(parsing: leadBytes, path: path)
        offset += UInt64(RPMLead.size)

        signatureBytes = try Self.readHeader(fd, at: offset, path: path, what: "signature header")
        signature = try RPMHeader(importing: Array(signatureBytes.dropFirst(8)), what: "signature header", path: path)
        offset += UInt64(signatureBytes.count)
        offset += (8 - offset % 8) % 8

        headerBytes = try Self.readHeader(fd, at: offset, path: path, what: "main header")
        header = try RPMHeader(importing: Array(headerBytes.dropFirst(8)), what: "main header", path: path)
        payloadOffset = offset + UInt64(headerBytes.count)
        guard payloadOffset <= fileSize else {
            throw PkgLayerError(.rpm, "is truncated: the headers end past the end of the file", at: path)
        }
        try verifyHeaderDigest()
    }

    private static func read(_ fd: Int32, at offset: UInt64, count: Int, path: String, what: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("reading the \(what)", path: path)
            }
            if n == 0 {
                throw PkgLayerError(.rpm, "is truncated inside the \(what); the download or copy was cut short", at: path)
            }
            done += n
        }
        return bytes
    }

    /// Reads one header (magic, index and data) after checking its magic and bounding its size.
    private static func readHeader(_ fd: Int32, at offset: UInt64, path: String, what: String) throws -> [UInt8] {
        let intro = try read(fd, at: offset, count: 16, path: path, what: what)
        guard Array(intro[0..<8]) == rpmHeaderMagic else {
            throw PkgLayerError(.rpm, "the \(what) has a bad magic number; the file is damaged or not an rpm", at: path)
        }
        let tags = UInt32(bigEndianBytes: intro[8..<12])
        let data = UInt32(bigEndianBytes: intro[12..<16])
        try checkHeaderSize(tags: tags, data: data, at: offset, fd: fd, path: path, what: what)   // RPMPackageFile+Limits.swift
        let rest = try read(fd, at: offset + 16, count: Int(tags) * 16 + Int(data), path: path, what: what)
        return intro + rest
    }

    /// The signature's header digest must match the main header: SHA256 (rpm ≥ 4.14), else SHA1.
    private func verifyHeaderDigest() throws {
        let (sha256, sha1) = RPMSignature.headerDigests(headerBytes)
        if let expected = signature.string(tag(RPMSIGTAG_SHA256)) {
            guard expected == sha256 else { throw corrupted("the main header's SHA256 digest does not match the signature") }
        } else if let expected = signature.string(tag(RPMSIGTAG_SHA1)) {
            guard expected == sha1 else { throw corrupted("the main header's SHA1 digest does not match the signature") }
        }
    }

    /// Reads the payload once and checks everything that covers it: the size in the signature, the
    /// main header's PAYLOADDIGEST (sha256 of the compressed payload) and the signature's legacy MD5
    /// over header and payload.
    func verifyPayload() throws {
        let payloadSize = fileSize - payloadOffset
        if let expected = signature.number(tag(RPMSIGTAG_LONGSIZE)) ?? signature.number(tag(RPMSIGTAG_SIZE)),
           expected != UInt64(headerBytes.count) + payloadSize {
            throw corrupted("the header and payload are \(UInt64(headerBytes.count) + payloadSize) bytes but the signature says \(expected) (truncated or extended)")
        }
        let digests = header.strings(tag(RPMTAG_PAYLOADDIGEST))
        let algorithm = header.number(tag(RPMTAG_PAYLOADDIGESTALGO)) ?? UInt64(RPMWriter.sha256Algorithm)
        let checkSHA256 = !digests.isEmpty && algorithm == UInt64(RPMWriter.sha256Algorithm)
        let md5 = signature.binary(tag(RPMSIGTAG_MD5))
        guard checkSHA256 || md5 != nil else { return }

        var payloadHasher = StreamingHasher(checkSHA256 ? [.sha256] : [])
        var md5Hasher = StreamingHasher([.md5])
        md5Hasher.update(headerBytes)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        guard lseek(fd, off_t(payloadOffset), SEEK_SET) >= 0 else { throw PkgLayerError.posix("seek", path: path) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileReader.blockSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("reading the payload", path: path)
            }
            if n == 0 { break }
            let block = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            payloadHasher.update(block)
            md5Hasher.update(block)
        }
        if checkSHA256, payloadHasher.finalizeSHA256().hexString != digests[0] {
            throw corrupted("the payload's SHA256 digest does not match the header")
        }
        if let md5, md5Hasher.finalizeMD5() != md5 {
            throw corrupted("the MD5 digest of header and payload does not match the signature")
        }
    }

    func corrupted(_ what: String) -> PkgLayerError {
        PkgLayerError(.rpm, "is corrupted: \(what); download or copy the package again", at: path)
    }
}
