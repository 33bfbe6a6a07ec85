import Crypto
import _CryptoExtras
import Foundation
import PkgLayerCore

/// The unlocked secret of one key, ready to sign. Its reflection shows nothing (see `customMirror`).
enum OpenPGPSecretMaterial: Sendable, CustomReflectable, CustomStringConvertible, CustomDebugStringConvertible {
    case rsa(_RSA.Signing.PrivateKey)
    /// `legacy`: algorithm 22 (EdDSA over OID 1.3.6.1.4.1.11591.15.1, signature as two MPIs); otherwise
    /// RFC 9580's algorithm 27 (a 64-byte native signature). The 32-byte seed is kept, not swift-crypto's
    /// key, which is not Sendable on Linux; the key is made from it per signature.
    case ed25519(seed: [UInt8], legacy: Bool)

    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
    var description: String { "<secret>" }
    var debugDescription: String { "<secret>" }
}

/// Secret key material: the S2K usage conventions, key derivation and AES-CFB decryption (RFC 4880
/// §3.7, §5.5.3), and the algorithm-specific secret fields.
enum OpenPGPSecret {
    static let supported = "supported: unprotected keys, or keys protected with AES-128, AES-192 or AES-256 (S2K usage 254 or 255, S2K simple, salted or iterated+salted with SHA-1, SHA-256, SHA-384 or SHA-512), as gpg 2.2 and 2.4 export them"

    /// A gpg stub (S2K specifier 101, "gnu-dummy" or "divert-to-card"): the secret is not in the file.
    static func isStub(_ secretPart: [UInt8]) -> Bool {
        guard secretPart.count >= 3, secretPart[0] == 254 || secretPart[0] == 255 else { return false }
        return secretPart[2] == 101
    }

    static func wrongPassphrase(_ keyID: String, at location: String) -> PkgLayerError {
        PkgLayerError(.auth, "the passphrase does not unlock key \(keyID); set PKGLAYER_SIGN_PASSPHRASE or --sign-passphrase-file", at: location)
    }

    /// Unlocks `key` with `passphrase` (when it is protected) and builds the signing key.
    static func unlock(_ key: OpenPGPSecretKeyBlock.KeyEntry, passphrase: String?, at location: String) throws -> OpenPGPSecretMaterial {
        let keyID = key.publicKey.keyIDHex
        try checkUsable(key.publicKey, at: location)
        var reader = OpenPGPReader(key.secretPart, at: location, what: "secret key")
        let usage = try reader.byte()
        let material: [UInt8]
        switch usage {
        case 0:
            let rest = reader.rest()
            guard rest.count >= 2 else { throw reader.truncated() }
            material = Array(rest.dropLast(2))
            let sum = material.reduce(UInt16(0)) { $0 &+ UInt16($1) }
            guard OpenPGPWire.be16(sum) == Array(rest.suffix(2)) else {
                throw PkgLayerError(.invalidInput, "the secret part of key \(keyID) fails its checksum: the key file is damaged; export it again", at: location)
            }
        case 254, 255:
            let cipher = Int(try reader.byte())
            let s2k = try S2K.parse(&reader, keyID: keyID)
            guard let keySize = [7: 16, 8: 24, 9: 32][cipher] else {
                throw PkgLayerError(.invalidInput, "key \(keyID) is protected with OpenPGP cipher \(cipherName(cipher)), which pkglayer cannot decrypt; \(supported). Re-protect it with `gpg --s2k-cipher-algo AES256 --passwd KEYID` or export it again with gpg 2.2 or later", at: location)
            }
            let iv = try reader.take(16)
            let encrypted = reader.rest()
            guard let passphrase else {
                throw PkgLayerError(.auth, "key \(keyID) is protected by a passphrase; set PKGLAYER_SIGN_PASSPHRASE or --sign-passphrase-file", at: location)
            }
            let derived = s2k.derive(passphrase: Array(passphrase.utf8), size: keySize)
            let plain = [UInt8](try AES._CFB.decrypt(encrypted, using: SymmetricKey(data: derived), iv: AES._CFB.IV(ivBytes: iv)))
            if usage == 254 {
                guard plain.count >= 20 else { throw wrongPassphrase(keyID, at: location) }
                material = Array(plain.dropLast(20))
                guard Array(Insecure.SHA1.hash(data: material)) == Array(plain.suffix(20)) else {
                    throw wrongPassphrase(keyID, at: location)
                }
            } else {
                guard plain.count >= 2 else { throw wrongPassphrase(keyID, at: location) }
                material = Array(plain.dropLast(2))
                let sum = material.reduce(UInt16(0)) { $0 &+ UInt16($1) }
                guard OpenPGPWire.be16(sum) == Array(plain.suffix(2)) else { throw wrongPassphrase(keyID, at: location) }
            }
        case 253:
            throw PkgLayerError(.invalidInput, "key \(keyID) is protected with AEAD (S2K usage 253), which pkglayer cannot decrypt; \(supported)", at: location)
        default:
            throw PkgLayerError(.invalidInput, "key \(keyID) is protected the pre-2.0 way (S2K usage \(usage)), which pkglayer cannot decrypt; \(supported)", at: location)
        }
        return try build(key.publicKey, material: material, usage: usage, at: location)
    }

