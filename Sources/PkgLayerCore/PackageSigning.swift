import Crypto
import Foundation

/// The public-key algorithms pkglayer signs with. Both give deterministic signatures (RSA PKCS#1 v1.5
/// and Ed25519), so the same key, inputs and creation time give the same signature bytes.
public enum SigningAlgorithm: String, Sendable, Codable {
    case rsa = "RSA"
    case ed25519 = "EdDSA"
}

/// The seam between a signing key and what gets signed. The OpenPGP room (PkgLayerSigning) implements it;
/// the rpm room (header signatures), the deb room (debsigs' `_gpgorigin`) and the publish room (repomd.xml.asc,
/// InRelease, Release.gpg) only call it, so none of them parses keys or knows OpenPGP's packet format
/// beyond "these bytes are a signature".
///
/// Every signature is an OpenPGP V4 signature packet with a SHA-256 digest, a creation time fixed when the
/// signer is made (SOURCE_DATE_EPOCH when set), and the issuer key id and fingerprint as subpackets.
public protocol PackageSigner: Sendable {
    var algorithm: SigningAlgorithm { get }
    /// The 64-bit key id as 16 upper-case hex digits.
    var keyID: String { get }
    /// The V4 fingerprint as 40 upper-case hex digits.
    var fingerprint: String { get }
    /// The signature creation time (seconds since 1970), the same for everything this signer signs.
    var creationTime: Int64 { get }
    /// The public key, ASCII-armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`), for `rpm --import`, gpg and apt.
    var armoredPublicKey: String { get }
    /// A binary detached signature (one signature packet, signature type 0x00) over the bytes that `feed`
    /// passes to the hasher, in the order it passes them. Streaming: the caller hashes; nothing is held.
    func detachedSignature(feeding feed: (inout SHA256) throws -> Void) throws -> Data
    /// Wraps a binary signature in ASCII armor (`-----BEGIN PGP SIGNATURE-----`, with the CRC-24 line).
    func armor(signature: Data) -> String
    /// A cleartext-signed message (RFC 4880 §7), as apt's InRelease: the text dash-escaped, the signature
    /// over it with trailing whitespace removed and line ends made CRLF (signature type 0x01).
    func clearsign(_ text: String) throws -> String
}

extension PackageSigner {
    /// A binary detached signature over `data`.
    public func detachedSignature(over data: Data) throws -> Data {
        try detachedSignature { $0.update(data: data) }
    }

    /// An armored detached signature over `data` (repomd.xml.asc, Release.gpg).
    public func armoredDetachedSignature(over data: Data) throws -> String {
        armor(signature: try detachedSignature(over: data))
    }

    /// One line for progress notes and `--json`: never anything secret.
    public var summary: String { "\(algorithm.rawValue) key \(keyID)" }
}
