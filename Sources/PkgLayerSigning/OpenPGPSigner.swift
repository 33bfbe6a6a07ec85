import Crypto
import _CryptoExtras
import Foundation
import Logging
import PkgLayerCore

/// Signs with an OpenPGP V4 key (RSA of 2048 bits or more, or Ed25519), natively: no gpg at sign time.
///
/// Signatures are V4 packets with SHA-256, the hashed subpackets signature creation time (2) and issuer
/// fingerprint (33), and the unhashed issuer key id (16). RSA PKCS#1 v1.5 and Ed25519 are deterministic,
/// so the same key, data and `creationTime` give the same bytes.
///
/// Its description, debug description and reflection (`dump`) show only the algorithm and key id.
public struct OpenPGPSigner: PackageSigner, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let algorithm: SigningAlgorithm
    public let keyID: String
    public let fingerprint: String
    public private(set) var creationTime: Int64
    public let armoredPublicKey: String
    /// When the signing key was made: no signature may be older (see `init`).
    private let keyCreationTime: Int64

    private let secret: OpenPGPSecretMaterial
    private let publicKeyAlgorithm: UInt8
    private let fingerprintBytes: [UInt8]
    private let keyIDBytes: [UInt8]

    /// A signer from a transferable secret key, ASCII-armored (`-----BEGIN PGP PRIVATE KEY BLOCK-----`)
    /// or binary, as `gpg --export-secret-keys` writes it. The key that signs is the primary key unless
    /// its self-signature's key flags leave out signing; then the newest subkey allowed to sign.
    ///
    /// - Parameters:
    ///   - secretKey: the key block's bytes.
    ///   - passphrase: unlocks a protected key (ignored for an unprotected one).
    ///   - creationTime: the signature creation time for everything this signer signs (SOURCE_DATE_EPOCH);
    ///     one before the signing key's own creation is raised to it, since gpg and gpgv reject a signature
    ///     older than its key.
    ///   - location: names the key's origin in errors (a path, or `gpg:KEYID`).
    public init(secretKey: Data, passphrase: String?, creationTime: Int64, location: String = "signing key") throws {
        guard creationTime >= 0, creationTime <= Int64(UInt32.max) else {
            throw PkgLayerError(.invalidInput, "the signature creation time \(creationTime) is outside what OpenPGP can hold (0 to \(UInt32.max)); check SOURCE_DATE_EPOCH", at: location)
        }
        let block = try OpenPGPSecretKeyBlock.read([UInt8](secretKey), at: location)
        let key = try block.signingKey()
        let secret = try OpenPGPSecret.unlock(key, passphrase: passphrase, at: location)
        self.secret = secret
        switch secret {
        case .rsa:
            algorithm = .rsa
            publicKeyAlgorithm = UInt8(OpenPGPPublicKey.rsa)
        case .ed25519(_, let legacy):
            algorithm = .ed25519
            publicKeyAlgorithm = UInt8(legacy ? OpenPGPPublicKey.eddsaLegacy : OpenPGPPublicKey.ed25519)
        }
        fingerprintBytes = key.publicKey.fingerprint
        keyIDBytes = key.publicKey.keyID
        fingerprint = OpenPGPWire.hex(fingerprintBytes)
        keyID = OpenPGPWire.hex(keyIDBytes)
        // gpg, gpgv (and so apt) reject a signature older than its key ("Time conflict"): a creation time
        // (SOURCE_DATE_EPOCH) before the key was made becomes the key's own creation time, which is as fixed.
        keyCreationTime = Int64(key.publicKey.created)
        self.creationTime = max(creationTime, keyCreationTime)
        armoredPublicKey = OpenPGPArmor.armor(block.publicPackets.flatMap(OpenPGPWire.serialize), kind: "PUBLIC KEY BLOCK")
        Logger(label: "pkglayer.signing").debug("signing key loaded", metadata: [
            "key": "\(keyID)", "algorithm": "\(key.publicKey.algorithmName)",
            "subkey": "\(!key.isPrimary)", "source": "\(location)", "creationTime": "\(self.creationTime)",
        ])
    }

    /// The same key signing at another time (raised to the key's creation, as `init` does), without
    /// reading or unlocking the key again.
    public func at(creationTime time: Int64) throws -> OpenPGPSigner {
        guard time >= 0, time <= Int64(UInt32.max) else {
            throw PkgLayerError(.invalidInput, "the signature creation time \(time) is outside what OpenPGP can hold (0 to \(UInt32.max)); check SOURCE_DATE_EPOCH", at: "signing key \(keyID)")
        }
        var copy = self
        copy.creationTime = max(time, keyCreationTime)
        return copy
    }

    public var description: String { "OpenPGPSigner(\(algorithm.rawValue) key \(keyID))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["algorithm": algorithm, "keyID": keyID], displayStyle: .struct)
    }

    public func detachedSignature(feeding feed: (inout SHA256) throws -> Void) throws -> Data {
        try signature(type: 0x00, feeding: feed)
    }

    public func armor(signature: Data) -> String {
        OpenPGPArmor.armor([UInt8](signature), kind: "SIGNATURE")
    }

    /// RFC 4880 §7: `text` dash-escaped under a `Hash: SHA256` header, then an armored signature of type
    /// 0x01 over its canonical form (each line without trailing spaces and tabs, CRLF between lines, no
    /// line end after the last). A final line end of `text` belongs to the armor, as with `gpg --clearsign`.
    public func clearsign(_ text: String) throws -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if text.hasSuffix("\n") { lines.removeLast() }
        if lines.isEmpty { lines = [""] }
        let canonical = lines.map { line -> String in
            var line = Substring(line)
            while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
            return String(line)
        }.joined(separator: "\r\n")
        let signature = try signature(type: 0x01) { $0.update(data: Data(canonical.utf8)) }
        var out = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        for line in lines {
            out += (line.hasPrefix("-") ? "- " + line : line) + "\n"
        }
        out += armor(signature: signature)
        return out
    }

    /// One V4 signature packet of `type` over what `feed` hashes.
    private func signature(type: UInt8, feeding feed: (inout SHA256) throws -> Void) throws -> Data {
        var subpackets: [UInt8] = [5, 2] + OpenPGPWire.be32(UInt32(creationTime))
        subpackets += [22, 33, 4] + fingerprintBytes
        var hashed: [UInt8] = [4, type, publicKeyAlgorithm, 8]
        hashed += OpenPGPWire.be16(UInt16(subpackets.count)) + subpackets

        var hasher = SHA256()
        try feed(&hasher)
        hasher.update(data: hashed)
        hasher.update(data: [4, 0xFF] + OpenPGPWire.be32(UInt32(hashed.count)))
        let digest = hasher.finalize()
        let digestBytes = Array(digest)

        let unhashed: [UInt8] = [9, 16] + keyIDBytes
        var body = hashed + OpenPGPWire.be16(UInt16(unhashed.count)) + unhashed
        body += digestBytes.prefix(2)
        switch secret {
        case .rsa(let key):
            let signature = try key.signature(for: digest, padding: .insecurePKCS1v1_5)
            body += OpenPGPWire.mpi([UInt8](signature.rawRepresentation))
        case .ed25519(let seed, let legacy):
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            let signature = [UInt8](try key.signature(for: digestBytes))
            if legacy {
                body += OpenPGPWire.mpi(signature[0..<32]) + OpenPGPWire.mpi(signature[32..<64])
            } else {
                body += signature
            }
        }
        return Data(OpenPGPWire.serialize(OpenPGPPacket(tag: OpenPGPPacket.signature, body: body)))
    }
}
