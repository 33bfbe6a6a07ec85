import Crypto
import Foundation
import PkgLayerCore
@testable import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// Protection schemes gpg 2.2 does not write on export (it always uses AES-128, SHA-1, iterated+salted,
/// usage 254): an unprotected key exported by gpg is re-protected by an independent implementation
/// (Python's hashlib for the S2K, `openssl enc` for AES-CFB) and must unlock and sign as before.
final class KeyProtectionTests: XCTestCase {
    let time: Int64 = 1_700_000_000
    let passphrase = "correct horse"

    /// argv: source (binary unprotected key), destination, usage, cipher id, S2K type, hash id, passphrase.
    /// Writes every secret (sub)key packet protected, with new-format 5-octet packet lengths.
    static let reprotect = #"""
import sys, hashlib, subprocess, os
src, dst, usage, cipher, s2k, hashid, pw = sys.argv[1:8]
usage, cipher, s2k, hashid, pw = int(usage), int(cipher), int(s2k), int(hashid), pw.encode()
data = open(src, 'rb').read()
def packets(b):
    i = 0
    while i < len(b):
        h = b[i]
        if h & 0x40:
            tag, l = h & 0x3f, b[i + 1]
            if l < 192: n, hl = l, 2
            elif l < 224: n, hl = ((l - 192) << 8) + b[i + 2] + 192, 3
            else: n, hl = int.from_bytes(b[i + 2:i + 6], 'big'), 6
        else:
            tag = (h >> 2) & 15
            hl = 1 + [1, 2, 4][h & 3]
            n = int.from_bytes(b[i + 1:i + hl], 'big')
        yield tag, b[i + hl:i + hl + n]
        i += hl + n
def mpi_end(b, o): return o + 2 + (int.from_bytes(b[o:o + 2], 'big') + 7) // 8
def public_end(body):
    algo, o = body[5], 6
    if algo == 1: return mpi_end(body, mpi_end(body, o))
    if algo in (19, 22): o += 1 + body[o]; return mpi_end(body, o)
    if algo == 18: o += 1 + body[o]; o = mpi_end(body, o); return o + 1 + body[o]
    raise SystemExit('algorithm %d' % algo)
hashes = {2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512'}
keysize = {7: 16, 8: 24, 9: 32}.get(cipher, 16)
countbyte = 0x60
def derive(salt):
    count = (16 + (countbyte & 15)) << ((countbyte >> 4) + 6)
    out, pre = b'', 0
    unit = (salt if s2k else b'') + pw
    while len(out) < keysize:
        h = hashlib.new(hashes[hashid]); h.update(b'\0' * pre)
        if s2k == 3:
            full = max(count, len(unit)); reps = full // len(unit)
            h.update(unit * reps + unit[:full - reps * len(unit)])
        else:
            h.update(unit)
        out += h.digest(); pre += 1
    return out[:keysize]
out = b''
for tag, body in packets(data):
    if tag in (5, 7):
        pe = public_end(body)
        assert body[pe] == 0, 'the source key must be unprotected'
        secret = body[pe + 1:-2]
        check = hashlib.sha1(secret).digest() if usage == 254 else (sum(secret) & 0xffff).to_bytes(2, 'big')
        salt, iv = os.urandom(8), os.urandom(16)
        spec = bytes([s2k, hashid]) + (salt if s2k in (1, 3) else b'') + (bytes([countbyte]) if s2k == 3 else b'')
        enc = subprocess.run(['openssl', 'enc', '-aes-%d-cfb' % (keysize * 8), '-K', derive(salt).hex(), '-iv', iv.hex(), '-nopad'],
                             input=secret + check, capture_output=True, check=True).stdout
        body = body[:pe] + bytes([usage, cipher]) + spec + iv + enc
    out += bytes([0xC0 | tag, 0xFF]) + len(body).to_bytes(4, 'big') + body
open(dst, 'wb').write(out)
"""#

    private func reprotected(_ gnupg: GnuPGHome, _ fingerprint: String, usage: Int, cipher: Int, s2k: Int, hash: Int,
                             passphrase: String? = nil) throws -> String {
        let source = try gnupg.scratch.write("plain-\(fingerprint.prefix(8)).gpg", try gnupg.exportSecret(fingerprint, armor: false))
        let destination = gnupg.scratch.path("key-\(fingerprint.prefix(8))-\(usage)-\(cipher)-\(s2k)-\(hash).gpg")
        try generateWithPython(Self.reprotect, [source, destination, "\(usage)", "\(cipher)", "\(s2k)", "\(hash)", passphrase ?? self.passphrase])
        return destination
    }

    func testProtectionSchemes() throws {
        try requireTool("openssl")
        let gnupg = try GnuPGHome()
        let data = Data("protected differently\n".utf8)
        for algorithm in ["ed25519", "rsa2048"] {
            let fingerprint = try gnupg.generate("Scheme \(algorithm) <\(algorithm)@example.com>", algorithm)
            try gnupg.addSubkey(fingerprint, algorithm == "ed25519" ? "cv25519" : "rsa2048", usage: "encr")
            let keyring = try gnupg.exportPublic(fingerprint)
            let schemes: [(usage: Int, cipher: Int, s2k: Int, hash: Int)] = [
                (254, 9, 3, 10),  // AES-256, iterated+salted SHA-512
                (254, 8, 1, 8),   // AES-192, salted SHA-256
                (254, 7, 3, 9),   // AES-128, iterated+salted SHA-384
                (255, 7, 0, 2),   // AES-128, simple SHA-1, two-octet checksum
                (255, 9, 3, 8),   // AES-256, iterated+salted SHA-256, two-octet checksum
            ]
            var signatures: Set<Data> = []
            for scheme in schemes {
                let path = try reprotected(gnupg, fingerprint, usage: scheme.usage, cipher: scheme.cipher, s2k: scheme.s2k, hash: scheme.hash)
                let signer = try SigningKeyLoader.load(reference: path, passphrase: passphrase, gnupgHome: nil, creationTime: time)
                XCTAssertEqual(signer.fingerprint, fingerprint)
                let signature = try signer.detachedSignature(over: data)
                signatures.insert(signature)
                let result = try gnupg.gpgv(signature: signature, data: data, keyring: keyring)
                XCTAssertTrue(result.succeeded, "\(algorithm) \(scheme): \(result.stderrText)")
                XCTAssertThrowsError(try SigningKeyLoader.load(reference: path, passphrase: "wrong", gnupgHome: nil, creationTime: time), "\(scheme)") { error in
                    XCTAssertTrue("\(error)".contains("the passphrase does not unlock key \(signer.keyID)"), "\(error)")
                    XCTAssertFalse("\(error)".contains("wrong\""), "\(error)")
                }
            }
            // However the key was protected, it signs the same bytes.
            XCTAssertEqual(signatures.count, 1)

            // CAST5 (gpg 1.4's old default) and AEAD (usage 253) are refused, naming what is supported.
            let cast5 = try reprotected(gnupg, fingerprint, usage: 254, cipher: 3, s2k: 3, hash: 2)
            XCTAssertThrowsError(try SigningKeyLoader.load(reference: cast5, passphrase: passphrase, gnupgHome: nil, creationTime: time)) { error in
                XCTAssertTrue("\(error)".contains("CAST5"), "\(error)")
                XCTAssertTrue("\(error)".contains("AES-256"), "\(error)")
            }
            let aead = try reprotected(gnupg, fingerprint, usage: 253, cipher: 9, s2k: 3, hash: 8)
            XCTAssertThrowsError(try SigningKeyLoader.load(reference: aead, passphrase: passphrase, gnupgHome: nil, creationTime: time)) { error in
                XCTAssertTrue("\(error)".contains("AEAD"), "\(error)")
                XCTAssertTrue("\(error)".contains("supported:"), "\(error)")
            }
        }
    }
}

/// RFC 9580's Ed25519 (algorithm 27) in a V4 key: gpg 2.2 neither writes nor verifies it, so the key is
/// made from a gpg Ed25519 key's seed and the signature checked with swift-crypto's Ed25519.
final class NativeEd25519Tests: XCTestCase {
    func testAlgorithm27KeySigns() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Native <native@example.com>", "ed25519")
        let legacy = try OpenPGPWire.packets([UInt8](try gnupg.exportSecret(fingerprint, armor: false)), at: "gpg")
        let primary = try XCTUnwrap(legacy.first)
        // Legacy body: 4, time(4), 22, oid length, oid(9), MPI 0x40||public(32), usage 0, MPI seed, checksum.
        var reader = OpenPGPReader(primary.body, at: "gpg", what: "key")
        _ = try reader.take(6)
        _ = try reader.take(Int(try reader.byte()))
        let point = try reader.mpi()
        XCTAssertEqual(try reader.byte(), 0)
        let seedMPI = try reader.mpi()
        let seed = [UInt8](repeating: 0, count: 32 - seedMPI.count) + seedMPI
        let publicKey = Array(point.dropFirst())
        let checksum = seed.reduce(UInt16(0)) { $0 &+ UInt16($1) }
        let body = [4] + Array(primary.body[1..<5]) + [27] + publicKey + [0] + seed + OpenPGPWire.be16(checksum)
        let key = OpenPGPWire.serialize(OpenPGPPacket(tag: 5, body: body))
            + OpenPGPWire.serialize(OpenPGPPacket(tag: 13, body: Array("Native <native@example.com>".utf8)))
        let signer = try OpenPGPSigner(secretKey: Data(key), passphrase: nil, creationTime: 1_700_000_000)
        XCTAssertEqual(signer.algorithm, .ed25519)
        XCTAssertNotEqual(signer.fingerprint, fingerprint)  // a different key packet, so a different fingerprint

        let data = Data("native".utf8)
        let packet = try XCTUnwrap(try OpenPGPWire.packets([UInt8](try signer.detachedSignature(over: data)), at: "sig").first)
        XCTAssertEqual(packet.tag, 2)
        XCTAssertEqual(Array(packet.body.prefix(4)), [4, 0, 27, 8])
        let hashedEnd = 6 + (Int(packet.body[4]) << 8 | Int(packet.body[5]))
        let hashed = Array(packet.body[0..<hashedEnd])
        let digest = Array(SHA256.hash(data: Array(data) + hashed + [4, 0xFF] + OpenPGPWire.be32(UInt32(hashed.count))))
        let signature = Array(packet.body.suffix(64))
        XCTAssertEqual(Array(packet.body[(packet.body.count - 66)..<(packet.body.count - 64)]), Array(digest.prefix(2)))
        XCTAssertTrue(try Curve25519.Signing.PublicKey(rawRepresentation: publicKey).isValidSignature(signature, for: digest))
    }
}
