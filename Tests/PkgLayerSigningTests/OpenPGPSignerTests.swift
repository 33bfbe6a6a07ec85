import Foundation
import PkgLayerCore
@testable import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// Keys made by the real gpg in temporary homes; every signature checked by gpgv and gpg.
final class OpenPGPSignerTests: XCTestCase {
    let time: Int64 = 1_700_000_000
    let data = Data("pkglayer signs this\n".utf8) + Data((0..<300).map { UInt8($0 & 0xFF) })

    /// Signs `data`, then checks the signature with gpgv (keyring exported by gpg) and gpg --verify, and that a
    /// changed byte fails.
    private func assertVerifies(_ signer: OpenPGPSigner, in gnupg: GnuPGHome, reference: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let signature = try signer.detachedSignature(over: data)
        let keyring = try gnupg.exportPublic(reference)
        let good = try gnupg.gpgv(signature: signature, data: data, keyring: keyring)
        XCTAssertTrue(good.succeeded, "gpgv: \(good.stderrText)", file: file, line: line)
        let verified = try gnupg.verify(signature: signature, data: data)
        XCTAssertTrue(verified.succeeded, "gpg --verify: \(verified.stderrText)", file: file, line: line)
        XCTAssertTrue(verified.stdoutText.contains("VALIDSIG \(signer.fingerprint)"), verified.stdoutText, file: file, line: line)
        // The creation time gpg reads is the one given.
        XCTAssertTrue(verified.stdoutText.contains(" \(signer.creationTime) "), verified.stdoutText, file: file, line: line)

        var changed = data
        changed[7] ^= 0x01
        let bad = try gnupg.gpgv(signature: signature, data: changed, keyring: keyring)
        XCTAssertFalse(bad.succeeded, "gpgv accepted a changed byte", file: file, line: line)

        // Deterministic: the same key, data and time give the same bytes; the streaming form equals the one-shot.
        XCTAssertEqual(try signer.detachedSignature(over: data), signature, file: file, line: line)
        let streamed = try signer.detachedSignature { hasher in
            hasher.update(data: data.prefix(10))
            hasher.update(data: data.dropFirst(10))
        }
        XCTAssertEqual(streamed, signature, file: file, line: line)

        // Armored, gpg reads it too.
        let armored = signer.armor(signature: signature)
        XCTAssertTrue(armored.hasPrefix("-----BEGIN PGP SIGNATURE-----\n\n"), armored, file: file, line: line)
        XCTAssertTrue(armored.hasSuffix("-----END PGP SIGNATURE-----\n"), armored, file: file, line: line)
        let armoredCheck = try gnupg.verify(signature: Data(armored.utf8), data: data)
        XCTAssertTrue(armoredCheck.succeeded, "gpg --verify (armored): \(armoredCheck.stderrText)", file: file, line: line)
    }

