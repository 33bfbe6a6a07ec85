import Foundation
import PkgLayerTestSupport
import XCTest

/// `--sign-key` on `package`, `sign` and `publish`, as a user types them, checked by rpm, dpkg, gpgv and
/// pkglayer's own image resolution against the published repository over loopback HTTP. And the secret
/// (key material and passphrase) never appears in anything pkglayer prints, `--debug` included.
final class SigningCLITests: XCTestCase {
    /// A key pair made by gpg in its own home: the armored secret key file, the armored public key, the key id.
    struct Key {
        var home: String
        var secretFile: String
        var publicFile: String
        var keyID: String
        var passphrase: String?
    }

    private var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        try requireTool("gpg", "rpm", "dpkg-deb")
        scratch = try ScratchDirectory(prefix: "pkglayer-signing-cli")
    }

    override func tearDown() { scratch = nil }

    private func gpg(_ home: String, _ arguments: [String]) throws -> ProcessOutput {
        let out = try TestProcess.run("/usr/bin/gpg", ["--homedir", home, "--batch", "--no-tty"] + arguments)
        XCTAssertEqual(out.status, 0, "gpg \(arguments.joined(separator: " ")): \(out.stderrText)")
        return out
    }

    private func makeKey(_ name: String, algorithm: String, passphrase: String? = nil) throws -> Key {
        let home = try scratch.makeDirectory("gpg-\(name)")
        chmod(home, 0o700)
        let pass = ["--pinentry-mode", "loopback", "--passphrase", passphrase ?? ""]
        _ = try gpg(home, pass + ["--quick-gen-key", "\(name) <\(name)@example.com>", algorithm, "sign", "never"])
        let secret = try gpg(home, pass + ["--armor", "--export-secret-keys", name]).stdoutText
        let secretFile = try scratch.write("\(name).key.asc", secret, mode: 0o600)
        let publicFile = try scratch.write("\(name).pub.asc", try gpg(home, ["--armor", "--export", name]).stdoutText, mode: 0o644)
        let colons = try gpg(home, ["--with-colons", "--list-keys", name]).stdoutText
        let keyID = colons.split(separator: "\n").first { $0.hasPrefix("pub:") }.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[4]) } ?? ""
        XCTAssertEqual(keyID.count, 16)
        return Key(home: home, secretFile: secretFile, publicFile: publicFile, keyID: keyID, passphrase: passphrase)
    }

    private func makeTree(_ name: String) throws -> String {
        let root = try scratch.makeDirectory("tree-\(name)")
        _ = try scratch.write("tree-\(name)/usr/share/\(name)/hello.txt", "hello from \(name)\n", mode: 0o644)
        return root
    }

    /// The lines of an armored block's body (what would show if key material leaked).
    private func armoredBodyLines(_ armored: String) -> [String] {
        armored.split(separator: "\n").map(String.init).filter { $0.count >= 40 && !$0.hasPrefix("-----") }
    }

    func testPackageSignsWithAProtectedKeyAndNeverPrintsTheSecret() throws {
        let passphrase = "Tr0ub4dor-&-3-correct-horse"
        let key = try makeKey("rsa-protected", algorithm: "rsa3072", passphrase: passphrase)
        let tree = try makeTree("demo")
        let out = try scratch.makeDirectory("out")
        var env = fixedEpoch
        env["PKGLAYER_SIGN_PASSPHRASE"] = passphrase
        let run = try CLI.ok(["package", "--debug", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "demo", "-v", "1.0", "-C", tree,
                              "-p", out, "--sign-key", key.secretFile, "."], environment: env)
        let printed = run.stdoutText + run.stderrText
        XCTAssertFalse(printed.contains(passphrase), "the passphrase was printed")
        let secret = try String(contentsOfFile: key.secretFile, encoding: .utf8)
        for line in armoredBodyLines(secret) { XCTAssertFalse(printed.contains(line), "key material was printed: \(line)") }
        XCTAssertTrue(printed.contains(key.keyID), "the key id is what pkglayer names:\n\(run.stderrText)")

        // rpm checks the signature with the public key imported into a private rpmdb.
        let rpm = out + "/demo-1.0-1.x86_64.rpm", deb = out + "/demo_1.0_amd64.deb"
        let db = try scratch.makeDirectory("rpmdb")
        XCTAssertEqual(try TestProcess.run("/usr/bin/rpm", ["--dbpath", db, "--import", key.publicFile]).status, 0)
        let check = try TestProcess.run("/usr/bin/rpm", ["--dbpath", db, "-Kv", rpm])
        XCTAssertEqual(check.status, 0, check.stdoutText + check.stderrText)
        XCTAssertTrue(check.stdoutText.contains("V4 RSA/SHA256 Signature, key ID \(key.keyID.suffix(8).lowercased()): OK"), check.stdoutText)
        // The deb carries debsigs' origin signature, which gpgv checks over debian-binary + control + data.
        let members = try TestProcess.run("/usr/bin/ar", ["t", deb]).stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(members.last, "_gpgorigin", "members: \(members)")

        // Packaging again gives the same bytes, signatures included.
        let again = try scratch.makeDirectory("again")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "demo", "-v", "1.0", "-C", tree, "-p", again,
                    "--sign-key", key.secretFile, "."], environment: env)
        XCTAssertEqual(FileManager.default.contents(atPath: rpm), FileManager.default.contents(atPath: again + "/demo-1.0-1.x86_64.rpm"))
        XCTAssertEqual(FileManager.default.contents(atPath: deb), FileManager.default.contents(atPath: again + "/demo_1.0_amd64.deb"))

        // A wrong passphrase: a clear error, the wrong passphrase not echoed, nothing written.
        let refused = try scratch.makeDirectory("refused")
        var wrong = env
        wrong["PKGLAYER_SIGN_PASSPHRASE"] = "not-the-Passphrase-91"
        let bad = try CLI.run(["package", "--debug", "-s", "dir", "-t", "rpm", "-n", "demo", "-v", "1.0", "-C", tree, "-p", refused,
                               "--sign-key", key.secretFile, "."], environment: wrong)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderrText.contains("passphrase"), bad.stderrText)
        XCTAssertFalse((bad.stdoutText + bad.stderrText).contains("not-the-Passphrase-91"))
        XCTAssertFalse((bad.stdoutText + bad.stderrText).contains(passphrase))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: refused), [])

        // --rpm-sign (fpm's flag) without any key is a usage error, not a silent unsigned rpm.
        let nokey = try CLI.run(["package", "-s", "dir", "-t", "rpm", "-n", "demo", "-v", "1.0", "-C", tree, "-p", refused, "--rpm-sign", "."],
                                environment: fixedEpoch)
        XCTAssertNotEqual(nokey.status, 0)
        XCTAssertTrue(nokey.stderrText.contains("--sign-key"), nokey.stderrText)
    }

    func testSignCommandByKeyIDInAGnuPGHomeIsReproducible() throws {
        let key = try makeKey("ed", algorithm: "ed25519")
        let tree = try makeTree("plain")
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "plain", "-v", "2.0", "-C", tree, "-p", out, "."],
                   environment: fixedEpoch)
        let rpm = out + "/plain-2.0-1.x86_64.rpm", deb = out + "/plain_2.0_amd64.deb"
        let copies = try scratch.makeDirectory("copies")
        for f in [rpm, deb] { try FileManager.default.copyItem(atPath: f, toPath: copies + "/" + (f as NSString).lastPathComponent) }

        let signed = try CLI.ok(["sign", "--json", "--sign-key", key.keyID, "--gnupg-home", key.home, rpm, deb], environment: fixedEpoch)
        XCTAssertTrue(signed.stdoutText.contains("\"keyID\" : \"\(key.keyID)\""), signed.stdoutText)
        // The same key by its secret key file, on the copies: the same bytes.
        try CLI.ok(["sign", "--sign-key", key.secretFile, copies + "/plain-2.0-1.x86_64.rpm", copies + "/plain_2.0_amd64.deb"],
                   environment: fixedEpoch)
        XCTAssertEqual(FileManager.default.contents(atPath: rpm), FileManager.default.contents(atPath: copies + "/plain-2.0-1.x86_64.rpm"))
        XCTAssertEqual(FileManager.default.contents(atPath: deb), FileManager.default.contents(atPath: copies + "/plain_2.0_amd64.deb"))

        let db = try scratch.makeDirectory("rpmdb")
        XCTAssertEqual(try TestProcess.run("/usr/bin/rpm", ["--dbpath", db, "--import", key.publicFile]).status, 0)
        let check = try TestProcess.run("/usr/bin/rpm", ["--dbpath", db, "-K", rpm])
        XCTAssertEqual(check.status, 0, check.stdoutText + check.stderrText)
        XCTAssertTrue(check.stdoutText.contains("digests signatures OK"), check.stdoutText)

        // Not a package: named, non-zero, the file untouched.
        let text = try scratch.write("notes.txt", "not a package\n")
        let bad = try CLI.run(["sign", "--sign-key", key.secretFile, text])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderrText.contains("notes.txt") && bad.stderrText.contains("neither an rpm nor a deb"), bad.stderrText)
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "not a package\n")
        // No key at all.
        let nokey = try CLI.run(["sign", rpm], environment: ["PKGLAYER_SIGN_KEY": ""])
        XCTAssertNotEqual(nokey.status, 0)
        XCTAssertTrue(nokey.stderrText.contains("--sign-key"), nokey.stderrText)
    }

    /// The loop closes: packages published by pkglayer into a signed repository, served over loopback HTTP,
    /// are what another image's `repositories:` installs from, with the publisher's public key; with
    /// another key the image is refused.
    func testAnImageInstallsFromAPublishedSignedRepository() throws {
        try requireTool("gpgv")
        let key = try makeKey("publisher", algorithm: "ed25519")
        let stranger = try makeKey("stranger", algorithm: "ed25519")
        let out = try scratch.makeDirectory("pkgs")
        // A library and a tool that needs it, as debs and as rpms.
        for (name, deps) in [("greet-lib", [String]()), ("greet", ["greet-lib"])] {
            let tree = try makeTree(name)
            try CLI.ok(["package", "-s", "dir", "-t", "deb", "-t", "rpm", "-n", name, "-v", "1.0", "-C", tree, "-p", out]
                       + deps.flatMap { ["-d", $0] } + ["."], environment: fixedEpoch)
        }
        let repo = scratch.path("repo")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted().map { out + "/" + $0 }
        let published = try CLI.ok(["publish", "--repo", repo, "--sign-key", key.secretFile, "--suite", "stable", "--json"] + files,
                                   environment: fixedEpoch)
        XCTAssertTrue(published.stdoutText.contains("\"rpmCount\" : 2") && published.stdoutText.contains("\"debCount\" : 2"), published.stdoutText)

        let server = try TestHTTPServer(directory: repo)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        for (format, repository) in [("deb", "apt: \(url)\n    suites: [stable]"), ("rpm", "yum: \(url)")] {
            for (keyring, accepted) in [(key.publicFile, true), (stranger.publicFile, false)] {
                let image = try scratch.write("\(format)-\(accepted).yml", """
                    name: greet-\(format)
                    tag: "1"
                    format: \(format)
                    packages: [greet]
                    repositories:
                      - \(repository)
                        keyring: \(keyring)
                    outputs: [oci-layout]

                    """)
                let dest = scratch.path("image-\(format)-\(accepted)")
                let cache = scratch.path("cache-\(format)-\(accepted)")
                let run = try CLI.run(["image", "--context", "/", image, "-o", dest], environment: fixedEpoch.merging(["PKGLAYER_CACHE": cache]) { $1 })
                if accepted {
                    XCTAssertEqual(run.status, 0, run.stderrText)
                    let lock = try String(contentsOfFile: dest + "/\(format)-\(accepted).lock.json", encoding: .utf8)
                    XCTAssertTrue(lock.contains("\"greet-lib\"") && lock.contains(url), lock)
                } else {
                    XCTAssertNotEqual(run.status, 0, "a repository signed by another key was accepted (\(format))")
                    XCTAssertTrue(run.stderrText.lowercased().contains("signature") || run.stderrText.contains("NO_PUBKEY")
                                  || run.stderrText.lowercased().contains("key"), run.stderrText)
                }
            }
        }
    }
}
