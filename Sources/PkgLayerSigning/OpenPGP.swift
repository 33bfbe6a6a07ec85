import Foundation
import PkgLayerCore

// PkgLayerSigning: OpenPGP keys and signatures, natively (RFC 4880, with RFC 9580's Ed25519).
//
// This file holds the wire format shared by the key parser and the signer: packet framing, MPIs,
// ASCII armor and its CRC-24. Nothing here knows about secrets.

/// One OpenPGP packet: its tag and its body (the header is not kept).
struct OpenPGPPacket: Equatable {
    var tag: Int
    var body: [UInt8]

    static let signature = 2
    static let secretKey = 5
    static let publicKey = 6
    static let secretSubkey = 7
    static let trust = 12
    static let userID = 13
    static let publicSubkey = 14
    static let userAttribute = 17
}

enum OpenPGPWire {
    /// Splits a binary packet sequence into packets. Old- and new-format headers; partial body lengths
    /// (only literal and encrypted data use them) are refused, since keys and signatures never do.
    static func packets(_ bytes: [UInt8], at location: String) throws -> [OpenPGPPacket] {
        var packets: [OpenPGPPacket] = []
        var i = 0
        func malformed(_ what: String) -> PkgLayerError {
            PkgLayerError(.invalidInput, "this is not a well-formed OpenPGP key: \(what) at byte \(i); export it again with `gpg --export-secret-keys`", at: location)
        }
        while i < bytes.count {
            let first = bytes[i]
            guard first & 0x80 != 0 else { throw malformed("a packet header without its high bit") }
            var tag: Int
            var length: Int
            var headerLength: Int
            if first & 0x40 != 0 {
                tag = Int(first & 0x3F)
                guard i + 1 < bytes.count else { throw malformed("a truncated packet header") }
                let l0 = Int(bytes[i + 1])
                if l0 < 192 {
                    length = l0; headerLength = 2
                } else if l0 < 224 {
                    guard i + 2 < bytes.count else { throw malformed("a truncated packet header") }
                    length = ((l0 - 192) << 8) + Int(bytes[i + 2]) + 192; headerLength = 3
                } else if l0 == 255 {
                    guard i + 5 < bytes.count else { throw malformed("a truncated packet header") }
                    length = Int(bytes[i + 2]) << 24 | Int(bytes[i + 3]) << 16 | Int(bytes[i + 4]) << 8 | Int(bytes[i + 5])
                    headerLength = 6
                } else {
                    throw malformed("a partial body length")
                }
            } else {
                tag = Int((first >> 2) & 0x0F)
                switch first & 0x03 {
                case 0:
                    guard i + 1 < bytes.count else { throw malformed("a truncated packet header") }
                    length = Int(bytes[i + 1]); headerLength = 2
                case 1:
                    guard i + 2 < bytes.count else { throw malformed("a truncated packet header") }
                    length = Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]); headerLength = 3
                case 2:
                    guard i + 4 < bytes.count else { throw malformed("a truncated packet header") }
                    length = Int(bytes[i + 1]) << 24 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
                    headerLength = 5
                default:
                    throw malformed("an indeterminate packet length")
                }
            }
            let start = i + headerLength
            guard length >= 0, start + length <= bytes.count else { throw malformed("a packet longer than the data") }
            packets.append(OpenPGPPacket(tag: tag, body: Array(bytes[start..<start + length])))
            i = start + length
        }
        return packets
    }

    /// A packet with an old-format header for tags below 16 (as gpg writes keys and signatures; rpm,
    /// gpg and gpgv all read it), new-format otherwise.
    static func serialize(_ packet: OpenPGPPacket) -> [UInt8] {
        let n = packet.body.count
        var out: [UInt8] = []
        if packet.tag < 16 {
            let base = UInt8(0x80 | (packet.tag << 2))
            if n < 256 {
                out = [base, UInt8(n)]
            } else if n < 65536 {
                out = [base | 1, UInt8(n >> 8), UInt8(n & 0xFF)]
            } else {
                out = [base | 2] + be32(UInt32(n))
            }
        } else {
            out = [UInt8(0xC0 | packet.tag)]
            if n < 192 {
                out.append(UInt8(n))
            } else if n < 8384 {
                let m = n - 192
                out += [UInt8((m >> 8) + 192), UInt8(m & 0xFF)]
            } else {
                out += [0xFF] + be32(UInt32(n))
            }
        }
        return out + packet.body
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// An MPI: a two-octet bit count and the big-endian magnitude without leading zero octets.
    static func mpi(_ magnitude: some Collection<UInt8>) -> [UInt8] {
        let stripped = Array(magnitude.drop(while: { $0 == 0 }))
        guard let top = stripped.first else { return [0, 0] }
        let bits = (stripped.count - 1) * 8 + (8 - top.leadingZeroBitCount)
        return be16(UInt16(bits)) + stripped
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Reads fields from a packet body, throwing a located error past its end.
struct OpenPGPReader {
    let bytes: [UInt8]
    var offset: Int
    let location: String
    let what: String

    init(_ bytes: [UInt8], at location: String, what: String) {
        self.bytes = bytes
        self.offset = 0
        self.location = location
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset >= bytes.count }

    func truncated() -> PkgLayerError {
        PkgLayerError(.invalidInput, "this OpenPGP \(what) is truncated or malformed; export the key again with `gpg --export-secret-keys`", at: location)
    }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, offset + n <= bytes.count else { throw truncated() }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func uint16() throws -> Int { let b = try take(2); return Int(b[0]) << 8 | Int(b[1]) }
    mutating func uint32() throws -> UInt32 {
        let b = try take(4)
        return UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }

    /// An MPI's magnitude (without its bit count).
    mutating func mpi() throws -> [UInt8] {
        let bits = try uint16()
        return try take((bits + 7) / 8)
    }

    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }
}

/// ASCII armor (RFC 4880 §6): base64 in 64-character lines and a CRC-24 line.
enum OpenPGPArmor {
    static func crc24(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xB704CE
        for b in bytes {
            crc ^= UInt32(b) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x1000000 != 0 { crc ^= 0x1864CFB }
            }
        }
        return crc & 0xFFFFFF
    }

    /// `-----BEGIN PGP <kind>-----`, a blank line (no headers: the output stays identical across
    /// versions), the base64 body, `=` and the CRC, the END line, with a final newline.
    static func armor(_ bytes: [UInt8], kind: String) -> String {
        var text = "-----BEGIN PGP \(kind)-----\n\n"
        let base64 = Data(bytes).base64EncodedString()
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            text += base64[index..<end] + "\n"
            index = end
        }
        let crc = crc24(bytes)
        let crcBytes: [UInt8] = [UInt8(crc >> 16), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        text += "=" + Data(crcBytes).base64EncodedString() + "\n"
        text += "-----END PGP \(kind)-----\n"
        return text
    }

    /// The armored blocks in `text`: each block's kind (`PRIVATE KEY BLOCK`, …) and its bytes, the CRC-24
    /// checked when present.
    static func dearmor(_ text: String, at location: String) throws -> [(kind: String, bytes: [UInt8])] {
        var blocks: [(kind: String, bytes: [UInt8])] = []
        // Split at LF scalars: "\r\n" is one Character, so a Character split would leave a CRLF file one line.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars -> String in
            var line = String.UnicodeScalarView(scalars)
            if line.last == "\r" { line.removeLast() }
            return String(line)
        }
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("-----BEGIN PGP "), line.hasSuffix("-----") else { i += 1; continue }
            let kind = String(line.dropFirst("-----BEGIN PGP ".count).dropLast(5))
            i += 1
            // Armor headers ("Version: …", "Comment: …") up to the blank line.
            var j = i
            while j < lines.count, !lines[j].trimmingCharacters(in: .whitespaces).isEmpty, lines[j].contains(": ") { j += 1 }
            if j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).isEmpty { j += 1 } else { j = i }
            i = j
            var base64 = ""
            var checksum: String?
            var ended = false
            while i < lines.count {
                let body = lines[i].trimmingCharacters(in: .whitespaces)
                i += 1
                if body.hasPrefix("-----END PGP ") { ended = true; break }
                if body.hasPrefix("=") && body.count == 5 { checksum = String(body.dropFirst()); continue }
                base64 += body
            }
            guard ended else {
                throw PkgLayerError(.invalidInput, "the armored \(kind.lowercased()) has no END line; the file is truncated", at: location)
            }
            guard let data = Data(base64Encoded: base64) else {
                throw PkgLayerError(.invalidInput, "the armored \(kind.lowercased()) holds characters that are not base64", at: location)
            }
            let bytes = [UInt8](data)
            if let checksum {
                guard let crcData = Data(base64Encoded: checksum), crcData.count == 3 else {
                    throw PkgLayerError(.invalidInput, "the armored \(kind.lowercased()) has a malformed checksum line", at: location)
                }
                let expected = UInt32(crcData[0]) << 16 | UInt32(crcData[1]) << 8 | UInt32(crcData[2])
                guard expected == crc24(bytes) else {
                    throw PkgLayerError(.invalidInput, "the armored \(kind.lowercased()) fails its CRC-24 check: the file is damaged; export the key again", at: location)
                }
            }
            blocks.append((kind, bytes))
        }
        return blocks
    }
}