    func testRSA2048UnprotectedFromArmoredFile() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("RSA Test <rsa@example.com>", "rsa2048")
        let keyFile = try gnupg.scratch.write("key.asc", try gnupg.exportSecret(fingerprint))
        let signer = try SigningKeyLoader.load(reference: keyFile, passphrase: nil, gnupgHome: nil, creationTime: time)
        XCTAssertEqual(signer.algorithm, .rsa)
        XCTAssertEqual(signer.fingerprint, fingerprint)
        XCTAssertEqual(signer.keyID, String(fingerprint.suffix(16)))
        // 1_700_000_000 is before the key was made: gpg would call that a time conflict, so the signer
        // raises it to the key's creation time.
        let created = try XCTUnwrap(Int64(gnupg.gpg(["--with-colons", "--list-keys", fingerprint]).stdoutText
            .split(separator: "\n").first { $0.hasPrefix("pub:") }?.split(separator: ":", omittingEmptySubsequences: false)[5] ?? ""))
        XCTAssertEqual(signer.creationTime, created)
        let later = try SigningKeyLoader.load(reference: keyFile, passphrase: nil, gnupgHome: nil, creationTime: created + 1000)
        XCTAssertEqual(later.creationTime, created + 1000)
        try assertVerifies(later, in: gnupg, reference: fingerprint)
        try assertVerifies(signer, in: gnupg, reference: fingerprint)
    }

    func testEd25519UnprotectedByKeyIDFromHome() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Ed Test <ed@example.com>", "ed25519")
        let signer = try SigningKeyLoader.load(reference: String(fingerprint.suffix(16)), passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
        XCTAssertEqual(signer.algorithm, .ed25519)
        XCTAssertEqual(signer.fingerprint, fingerprint)
        try assertVerifies(signer, in: gnupg, reference: fingerprint)
    }

    func testBinaryKeyFileAndUserIDReference() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Binary Test <bin@example.com>", "ed25519")
        let keyFile = try gnupg.scratch.write("key.gpg", try gnupg.exportSecret(fingerprint, armor: false))
        let fromFile = try SigningKeyLoader.load(reference: keyFile, passphrase: nil, gnupgHome: nil, creationTime: time)
        let byUserID = try SigningKeyLoader.load(reference: "bin@example.com", passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
        XCTAssertEqual(fromFile.fingerprint, fingerprint)
        XCTAssertEqual(try fromFile.detachedSignature(over: data), try byUserID.detachedSignature(over: data))
        XCTAssertEqual(fromFile.armoredPublicKey, byUserID.armoredPublicKey)
    }
}

/// Passphrase-protected keys, subkeys, the public key, cleartext signatures, errors and secrecy.
final class OpenPGPKeyTests: XCTestCase {
    let time: Int64 = 1_700_000_000
    let data = Data("signed by a protected key\n".utf8)

    private func verifies(_ signer: OpenPGPSigner, _ gnupg: GnuPGHome, _ reference: String,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let signature = try signer.detachedSignature(over: data)
        let result = try gnupg.gpgv(signature: signature, data: data, keyring: try gnupg.exportPublic(reference))
        XCTAssertTrue(result.succeeded, "gpgv: \(result.stderrText)", file: file, line: line)
        XCTAssertEqual(try signer.detachedSignature(over: data), signature, "not deterministic", file: file, line: line)
    }

    private func protectedKey(_ algorithm: String) throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Protected <\(algorithm)@example.com>", algorithm, passphrase: "secret")
        let keyID = String(fingerprint.suffix(16))
        let keyFile = try gnupg.scratch.write("key.asc", try gnupg.exportSecret(fingerprint, passphrase: "secret"))
        XCTAssertTrue(try String(contentsOfFile: keyFile, encoding: .utf8).hasPrefix("-----BEGIN PGP PRIVATE KEY BLOCK-----"))

        let fromFile = try SigningKeyLoader.load(reference: keyFile, passphrase: "secret", gnupgHome: nil, creationTime: time)
        XCTAssertEqual(fromFile.fingerprint, fingerprint)
        try verifies(fromFile, gnupg, fingerprint)
        let fromHome = try SigningKeyLoader.load(reference: keyID, passphrase: "secret", gnupgHome: gnupg.home, creationTime: time)
        XCTAssertEqual(try fromHome.detachedSignature(over: data), try fromFile.detachedSignature(over: data))