    /// Refuses what pkglayer cannot sign with before any passphrase is tried.
    static func checkUsable(_ key: OpenPGPPublicKey, at location: String) throws {
        switch key.algorithm {
        case OpenPGPPublicKey.rsa, OpenPGPPublicKey.rsaSignOnly:
            guard key.rsaBits >= 2048 else {
                throw PkgLayerError(.invalidInput, "key \(key.keyIDHex) is RSA-\(key.rsaBits); pkglayer signs only with RSA keys of 2048 bits or more (or Ed25519): make one with `gpg --quick-gen-key \"Name <mail>\" rsa3072 sign never`", at: location)
            }
        case OpenPGPPublicKey.eddsaLegacy where key.curveOID == OpenPGPPublicKey.ed25519LegacyOID:
            break
        case OpenPGPPublicKey.ed25519:
            break
        default:
            throw PkgLayerError(.invalidInput, "key \(key.keyIDHex) is \(key.algorithmName); pkglayer signs with RSA (2048 bits or more) and Ed25519 keys", at: location)
        }
    }

    private static func build(_ key: OpenPGPPublicKey, material: [UInt8], usage: UInt8, at location: String) throws -> OpenPGPSecretMaterial {
        let keyID = key.keyIDHex
        var reader = OpenPGPReader(material, at: location, what: "secret key")
        // Under usage 255 a wrong passphrase passes the 16-bit checksum once in 65536 tries; a key that then
        // does not hold together is still a wrong passphrase. Without protection it is a damaged file.
        func mismatch() -> PkgLayerError {
            usage == 0
                ? PkgLayerError(.invalidInput, "the secret part of key \(keyID) does not match its public part: the key file is damaged; export it again", at: location)
                : wrongPassphrase(keyID, at: location)
        }
        switch key.algorithm {
        case OpenPGPPublicKey.rsa, OpenPGPPublicKey.rsaSignOnly:
            guard let d = try? reader.mpi(), let p = try? reader.mpi(), let q = try? reader.mpi() else { throw mismatch() }
            do {
                let privateKey = try _RSA.Signing.PrivateKey(n: key.rsaN, e: key.rsaE, d: d, p: p, q: q)
                return .rsa(privateKey)
            } catch {
                throw mismatch()
            }
        case OpenPGPPublicKey.eddsaLegacy:
            guard let seed = try? reader.mpi(), seed.count <= 32 else { throw mismatch() }
            return try ed25519(seed: [UInt8](repeating: 0, count: 32 - seed.count) + seed, key: key, legacy: true, mismatch: mismatch)
        default:
            guard let seed = try? reader.take(32) else { throw mismatch() }
            return try ed25519(seed: seed, key: key, legacy: false, mismatch: mismatch)
        }
    }

