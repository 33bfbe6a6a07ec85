import Foundation
import PkgLayerCore

/// What a .deb's signature member says about itself, read from its OpenPGP signature packet (RFC 4880
/// §5.2.3): who issued it, when, with which algorithms. Nothing here checks the signature; run
/// `debsig-verify` for that.
public struct DebSignatureInfo: Sendable, Equatable {
    /// The ar member: `_gpgorigin`, `_gpgmaint`, `_gpgbuilder`, …
    public var member: String
    /// The issuer's 64-bit key id as 16 upper-case hex digits (from the issuer or fingerprint subpacket).
    public var keyID: String?
    /// The issuer's V4 fingerprint as 40 upper-case hex digits, when the signature names it (subpacket 33).
    public var fingerprint: String?
    /// The signature creation time, seconds since 1970.
    public var creationTime: Int64?
    /// `.rsa` or `.ed25519`; nil for another public-key algorithm (see `publicKeyAlgorithmID`).
    public var algorithm: SigningAlgorithm?
    /// OpenPGP's numbers: public-key algorithm (1 RSA, 22 EdDSA, 27 Ed25519) and hash (8 SHA-256, 10 SHA-512).
    public var publicKeyAlgorithmID: UInt8
    public var hashAlgorithmID: UInt8
    /// Whether the member holds an ASCII-armored signature (pkglayer writes binary, as debsigs does).
    public var armored: Bool

    /// Parses a binary or armored signature; `location` names the file and member in errors.
    init(member: String, signature: some Collection<UInt8>, location: String) throws {
        self.member = member
        var bytes = Array(signature)
        armored = bytes.starts(with: Array("-----BEGIN PGP".utf8))
        if armored { bytes = try Self.dearmor(bytes, location: location) }
        func malformed(_ why: String) -> PkgLayerError {
            PkgLayerError(.deb, "signature member is not an OpenPGP signature: \(why)", at: location)
        }
        // The packet header (RFC 4880 §4.2): new or old format, tag 2 (signature).
        guard let first = bytes.first, first & 0x80 != 0 else { throw malformed("no packet header") }
        var pos = 1
        let tag: UInt8
        var length: Int
        func byte() throws -> Int {
            guard pos < bytes.count else { throw malformed("it ends early") }
            defer { pos += 1 }
            return Int(bytes[pos])
        }
        if first & 0x40 != 0 {
            tag = first & 0x3F
            let o1 = try byte()
            switch o1 {
            case 0..<192: length = o1
            case 192..<224: length = ((o1 - 192) << 8) + (try byte()) + 192
            case 255: length = try (0..<4).reduce(0) { acc, _ in (acc << 8) | (try byte()) }
            default: throw malformed("a partial-length packet")
            }
        } else {
            tag = (first >> 2) & 0x0F
            switch first & 3 {
            case 0: length = try byte()
            case 1: length = try (0..<2).reduce(0) { acc, _ in (acc << 8) | (try byte()) }
            case 2: length = try (0..<4).reduce(0) { acc, _ in (acc << 8) | (try byte()) }
            default: length = bytes.count - pos
            }
        }
        guard tag == 2 else { throw malformed("the first packet has tag \(tag), not 2 (signature)") }
        guard length <= bytes.count - pos else { throw malformed("the packet is longer than the member") }
        let end = pos + length
        let version = try byte()
        guard version == 4 else { throw malformed("version \(version) signature; only version 4 is read") }
        _ = try byte() // signature type
        publicKeyAlgorithmID = UInt8(try byte())
        hashAlgorithmID = UInt8(try byte())
        switch publicKeyAlgorithmID {
        case 1, 3: algorithm = .rsa
        case 22, 27: algorithm = .ed25519
        default: algorithm = nil
        }
        // Hashed then unhashed subpackets (§5.2.3.1).
        for _ in 0..<2 {
            let count = ((try byte()) << 8) | (try byte())
            let areaEnd = pos + count
            guard areaEnd <= end else { throw malformed("a subpacket area runs past the packet") }
            while pos < areaEnd {
                let o1 = try byte()
                var size: Int
                switch o1 {
                case 0..<192: size = o1
                case 192..<255: size = ((o1 - 192) << 8) + (try byte()) + 192
                default: size = try (0..<4).reduce(0) { acc, _ in (acc << 8) | (try byte()) }
                }
                guard size >= 1, pos + size <= areaEnd else { throw malformed("a subpacket runs past its area") }
                let type = bytes[pos] & 0x7F
                let body = bytes[(pos + 1)..<(pos + size)]
                switch type {
                case 2 where body.count == 4:
                    creationTime = Int64(body.reduce(UInt32(0)) { ($0 << 8) | UInt32($1) })
                case 16 where body.count == 8:
                    keyID = keyID ?? Self.hex(body)
                case 33 where body.count == 21 && body.first == 4:
                    fingerprint = Self.hex(body.dropFirst())
                default:
                    break
                }
                pos += size
            }
        }
        if keyID == nil, let fingerprint { keyID = String(fingerprint.suffix(16)) }
    }

    private static func hex(_ bytes: some Collection<UInt8>) -> String {
        bytes.map { String(format: "%02X", $0) }.joined()
    }

    /// The packets inside ASCII armor (RFC 4880 §6.2): the base64 lines after the header block, up to
    /// the checksum line.
    private static func dearmor(_ bytes: [UInt8], location: String) throws -> [UInt8] {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r"))) }
        guard let blank = lines.firstIndex(of: "") else {
            throw PkgLayerError(.deb, "armored signature has no blank line after its header", at: location)
        }
        let body = lines[(blank + 1)...].prefix { !$0.hasPrefix("=") && !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else {
            throw PkgLayerError(.deb, "armored signature holds invalid base64", at: location)
        }
        return Array(data)
    }
}