        // A wrong passphrase: a clear error that names the key and never the passphrase, from a file and from the home.
        let wrong = "hunter2-wrong-passphrase"
        for (reference, home) in [(keyFile, nil), (keyID, gnupg.home)] as [(String, String?)] {
            XCTAssertThrowsError(try SigningKeyLoader.load(reference: reference, passphrase: wrong, gnupgHome: home, creationTime: time)) { error in
                let text = "\(error)" + String(reflecting: error)
                XCTAssertTrue(text.contains("the passphrase does not unlock key"), text)
                XCTAssertTrue(text.contains(keyID), text)
                XCTAssertTrue(text.contains("PKGLAYER_SIGN_PASSPHRASE"), text)
                XCTAssertFalse(text.contains(wrong), text)
                XCTAssertFalse(text.contains("secret\""), text)
            }
        }
        // No passphrase at all.
        for (reference, home) in [(keyFile, nil), (keyID, gnupg.home)] as [(String, String?)] {
            XCTAssertThrowsError(try SigningKeyLoader.load(reference: reference, passphrase: nil, gnupgHome: home, creationTime: time)) { error in
                XCTAssertTrue("\(error)".contains("protected by a passphrase"), "\(error)")
            }
        }
    }

    func testRSA2048Protected() throws { try protectedKey("rsa2048") }
    func testRSA3072Protected() throws { try protectedKey("rsa3072") }
    func testEd25519Protected() throws { try protectedKey("ed25519") }

    func testRSA3072Unprotected() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("RSA3072 <r3@example.com>", "rsa3072")
        let signer = try SigningKeyLoader.load(reference: fingerprint, passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
        XCTAssertEqual(signer.algorithm, .rsa)
        try verifies(signer, gnupg, fingerprint)
    }

    /// A primary key that may only certify, with an encryption subkey and two signing subkeys: the newest
    /// signing subkey signs.
    func testSigningSubkeyOfACertifyOnlyPrimary() throws {
        let gnupg = try GnuPGHome()
        let primary = try gnupg.generate("Subkeys <sub@example.com>", "ed25519", usage: "cert", passphrase: "secret")
        try gnupg.addSubkey(primary, "cv25519", usage: "encr", passphrase: "secret")
        try gnupg.addSubkey(primary, "ed25519", usage: "sign", passphrase: "secret")
        sleep(1)  // the newest signing subkey must be newer by creation time
        let newest = try gnupg.addSubkey(primary, "rsa2048", usage: "sign", passphrase: "secret")
        let keyFile = try gnupg.scratch.write("key.asc", try gnupg.exportSecret(primary, passphrase: "secret"))
        let signer = try SigningKeyLoader.load(reference: keyFile, passphrase: "secret", gnupgHome: nil, creationTime: time)
        XCTAssertEqual(signer.fingerprint, newest)
        XCTAssertEqual(signer.algorithm, .rsa)
        try verifies(signer, gnupg, primary)

        // The public key imported into a fresh home verifies the subkey's signature.
        let fresh = try GnuPGHome()
        try fresh.gpg(["--import"], stdin: Data(signer.armoredPublicKey.utf8))
        let check = try fresh.verify(signature: try signer.detachedSignature(over: data), data: data)
        XCTAssertTrue(check.succeeded, check.stderrText)
        XCTAssertTrue(check.stdoutText.contains("VALIDSIG \(newest)"), check.stdoutText)

        // `--export-secret-subkeys` leaves the primary as a stub without its secret: the subkey still signs.
        let subkeysOnly = try gnupg.gpg(["--pinentry-mode", "loopback", "--passphrase-fd", "0", "--armor", "--export-secret-subkeys", primary],
                                        stdin: Data("secret".utf8)).stdout
        let stubbed = try OpenPGPSigner(secretKey: subkeysOnly, passphrase: "secret", creationTime: time)
        XCTAssertEqual(stubbed.fingerprint, newest)
    }

    /// `armoredPublicKey` is what gpg exports (same packets), imports into a fresh home, and verifies there.
    func testArmoredPublicKeyImportsAndVerifies() throws {
        for algorithm in ["rsa2048", "ed25519"] {
            let gnupg = try GnuPGHome()
            let fingerprint = try gnupg.generate("Public <pub@example.com>", algorithm)
            try gnupg.addSubkey(fingerprint, algorithm == "ed25519" ? "cv25519" : "rsa2048", usage: "encr")
            let signer = try SigningKeyLoader.load(reference: fingerprint, passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
            let armored = signer.armoredPublicKey
            XCTAssertTrue(armored.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"), armored)
            XCTAssertTrue(armored.hasSuffix("-----END PGP PUBLIC KEY BLOCK-----\n"), armored)
            XCTAssertFalse(armored.contains("PRIVATE"))
            let ours = try OpenPGPArmor.dearmor(armored, at: "test")[0].bytes
            let theirs = [UInt8](try gnupg.exportPublic(fingerprint))
            XCTAssertEqual(try OpenPGPWire.packets(ours, at: "ours"), try OpenPGPWire.packets(theirs, at: "gpg"))

            let fresh = try GnuPGHome()
            try fresh.gpg(["--import"], stdin: Data(armored.utf8))
            let listed = try fresh.gpg(["--with-colons", "--list-keys"]).stdoutText
            XCTAssertTrue(listed.contains(fingerprint), listed)
            let check = try fresh.verify(signature: try signer.detachedSignature(over: data), data: data)
            XCTAssertTrue(check.succeeded, check.stderrText)
            // gpgv with the armored key dearmored by gpg.
            let keyring = try fresh.gpg(["--export", fingerprint]).stdout
            XCTAssertTrue(try fresh.gpgv(signature: try signer.detachedSignature(over: data), data: data, keyring: keyring).succeeded)
        }
    }

    /// rpm 4.18 is strict about key packets: `rpmkeys --import` into a temporary database takes the key.
    func testRPMImportsArmoredPublicKey() throws {
        try requireTool("rpmkeys", "rpm")
        for algorithm in ["rsa3072", "ed25519"] {
            let gnupg = try GnuPGHome()
            let fingerprint = try gnupg.generate("RPM Key <rpm@example.com>", algorithm)
            let signer = try SigningKeyLoader.load(reference: fingerprint, passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
            let keyFile = try gnupg.scratch.write("RPM-GPG-KEY-test", signer.armoredPublicKey)
            let dbpath = try gnupg.scratch.makeDirectory("rpmdb")
            let imported = try TestProcess.run("rpmkeys", ["--dbpath", dbpath, "--import", keyFile])
            XCTAssertTrue(imported.succeeded, "rpmkeys --import (\(algorithm)): \(imported.stderrText)")
            let listed = try TestProcess.run("rpm", ["--dbpath", dbpath, "-q", "gpg-pubkey", "--qf", "%{VERSION}\n"])
            XCTAssertEqual(listed.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), String(signer.keyID.suffix(8)).lowercased(), listed.stderrText)
        }
    }

    func testClearsignVerifiesWithGpg() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Clear <clear@example.com>", "ed25519")
        try gnupg.generate("Clear RSA <clear-rsa@example.com>", "rsa2048")
        let texts = [
            "Origin: pkglayer\nLabel: test  \nSuite: stable\t\n\n-----BEGIN PGP SIGNATURE-----\n- dash\n--\n\nlast line without newline  ",
            "Origin: pkglayer\nSHA256:\n 0123 45 Packages\n",
            "one line",
            "trailing empty lines\n\n\n",
            "",
        ]
        for reference in [fingerprint, "clear-rsa@example.com"] {
            let signer = try SigningKeyLoader.load(reference: reference, passphrase: nil, gnupgHome: gnupg.home, creationTime: time)
            for text in texts {
                let message = try signer.clearsign(text)
                XCTAssertTrue(message.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"), message)
                let result = try gnupg.verifyClearsigned(message)
                XCTAssertTrue(result.succeeded, "gpg --verify of \(text.debugDescription): \(result.stderrText)\n\(message)")
                XCTAssertTrue(result.stdoutText.contains("VALIDSIG \(signer.fingerprint)"), result.stdoutText)
                XCTAssertEqual(try signer.clearsign(text), message, "not deterministic")
                // What gpg extracts is the text with dash-escaping undone, trailing blanks gone (they are not
                // signed) and one line end after the last line.
                let path = try gnupg.scratch.write("msg.asc", message)
                let extracted = try gnupg.gpg(["--decrypt", path]).stdoutText
                let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
                let expected = body.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    String(line.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
                }.joined(separator: "\n") + "\n"
                XCTAssertEqual(extracted.replacingOccurrences(of: "\r\n", with: "\n"), expected)
                // A changed line fails.
                let tampered = message.replacingOccurrences(of: "Hash: SHA256\n\n", with: "Hash: SHA256\n\nX")
                XCTAssertFalse(try gnupg.verifyClearsigned(tampered).succeeded, "a changed clearsigned text verified")
            }
            XCTAssertTrue(try signer.clearsign(texts[0]).contains("\n- -----BEGIN PGP SIGNATURE-----\n- - dash\n- --\n"))
        }
    }

    /// description, debugDescription and dump show the algorithm and key id, never secret material.
    func testDescriptionAndDumpHoldNoSecret() throws {
        let gnupg = try GnuPGHome()
        for algorithm in ["ed25519", "rsa2048"] {
            let fingerprint = try gnupg.generate("Secret \(algorithm) <s-\(algorithm)@example.com>", algorithm)
            let exported = try gnupg.exportSecret(fingerprint)
            let signer = try OpenPGPSigner(secretKey: exported, passphrase: nil, creationTime: time)
            // The secret numbers, read independently of the signer.
            let block = try OpenPGPSecretKeyBlock.read([UInt8](exported), at: "test")
            let secretPart = block.primary.secretPart
            var secrets: [String] = []
            var reader = OpenPGPReader(Array(secretPart.dropFirst().dropLast(2)), at: "test", what: "secret")
            while !reader.atEnd { secrets.append(OpenPGPWire.hex(try reader.mpi())) }
            XCTAssertFalse(secrets.isEmpty)

            var dumped = ""
            dump(signer, to: &dumped)
            let texts = [String(describing: signer), String(reflecting: signer), "\(signer)", dumped, signer.summary]
            for text in texts {
                XCTAssertTrue(text.contains(signer.keyID), text)
                for secret in secrets {
                    XCTAssertFalse(text.uppercased().contains(secret.prefix(16)), "\(text) holds secret material")
                }
                XCTAssertFalse(text.contains("PrivateKey"), text)
                XCTAssertFalse(text.contains("seed"), text)
            }
            XCTAssertEqual(String(describing: signer), "OpenPGPSigner(\(signer.algorithm.rawValue) key \(signer.keyID))")
            XCTAssertLessThan(dumped.split(separator: "\n").count, 4, dumped)
        }
    }

    func testPassphraseFromFileAndEnvironment() throws {
        let scratch = try ScratchDirectory(prefix: "pgp-pass")
        let file = try scratch.write("pass", "top secret\n")
        XCTAssertEqual(try SigningKeyLoader.passphrase(environment: [:], file: file), "top secret")
        XCTAssertEqual(try SigningKeyLoader.passphrase(environment: [:], file: try scratch.write("crlf", "a\r\n")), "a")
        XCTAssertEqual(try SigningKeyLoader.passphrase(environment: [:], file: try scratch.write("two", "a\n\n")), "a\n")
        XCTAssertEqual(try SigningKeyLoader.passphrase(environment: ["PKGLAYER_SIGN_PASSPHRASE": "from env"], file: file), "top secret")
        XCTAssertEqual(try SigningKeyLoader.passphrase(environment: ["PKGLAYER_SIGN_PASSPHRASE": "from env"], file: nil), "from env")
        XCTAssertNil(try SigningKeyLoader.passphrase(environment: [:], file: nil))
        XCTAssertThrowsError(try SigningKeyLoader.passphrase(environment: [:], file: scratch.path("missing"))) { error in
            XCTAssertTrue("\(error)".contains(scratch.path("missing")), "\(error)")
        }
    }

    func testPublicKeyOnlyAndOtherBadFiles() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Public Only <po@example.com>", "ed25519")
        for (name, contents) in [("pub.asc", try gnupg.exportPublic(fingerprint, armor: true)), ("pub.gpg", try gnupg.exportPublic(fingerprint))] {
            let path = try gnupg.scratch.write(name, contents)
            XCTAssertThrowsError(try SigningKeyLoader.load(reference: path, passphrase: nil, gnupgHome: nil, creationTime: time)) { error in
                XCTAssertTrue("\(error)".contains("holds no secret key"), "\(error)")
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
        // A damaged armored key fails its CRC-24.
        var armored = String(decoding: try gnupg.exportSecret(fingerprint), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try XCTUnwrap(armored.firstIndex { $0.count == 64 })
        armored[index] = String(armored[index].reversed())
        let damaged = try gnupg.scratch.write("damaged.asc", armored.joined(separator: "\n"))
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: damaged, passphrase: nil, gnupgHome: nil, creationTime: time)) { error in
            XCTAssertTrue("\(error)".contains("CRC-24"), "\(error)")
        }
        // Not a key at all; a missing file; a key id the home lacks.
        let text = try gnupg.scratch.write("notes.txt", "hello\n")
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: text, passphrase: nil, gnupgHome: nil, creationTime: time))
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: gnupg.scratch.path("nope.asc"), passphrase: nil, gnupgHome: nil, creationTime: time)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: "0123456789ABCDEF", passphrase: nil, gnupgHome: gnupg.home, creationTime: time)) { error in
            XCTAssertTrue("\(error)".contains("0123456789ABCDEF"), "\(error)")
        }
        // Two keys match one user id.
        try gnupg.gpg(["--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Public Only <po@example.com>", "ed25519", "sign", "never"])
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: "po@example.com", passphrase: nil, gnupgHome: gnupg.home, creationTime: time)) { error in
            XCTAssertTrue("\(error)".contains("fingerprint"), "\(error)")
        }
    }

    func testSmallRSAKeyIsRefused() throws {
        let gnupg = try GnuPGHome()
        let fingerprint = try gnupg.generate("Small <small@example.com>", "rsa1024")
        let path = try gnupg.scratch.write("small.asc", try gnupg.exportSecret(fingerprint))
        XCTAssertThrowsError(try SigningKeyLoader.load(reference: path, passphrase: nil, gnupgHome: nil, creationTime: time)) { error in
            XCTAssertTrue("\(error)".contains("RSA-1024"), "\(error)")
            XCTAssertTrue("\(error)".contains("2048 bits or more"), "\(error)")
        }
    }
}

