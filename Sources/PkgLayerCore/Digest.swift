import Crypto
import Foundation

/// A content digest in OCI's `algorithm:hex` form. pkglayer uses sha256 throughout.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    public var algorithm: String
    public var hex: String

    public init(algorithm: String = "sha256", hex: String) {
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Parses `sha256:<64 hex>`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "sha256", parts[1].count == 64,
              parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        self.init(hex: String(parts[1]))
    }

    public var description: String { "\(algorithm):\(hex)" }

    public static func sha256(_ data: some DataProtocol) -> Digest {
        Digest(hex: SHA256.hash(data: data).hexString)
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, as rpm, dpkg and OCI spell digests.
    public var hexString: String {
        var out = ""
        out.reserveCapacity(64)
        for byte in self {
            out.append(Character(Unicode.Scalar(hexDigits[Int(byte >> 4)])))
            out.append(Character(Unicode.Scalar(hexDigits[Int(byte & 0xF)])))
        }
        return out
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Hashes data as it streams past; used by writers that must know a digest of what they wrote.
public struct StreamingHasher {
    public enum Algorithm { case sha256, sha1, md5 }
    private var sha256: SHA256?
    private var sha1: Insecure.SHA1?
    private var md5: Insecure.MD5?

    public init(_ algorithms: Set<Algorithm>) {
        if algorithms.contains(.sha256) { sha256 = SHA256() }
        if algorithms.contains(.sha1) { sha1 = Insecure.SHA1() }
        if algorithms.contains(.md5) { md5 = Insecure.MD5() }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        sha256?.update(bufferPointer: buffer)
        sha1?.update(bufferPointer: buffer)
        md5?.update(bufferPointer: buffer)
    }

    public mutating func update(_ data: some DataProtocol) {
        sha256?.update(data: data)
        sha1?.update(data: data)
        md5?.update(data: data)
    }

    public func finalizeSHA256() -> [UInt8] { Array(sha256!.finalize()) }
    public func finalizeSHA1() -> [UInt8] { Array(sha1!.finalize()) }
    public func finalizeMD5() -> [UInt8] { Array(md5!.finalize()) }
}

public enum FileDigest {
    /// Reads a file in 1 MiB blocks and returns the digests asked for, in constant memory.
    public static func compute(path: String, algorithms: Set<StreamingHasher.Algorithm>) throws -> StreamingHasher {
        var hasher = StreamingHasher(algorithms)
        try FileReader.forEachBlock(path: path) { hasher.update($0) }
        return hasher
    }

    public static func sha256Hex(path: String) throws -> String {
        try compute(path: path, algorithms: [.sha256]).finalizeSHA256().hexString
    }
}

/// Reads files block by block with POSIX calls, so nothing is held whole in memory.
public enum FileReader {
    public static let blockSize = 1 << 20

    public static func forEachBlock(path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        try forEachBlock(fd: fd, path: path, body)
    }

    /// What `fd` holds from its current offset to the end, block by block (`path` names it in errors).
    public static func forEachBlock(fd: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, blockSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("read", path: path)
            }
            if n == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
