import Crypto
import Foundation
import PkgLayerCore

/// The public part of a V4 key packet (primary or subkey, secret or public), with its fingerprint.
struct OpenPGPPublicKey {
    /// RFC 4880/9580 public-key algorithm ids.
    static let rsa = 1, rsaSignOnly = 3, eddsaLegacy = 22, ed25519 = 27

    /// The DER body of OID 1.3.6.1.4.1.11591.15.1 (Ed25519 in the legacy EdDSA encoding).
    static let ed25519LegacyOID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]

    var created: UInt32
    var algorithm: Int
    /// RSA modulus and exponent (magnitudes), for RSA keys.
    var rsaN: [UInt8] = []
    var rsaE: [UInt8] = []
    /// The 32-byte Ed25519 public key, for EdDSA keys on Ed25519.
    var ed25519Public: [UInt8] = []
    /// The legacy EdDSA curve OID, for algorithm 22.
    var curveOID: [UInt8] = []
    /// The body of the matching public key packet (tag 6 or 14).
    var publicBody: [UInt8]
    var fingerprint: [UInt8]
    var keyID: [UInt8] { Array(fingerprint.suffix(8)) }
    var keyIDHex: String { OpenPGPWire.hex(keyID) }

    var rsaBits: Int {
        guard let top = rsaN.drop(while: { $0 == 0 }).first else { return 0 }
        return (rsaN.drop(while: { $0 == 0 }).count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    var algorithmName: String {
        switch algorithm {
        case 1, 2, 3: return "RSA-\(rsaBits)"
        case 16, 20: return "Elgamal"
        case 17: return "DSA"
        case 18: return "ECDH"
        case 19: return "ECDSA"
        case 22: return curveOID == Self.ed25519LegacyOID ? "EdDSA (Ed25519)" : "EdDSA (a curve other than Ed25519)"
        case 25: return "X25519"
        case 26: return "X448"
        case 27: return "Ed25519"
        case 28: return "Ed448"
        default: return "public-key algorithm \(algorithm)"
        }
    }

    /// Parses the public fields at the start of `body`; `reader` is left after them (where a secret key
    /// packet's secret part starts).
    static func parse(_ reader: inout OpenPGPReader) throws -> OpenPGPPublicKey {
        let version = try reader.byte()
        guard version == 4 else {
            throw PkgLayerError(.invalidInput, "this is a version \(version) OpenPGP key; pkglayer signs with version 4 keys (what gpg 2.2 and 2.4 make by default)", at: reader.location)
        }
        let created = try reader.uint32()
        let algorithm = Int(try reader.byte())
        var key = OpenPGPPublicKey(created: created, algorithm: algorithm, publicBody: [], fingerprint: [])
        switch algorithm {
        case 1, 2, 3:
            key.rsaN = try reader.mpi()
            key.rsaE = try reader.mpi()
        case 16, 20:
            for _ in 0..<3 { _ = try reader.mpi() }
        case 17:
            for _ in 0..<4 { _ = try reader.mpi() }
        case 18:
            _ = try reader.take(Int(try reader.byte()))
            _ = try reader.mpi()
            _ = try reader.take(Int(try reader.byte()))
        case 19:
            _ = try reader.take(Int(try reader.byte()))
            _ = try reader.mpi()
        case 22:
            key.curveOID = try reader.take(Int(try reader.byte()))
            let point = try reader.mpi()
            if key.curveOID == ed25519LegacyOID {
                guard point.count == 33, point[0] == 0x40 else {
                    throw PkgLayerError(.invalidInput, "this Ed25519 key's public point is not in the 0x40-prefixed native form", at: reader.location)
                }
                key.ed25519Public = Array(point[1...])
            }
        case 25: _ = try reader.take(32)
        case 26: _ = try reader.take(56)
        case 27: key.ed25519Public = try reader.take(32)
        case 28: _ = try reader.take(57)
        default:
            throw PkgLayerError(.invalidInput, "this key uses OpenPGP public-key algorithm \(algorithm), which pkglayer cannot read; use an RSA (2048 bits or more) or Ed25519 key", at: reader.location)
        }
        key.publicBody = Array(reader.bytes[0..<reader.offset])
        var sha1 = Insecure.SHA1()
        sha1.update(data: [0x99] + OpenPGPWire.be16(UInt16(key.publicBody.count)))
        sha1.update(data: key.publicBody)
        key.fingerprint = Array(sha1.finalize())
        return key
    }
}

/// The fields of a V4 signature packet that choosing a key needs (nothing is verified: the key is the
/// user's own, and gpg made these signatures).
struct OpenPGPSignatureInfo {
    var type: Int
    var created: UInt32 = 0
    var keyFlags: UInt8?
    var issuer: [UInt8]?

    static func parse(_ body: [UInt8], at location: String) -> OpenPGPSignatureInfo? {
        var reader = OpenPGPReader(body, at: location, what: "signature")
        guard let version = try? reader.byte(), version == 4,
              let type = try? reader.byte(), (try? reader.take(2)) != nil else { return nil }
        var info = OpenPGPSignatureInfo(type: Int(type))
        for hashed in [true, false] {
            guard let length = try? reader.uint16(), let area = try? reader.take(length) else { return nil }
            var i = 0
            while i < area.count {
                var length = Int(area[i])
                i += 1
                if length >= 192 && length < 255 {
                    guard i < area.count else { return nil }
                    length = ((length - 192) << 8) + Int(area[i]) + 192
                    i += 1
                } else if length == 255 {
                    guard i + 4 <= area.count else { return nil }
                    length = Int(area[i]) << 24 | Int(area[i + 1]) << 16 | Int(area[i + 2]) << 8 | Int(area[i + 3])
                    i += 4
                }
                guard length >= 1, i + length <= area.count else { return nil }
                let subtype = area[i] & 0x7F
                let data = Array(area[(i + 1)..<(i + length)])
                i += length
                switch subtype {
                case 2 where hashed && data.count == 4:
                    info.created = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
                case 27 where hashed && !data.isEmpty:
                    info.keyFlags = data[0]
                case 16 where data.count == 8:
                    info.issuer = data
                case 33 where data.count == 21 && data[0] == 4:
                    info.issuer = Array(data.suffix(8))
                default:
                    break
                }
            }
        }
        return info
    }
}

/// A transferable secret key (RFC 4880 §11.2) as read: the primary key, its subkeys, and the packets
/// that make up its public form.
struct OpenPGPSecretKeyBlock {
    struct KeyEntry {
        var publicKey: OpenPGPPublicKey
        /// The bytes after the public fields: S2K usage and the (possibly encrypted) secret material.
        var secretPart: [UInt8]
        var isPrimary: Bool
        /// Key flags from the newest self-signature (primary) or binding signature (subkey) that has them.
        var keyFlags: UInt8?
        var flagsTime: UInt32 = 0
        var revoked = false
    }

    var primary: KeyEntry
    var subkeys: [KeyEntry]
    /// The transferable public key: secret key packets turned into public ones, trust packets dropped.
    var publicPackets: [OpenPGPPacket]
    var location: String

    /// Reads armored or binary key data. Exactly one secret primary key must be in it.
    static func read(_ data: [UInt8], at location: String) throws -> OpenPGPSecretKeyBlock {
        var binary = data
        if let text = String(bytes: data.prefix(64 << 20), encoding: .utf8), text.contains("-----BEGIN PGP ") {
            let blocks = try OpenPGPArmor.dearmor(text, at: location)
            let secret = blocks.filter { $0.kind == "PRIVATE KEY BLOCK" || $0.kind == "SECRET KEY BLOCK" }
            if secret.isEmpty {
                if blocks.contains(where: { $0.kind == "PUBLIC KEY BLOCK" }) {
                    throw noSecretKey(location)
                }
                throw PkgLayerError(.invalidInput, "it holds no `-----BEGIN PGP PRIVATE KEY BLOCK-----`; export the signing key with `gpg --armor --export-secret-keys KEYID > key.asc`", at: location)
            }
            binary = secret.flatMap(\.bytes)
        } else if let first = data.first, first & 0x80 == 0 {
            throw PkgLayerError(.invalidInput, "it is neither an armored OpenPGP key nor a binary one; export the signing key with `gpg --armor --export-secret-keys KEYID > key.asc`", at: location)
        }
        let packets = try OpenPGPWire.packets(binary, at: location)
        // Split into transferable keys at each primary key packet.
        var keys: [[OpenPGPPacket]] = []
        for packet in packets {
            if packet.tag == OpenPGPPacket.secretKey || packet.tag == OpenPGPPacket.publicKey {
                keys.append([packet])
            } else if !keys.isEmpty {
                keys[keys.count - 1].append(packet)
            }
        }
        let secretKeys = keys.filter { $0[0].tag == OpenPGPPacket.secretKey }
        guard !secretKeys.isEmpty else { throw noSecretKey(location) }
        let blocks = try secretKeys.map { try parse($0, at: location) }
        guard blocks.count == 1 else {
            let ids = blocks.map { $0.primary.publicKey.keyIDHex }.joined(separator: ", ")
            throw PkgLayerError(.usage, "this names \(blocks.count) secret keys (\(ids)); name one by its fingerprint", at: location)
        }
        return blocks[0]
    }

    static func noSecretKey(_ location: String) -> PkgLayerError {
        PkgLayerError(.invalidInput, "it holds no secret key, only a public one; signing needs the secret key: `gpg --armor --export-secret-keys KEYID > key.asc`", at: location)
    }

    private static func parse(_ packets: [OpenPGPPacket], at location: String) throws -> OpenPGPSecretKeyBlock {
        func entry(_ packet: OpenPGPPacket, primary: Bool) throws -> KeyEntry {
            var reader = OpenPGPReader(packet.body, at: location, what: primary ? "secret key" : "secret subkey")
            let key = try OpenPGPPublicKey.parse(&reader)
            return KeyEntry(publicKey: key, secretPart: reader.rest(), isPrimary: primary)
        }
        var primary = try entry(packets[0], primary: true)
        var subkeys: [KeyEntry] = []
        var publicPackets = [OpenPGPPacket(tag: OpenPGPPacket.publicKey, body: primary.publicKey.publicBody)]
        // What the signatures that follow belong to: the primary (after itself or a user id) or a subkey.
        var currentSubkey: Int?
        for packet in packets.dropFirst() {
            switch packet.tag {
            case OpenPGPPacket.secretSubkey, OpenPGPPacket.publicSubkey:
                var sub: KeyEntry
                if packet.tag == OpenPGPPacket.secretSubkey {
                    sub = try entry(packet, primary: false)
                } else {
                    var reader = OpenPGPReader(packet.body, at: location, what: "public subkey")
                    sub = KeyEntry(publicKey: try OpenPGPPublicKey.parse(&reader), secretPart: [], isPrimary: false)
                }
                subkeys.append(sub)
                currentSubkey = subkeys.count - 1
                publicPackets.append(OpenPGPPacket(tag: OpenPGPPacket.publicSubkey, body: sub.publicKey.publicBody))
            case OpenPGPPacket.userID, OpenPGPPacket.userAttribute:
                currentSubkey = nil
                publicPackets.append(packet)
            case OpenPGPPacket.signature:
                publicPackets.append(packet)
                guard let sig = OpenPGPSignatureInfo.parse(packet.body, at: location) else { continue }
                let byPrimary = sig.issuer == nil || sig.issuer! == primary.publicKey.keyID
                guard byPrimary else { continue }
                if let index = currentSubkey {
                    if sig.type == 0x28 { subkeys[index].revoked = true }
                    if sig.type == 0x18, let flags = sig.keyFlags, sig.created >= subkeys[index].flagsTime {
                        subkeys[index].keyFlags = flags
                        subkeys[index].flagsTime = sig.created
                    }
                } else {
                    if sig.type == 0x20 { primary.revoked = true }
                    if (0x10...0x13).contains(sig.type) || sig.type == 0x1F, let flags = sig.keyFlags, sig.created >= primary.flagsTime {
                        primary.keyFlags = flags
                        primary.flagsTime = sig.created
                    }
                }
            case OpenPGPPacket.trust:
                continue
            default:
                publicPackets.append(packet)
            }
        }
        return OpenPGPSecretKeyBlock(primary: primary, subkeys: subkeys, publicPackets: publicPackets, location: location)
    }

    /// The key that signs: the primary unless its self-signature's key flags leave out signing (0x02),
    /// otherwise the newest subkey whose binding signature allows signing. A key whose secret is absent
    /// (a gpg stub) or that is revoked is passed over.
    func signingKey() throws -> KeyEntry {
        guard !primary.revoked else {
            throw PkgLayerError(.invalidInput, "key \(primary.publicKey.keyIDHex) is revoked; sign with a key that is not", at: location)
        }
        if primary.keyFlags.map({ $0 & 0x02 != 0 }) ?? true, !primary.secretPart.isEmpty, !OpenPGPSecret.isStub(primary.secretPart) {
            return primary
        }
        let candidates = subkeys.enumerated().filter { _, sub in
            !sub.revoked && (sub.keyFlags ?? 0) & 0x02 != 0 && !sub.secretPart.isEmpty && !OpenPGPSecret.isStub(sub.secretPart)
        }
        // Newest by creation time; among equals, the later one in the block (as gpg adds them).
        guard let chosen = candidates.max(by: { a, b in
            (a.element.publicKey.created, a.offset) < (b.element.publicKey.created, b.offset)
        }) else {
            throw PkgLayerError(.invalidInput, "key \(primary.publicKey.keyIDHex) has no secret key that may sign (neither the primary key nor a subkey with the signing flag); add one with `gpg --quick-add-key \(OpenPGPWire.hex(primary.publicKey.fingerprint)) ed25519 sign`", at: location)
        }
        return chosen.element
    }
}