/// Opt-in figures (PKGLAYER_SIGNING_BENCH=1): unlocking gpg's default protection and signing speed.
final class SigningBenchmarkTests: XCTestCase {
    func testFigures() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_SIGNING_BENCH"] == "1" else {
            throw XCTSkip("set PKGLAYER_SIGNING_BENCH=1 to measure")
        }
        let gnupg = try GnuPGHome()
        let data = Data(repeating: 0x5A, count: 64 << 20)
        for algorithm in ["rsa3072", "ed25519"] {
            let fingerprint = try gnupg.generate("Bench \(algorithm) <b-\(algorithm)@example.com>", algorithm, passphrase: "secret")
            let exported = try gnupg.exportSecret(fingerprint, passphrase: "secret")
            var start = Date()
            let signer = try OpenPGPSigner(secretKey: exported, passphrase: "secret", creationTime: 1_700_000_000)
            let unlock = Date().timeIntervalSince(start)
            start = Date()
            for _ in 0..<100 { _ = try signer.detachedSignature(over: Data("x".utf8)) }
            let small = Date().timeIntervalSince(start) / 100
            start = Date()
            _ = try signer.detachedSignature(over: data)
            let large = Date().timeIntervalSince(start)
            print("signing-bench \(algorithm): unlock (gpg default S2K, 65011712 octets SHA-1) \(String(format: "%.3f", unlock)) s; "
                + "one small signature \(String(format: "%.2f", small * 1000)) ms; 64 MiB signed \(String(format: "%.3f", large)) s")
        }
    }
}
