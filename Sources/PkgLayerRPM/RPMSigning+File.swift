import Foundation
import PkgLayerCore

/// An rpm's parts as raw bytes, for rewriting its signature header: the lead, the signature header (as
/// stored, without its padding), the main header and where it starts. Opening one checks the file as
/// the reader does (magic, sizes, librpm's import of both headers, the main header's digest), so only an
/// intact package gets signed.
struct RPMRawLayout {
    let path: String
    let lead: [UInt8]
    /// The signature header as stored, magic included, without the padding to 8 bytes.
    let signature: [UInt8]
    /// The main header as stored, magic included: what the header signature covers.
    let header: [UInt8]
    let headerOffset: UInt64
    let fileSize: UInt64
    let mode: mode_t

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PkgLayerError.posix("stat", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PkgLayerError(.rpm, "is not a regular file, so not an rpm package", at: path)
        }
        mode = info.st_mode & 0o7777
        // The cheap question first, so that a tarball or a deb gets a plain answer.
        var magic = [UInt8](repeating: 0, count: 4)
        guard magic.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 4, 0) }) == 4, magic == RPMLead.magic else {
            throw PkgLayerError(.rpm, "is not an rpm package (it does not start with rpm's lead magic ed ab ee db)", at: path)
        }

        let package = try RPMPackageFile(path: path)
        header = package.headerBytes
        fileSize = package.fileSize
        headerOffset = package.payloadOffset - UInt64(package.headerBytes.count)
        lead = package.leadBytes
        signature = package.signatureBytes
    }

    /// A header's size as stored (magic, counts, index, data) from its first 16 bytes.
    static func headerSize(_ bytes: [UInt8]) -> Int {
        let tags = Int(UInt32(bigEndianBytes: bytes[8..<12]))
        let data = Int(UInt32(bigEndianBytes: bytes[12..<16]))
        return 16 + tags * 16 + data
    }

    func signatureHeader() throws -> RPMHeader {
        try RPMHeader(importing: Array(signature.dropFirst(8)), what: "signature header", path: path)
    }

    /// Writes lead, `newSignature` (padded) and everything from the main header on into a temporary file
    /// beside the package, then renames it over the package. Returns the new size.
    func rewrite(signature newSignature: [UInt8]) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PkgLayerError.posix("stat", path: path) }
        guard UInt64(info.st_size) == fileSize else {
            throw PkgLayerError(.io, "changed while it was being signed (another program is writing it); try again", at: path)
        }
        let output = try AtomicFile(path: path, overwrite: true, mode: mode)
        try output.write(lead)
        try output.write(newSignature)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileReader.blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset = headerOffset
        while offset < fileSize {
            let n = pread(fd, buffer.baseAddress, min(buffer.count, Int(fileSize - offset)), off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("reading", path: path)
            }
            if n == 0 { throw PkgLayerError(.io, "became shorter while it was being signed; try again", at: path) }
            try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += UInt64(n)
        }
        let size = output.bytesWritten
        try output.commit()
        return size
    }
}