    private static func ed25519(seed: [UInt8], key: OpenPGPPublicKey, legacy: Bool, mismatch: () -> PkgLayerError) throws -> OpenPGPSecretMaterial {
        guard let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed),
              Array(privateKey.publicKey.rawRepresentation) == key.ed25519Public else { throw mismatch() }
        return .ed25519(seed: Array(privateKey.rawRepresentation), legacy: legacy)
    }

    static func cipherName(_ id: Int) -> String {
        switch id {
        case 1: return "IDEA (1)"
        case 2: return "TripleDES (2)"
        case 3: return "CAST5 (3)"
        case 4: return "Blowfish (4)"
        case 10: return "Twofish (10)"
        case 11, 12, 13: return "Camellia (\(id))"
        default: return "\(id)"
        }
    }

    /// A string-to-key specifier (RFC 4880 §3.7.1).
    struct S2K {
        var hash: Int
        var salt: [UInt8] = []
        /// Octets to hash (iterated+salted), or nil.
        var count: Int?

        static func parse(_ reader: inout OpenPGPReader, keyID: String) throws -> S2K {
            let type = try reader.byte()
            let location = reader.location
            func hashID() throws -> Int {
                let id = Int(try reader.byte())
                guard [2, 8, 9, 10].contains(id) else {
                    throw PkgLayerError(.invalidInput, "key \(keyID) is protected with S2K hash algorithm \(id), which pkglayer does not support; \(supported)", at: location)
                }
                return id
            }
            switch type {
            case 0:
                return S2K(hash: try hashID())
            case 1:
                let hash = try hashID()
                return S2K(hash: hash, salt: try reader.take(8))
            case 3:
                let hash = try hashID()
                let salt = try reader.take(8)
                let c = Int(try reader.byte())
                return S2K(hash: hash, salt: salt, count: (16 + (c & 15)) << ((c >> 4) + 6))
            case 101:
                throw PkgLayerError(.invalidInput, "the secret of key \(keyID) is not in this file (a gpg stub: the key is offline or on a smartcard); export a key whose secret is present", at: location)
            default:
                throw PkgLayerError(.invalidInput, "key \(keyID) is protected with S2K specifier \(type), which pkglayer does not support; \(supported)", at: location)
            }
        }

        func derive(passphrase: [UInt8], size: Int) -> [UInt8] {
            switch hash {
            case 2: return derive(Insecure.SHA1.self, passphrase: passphrase, size: size)
            case 9: return derive(SHA384.self, passphrase: passphrase, size: size)
            case 10: return derive(SHA512.self, passphrase: passphrase, size: size)
            default: return derive(SHA256.self, passphrase: passphrase, size: size)
            }
        }

        private func derive<H: HashFunction>(_: H.Type, passphrase: [UInt8], size: Int) -> [UInt8] {
            let unit = salt + passphrase
            var output: [UInt8] = []
            var preload = 0
            // Iterated+salted: hash salt||passphrase repeated up to `count` octets (at least once), fed in
            // large chunks so tens of megabytes stay quick.
            var chunk: [UInt8] = []
            if count != nil, !unit.isEmpty {
                let copies = max(1, (64 << 10) / unit.count)
                chunk.reserveCapacity(copies * unit.count)
                for _ in 0..<copies { chunk += unit }
            }
            while output.count < size {
                var hasher = H()
                if preload > 0 { hasher.update(data: [UInt8](repeating: 0, count: preload)) }
                if let count, !unit.isEmpty {
                    var left = max(count, unit.count)
                    while left > 0 {
                        let n = min(left, chunk.count)
                        chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        left -= n
                    }
                } else {
                    hasher.update(data: unit)
                }
                output += Array(hasher.finalize())
                preload += 1
            }
            return Array(output.prefix(size))
        }
    }
}
