import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// debsigs' `_gpgorigin` signatures, written by the deb writer and by `DebSigning.sign(fileAt:with:)`,
/// checked with the real `debsig-verify` (policy and keyring in temp dirs), installed with the real
/// dpkg and compared byte for byte.
///
/// Ed25519: debsig-verify 0.28 (Debian 12) hands the signature to gpg 2.2, which verifies EdDSA
/// (algorithm 22) signatures, so Ed25519 keys work as well as RSA ones (testEd25519…).
final class DebSigningTests: XCTestCase {
    static let epoch: Int64 = 1_700_000_000

    /// The key: made by gpg in its own home; `keyring` is the binary keyring debsig-verify wants.
    typealias TestKey = TestSigningKey

    /// One key per algorithm for the whole class.
    private static let keys = TestSigningKeys()
    private func key(_ algorithm: String) throws -> TestKey { try Self.keys.key(algorithm) }

    override class func tearDown() {
        keys.removeAll()
        super.tearDown()
    }

    private var fixtures: [Fixture] = []
    private var scratch: [ScratchDirectory] = []

    override func tearDown() {
        for dir in scratch { try? FileManager.default.removeItem(atPath: dir.path) }
        scratch = []
        fixtures = []
        super.tearDown()
    }

    private func tempDir() throws -> String {
        let dir = try ScratchDirectory(prefix: "pkglayer-debsign")
        scratch.append(dir)
        return dir.path
    }

    /// The standard test package for this host's architecture, written to `dir`.
    private func buildDeb(in dir: String, name: String = "signed.deb", signer: (any PackageSigner)?, compression: Compression = .gzip(level: 6)) throws -> String {
        let fx = try Fixture(epoch: Self.epoch)
        try fx.populateStandard()
        var spec = fx.spec()
        spec.architecture = Architecture(parsing: try Tool.check(["dpkg", "--print-architecture"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        fixtures.append(fx)
        let out = "\(dir)/\(name)"
        let result = try DebWriter(dataCompression: compression, signer: signer).writePackage(spec: spec, manifest: try fx.manifest(), to: out)
        XCTAssertEqual(result.signedBy, signer?.keyID)
        return out
    }

    /// `debsig-verify` with a policy for `policyKey` (the directory and ids named by its key id) and a
    /// keyring holding `keyringKey`'s public key. Returns the exit status and output.
    private func debsigVerify(_ deb: String, policyKey: TestKey, keyringKey: TestKey? = nil) throws -> Tool.Output {
        try requireTool("debsig-verify")
        let root = try tempDir()
        let policies = "\(root)/policies/\(policyKey.keyID)"
        let keyrings = "\(root)/keyrings/\(policyKey.keyID)"
        for dir in [policies, keyrings] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Self.policy(keyID: policyKey.keyID).write(toFile: "\(policies)/pkglayer.pol", atomically: false, encoding: .utf8)
        try FileManager.default.copyItem(atPath: (keyringKey ?? policyKey).keyring, toPath: "\(keyrings)/debsig.gpg")
        return try Tool.run(["debsig-verify", "--policies-dir", "\(root)/policies", "--keyrings-dir", "\(root)/keyrings", deb])
    }

    /// The policy a user installs as /etc/debsig/policies/KEYID/pkglayer.pol (the README's example).
    static func policy(keyID: String) -> String {
        """
        <?xml version="1.0"?>
        <!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">
        <Policy xmlns="https://www.debian.org/debsig/1.0/">
          <Origin Name="pkglayer-test" id="\(keyID)" Description="packages signed by pkglayer's tests"/>
          <Selection>
            <Required Type="origin" File="debsig.gpg" id="\(keyID)"/>
          </Selection>
          <Verification MinOptional="0">
            <Required Type="origin" File="debsig.gpg" id="\(keyID)"/>
          </Verification>
        </Policy>

        """
    }

    private func memberNames(_ deb: String) throws -> [String] {
        try DebArFile(path: deb).layout().members.map(\.name)
    }

    // MARK: - Write time

    func testRSASignedAtWriteTimeVerifies() throws {
        try checkWriteTimeSignature(key: try key("rsa2048"), algorithm: .rsa)
    }

    /// Ed25519 works with Debian 12's debsig-verify (0.28, through gpg 2.2).
    func testEd25519SignedAtWriteTimeVerifies() throws {
        try checkWriteTimeSignature(key: try key("ed25519"), algorithm: .ed25519)
    }

    private func checkWriteTimeSignature(key: TestKey, algorithm: SigningAlgorithm) throws {
        let dir = try tempDir()
        let signer = try key.signer()
        let deb = try buildDeb(in: dir, signer: signer)
        XCTAssertEqual(try memberNames(deb), ["debian-binary", "control.tar.gz", "data.tar.gz", "_gpgorigin"])

        let verified = try debsigVerify(deb, policyKey: key)
        XCTAssertEqual(verified.status, 0, "debsig-verify: \(verified.stdout)\(verified.stderr)")
        XCTAssertTrue(verified.stdout.contains("Verified package from"), verified.stdout)

        let info = try XCTUnwrap(try DebSigning.signatureInfo(fileAt: URL(fileURLWithPath: deb)))
        XCTAssertEqual(info.member, "_gpgorigin")
        XCTAssertEqual(info.keyID, key.keyID)
        XCTAssertEqual(info.fingerprint, key.fingerprint)
        // The signer's time: SOURCE_DATE_EPOCH, or the key's creation when that is later (these keys are new).
        XCTAssertEqual(info.creationTime, signer.creationTime)
        XCTAssertEqual(info.algorithm, algorithm)
        XCTAssertEqual(info.hashAlgorithmID, 8, "SHA-256")
        XCTAssertFalse(info.armored, "binary, as debsigs writes it")

        // The unsigned package carries no signature member.
        let unsigned = try buildDeb(in: dir, name: "unsigned.deb", signer: nil)
        XCTAssertNil(try DebSigning.signatureInfo(fileAt: URL(fileURLWithPath: unsigned)))
        XCTAssertEqual(try debsigVerify(unsigned, policyKey: key).status, 10, "no signature: exit 10")
    }

    /// dpkg-deb reads the signed package, and dpkg installs it into a test root.
    func testSignedPackageInstallsWithDpkg() throws {
        let key = try key("ed25519")
        let dir = try tempDir()
        let deb = try buildDeb(in: dir, signer: try key.signer())
        let info = try Tool.check(["dpkg-deb", "-I", deb]).stdout
        XCTAssertTrue(info.contains("Package: hello-pkglayer"), info)
        let contents = try Tool.check(["dpkg-deb", "-c", deb]).stdout
        XCTAssertTrue(contents.contains("./usr/bin/hello-pkglayer"), contents)
        // pkglayer's own reader skips the signature member, as dpkg does, without a warning.
        let read = try DebReader().readPackage(path: deb, extractTo: nil)
        XCTAssertEqual(read.warnings, [])
        XCTAssertEqual(read.package.spec.name, "hello-pkglayer")

        let root = try DpkgInstallTests.DpkgRoot()
        try root.dpkg(["-i", deb])
        XCTAssertEqual(try root.query("hello-pkglayer"), "hello-pkglayer 1.0-1 install ok installed")
        XCTAssertEqual(try String(contentsOfFile: root.root + "/usr/bin/hello-pkglayer", encoding: .utf8), "#!/bin/sh\necho hello 1\n")
    }

    // MARK: - Verification fails when it should

    func testTamperedDataFailsVerification() throws {
        let key = try key("rsa2048")
        let dir = try tempDir()
        let deb = try buildDeb(in: dir, signer: try key.signer(), compression: .none)
        XCTAssertEqual(try debsigVerify(deb, policyKey: key).status, 0)

        // One byte of a file's content inside data.tar (uncompressed, so dpkg-deb still reads it).
        let layout = try DebArFile(path: deb).layout()
        let data = layout.members[layout.data]
        var content = try bytes(of: deb)
        let needle = Array("echo hello 1".utf8)
        let start = Int(data.dataOffset)
        let end = start + Int(data.size)
        let at = try XCTUnwrap((start..<(end - needle.count)).first { Array(content[$0..<($0 + needle.count)]) == needle })
        content[at + needle.count - 1] = UInt8(ascii: "2")
        try Data(content).write(to: URL(fileURLWithPath: deb))
        XCTAssertTrue(try Tool.check(["dpkg-deb", "-c", deb]).stdout.contains("hello-pkglayer"), "still a readable deb")

        let verified = try debsigVerify(deb, policyKey: key)
        XCTAssertEqual(verified.status, 13, "bad signature: exit 13\n\(verified.stdout)\(verified.stderr)")
    }

    func testKeyringWithAnotherKeyFailsVerification() throws {
        let signing = try key("ed25519")
        let other = try key("rsa2048")
        let deb = try buildDeb(in: try tempDir(), signer: try signing.signer())
        let verified = try debsigVerify(deb, policyKey: signing, keyringKey: other)
        XCTAssertNotEqual(verified.status, 0, "a keyring without the signing key must not verify\n\(verified.stdout)")
    }

    // MARK: - Signing afterwards

    /// Signing an unsigned deb afterwards gives the very bytes the writer gives when it signs, and a
    /// second signing replaces the signature rather than adding one.
    func testSignAfterwardsEqualsWriteTimeAndReplaces() throws {
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let dir = try tempDir()
            let signedAtWrite = try buildDeb(in: dir, name: "a.deb", signer: try key.signer())
            let later = try buildDeb(in: dir, name: "b.deb", signer: nil)
            let unsignedBytes = try bytes(of: later)

            let info = try DebSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer())
            XCTAssertEqual(info.keyID, key.keyID)
            XCTAssertEqual(try bytes(of: later), try bytes(of: signedAtWrite), "\(algorithm): sign afterwards == sign at write time")
            XCTAssertEqual(Array(try bytes(of: later).prefix(unsignedBytes.count)), unsignedBytes, "the unsigned members are copied verbatim")

            // Again: the same bytes (deterministic signature, replaced in place).
            try DebSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer())
            XCTAssertEqual(try bytes(of: later), try bytes(of: signedAtWrite), "\(algorithm): signing twice replaces")
            XCTAssertEqual(try memberNames(later), ["debian-binary", "control.tar.gz", "data.tar.gz", "_gpgorigin"])

            // Another creation time (a day after the key's): a different signature, still one member, still valid.
            let dayLater = try key.signer().creationTime + 86400
            try DebSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer(creationTime: dayLater))
            XCTAssertEqual(try DebSigning.signatureInfo(fileAt: URL(fileURLWithPath: later))?.creationTime, dayLater)
            XCTAssertNotEqual(try bytes(of: later), try bytes(of: signedAtWrite))
            XCTAssertEqual(try memberNames(later), ["debian-binary", "control.tar.gz", "data.tar.gz", "_gpgorigin"])
            XCTAssertEqual(try debsigVerify(later, policyKey: key).status, 0)
        }
    }

    /// Re-signing with another key replaces the origin signature where it stands and keeps another
    /// signature member (debsigs' `_gpgmaint`) byte for byte.
    func testResignWithAnotherKeyKeepsOtherSignatureMembers() throws {
        let first = try key("rsa2048")
        let second = try key("ed25519")
        let dir = try tempDir()
        let deb = try buildDeb(in: dir, signer: try first.signer())
        // Append a `_gpgmaint` member (a maintainer signature by the first key over the same members).
        let layout = try DebArFile(path: deb).layout()
        let file = try DebArFile(path: deb)
        let signed = try [layout.debianBinary, layout.control, layout.data].flatMap { try file.read(layout.members[$0]) }
        let maint = try first.signer().detachedSignature(over: Data(signed))
        var content = try bytes(of: deb)
        content += DebSigning.arHeader(name: "_gpgmaint", mtime: Self.epoch, size: maint.count) + Array(maint)
        if maint.count % 2 == 1 { content.append(UInt8(ascii: "\n")) }
        try Data(content).write(to: URL(fileURLWithPath: deb))

        try DebSigning.sign(fileAt: URL(fileURLWithPath: deb), with: try second.signer())
        XCTAssertEqual(try memberNames(deb), ["debian-binary", "control.tar.gz", "data.tar.gz", "_gpgorigin", "_gpgmaint"])
        let signatures = try DebSigning.signatures(fileAt: URL(fileURLWithPath: deb))
        XCTAssertEqual(signatures.map(\.member), ["_gpgorigin", "_gpgmaint"])
        XCTAssertEqual(signatures.map(\.keyID), [second.keyID, first.keyID])
        XCTAssertEqual(Array(try bytes(of: deb).suffix(maint.count + maint.count % 2).prefix(maint.count)), Array(maint), "_gpgmaint kept as it was")
        XCTAssertEqual(try debsigVerify(deb, policyKey: second).status, 0)
        XCTAssertNotEqual(try debsigVerify(deb, policyKey: first).status, 0, "the old origin signature is gone")
    }

    /// A deb made by dpkg-deb (another writer's ar headers) is signed afterwards, verifies and still reads.
    func testSignsDpkgDebBuiltPackage() throws {
        let key = try key("ed25519")
        let dir = try tempDir()
        let tree = "\(dir)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/DEBIAN", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(tree)/usr/share/thirdparty", withIntermediateDirectories: true)
        try "Package: thirdparty\nVersion: 2.0-1\nArchitecture: all\nMaintainer: Someone <someone@example.org>\nDescription: built by dpkg-deb\n"
            .write(toFile: "\(tree)/DEBIAN/control", atomically: false, encoding: .utf8)
        try "data\n".write(toFile: "\(tree)/usr/share/thirdparty/file", atomically: false, encoding: .utf8)
        let deb = "\(dir)/thirdparty.deb"
        try Tool.check(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", tree, deb], environment: ["SOURCE_DATE_EPOCH": String(Self.epoch)])
        let before = try bytes(of: deb)

        try DebSigning.sign(fileAt: URL(fileURLWithPath: deb), with: try key.signer())
        XCTAssertEqual(Array(try bytes(of: deb).prefix(before.count)), before, "dpkg-deb's members are copied verbatim")
        XCTAssertEqual(try memberNames(deb), ["debian-binary", "control.tar.xz", "data.tar.xz", "_gpgorigin"])
        XCTAssertEqual(try debsigVerify(deb, policyKey: key).status, 0)
        XCTAssertTrue(try Tool.check(["dpkg-deb", "-I", deb]).stdout.contains("Package: thirdparty"))
        try Tool.check(["ar", "t", deb]) // binutils reads the archive too
    }

    func testRefusesWhatIsNotADeb() throws {
        let key = try key("ed25519")
        let dir = try tempDir()
        let cases: [(String, [UInt8])] = [
            ("text.deb", Array("just some text\n".utf8)),
            ("empty.deb", []),
            ("ar-without-debian-binary.deb", Array("!<arch>\n".utf8) + DebSigning.arHeader(name: "hello", mtime: 0, size: 2) + Array("hi".utf8)),
            ("truncated.deb", Array("!<arch>\n".utf8) + DebSigning.arHeader(name: "debian-binary", mtime: 0, size: 400) + Array("2.0\n".utf8)),
            ("no-data.deb", Array("!<arch>\n".utf8) + DebSigning.arHeader(name: "debian-binary", mtime: 0, size: 4) + Array("2.0\n".utf8)
                + DebSigning.arHeader(name: "control.tar.gz", mtime: 0, size: 2) + Array("xx".utf8)),
        ]
        for (name, content) in cases {
            let path = "\(dir)/\(name)"
            try Data(content).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try DebSigning.sign(fileAt: URL(fileURLWithPath: path), with: try key.signer()), name) { error in
                let e = error as? PkgLayerError
                XCTAssertEqual(e?.code, .deb, "\(name): \(error)")
                XCTAssertEqual(e?.location, path, "\(name): the error names the file")
                XCTAssertTrue(e?.message.contains("is not a .deb") ?? false, "\(name): \(error)")
            }
            XCTAssertEqual(try bytes(of: path), content, "\(name) is left as it was")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), cases.map(\.0).sorted(), "no temp files left behind")
    }

    // MARK: - Reproducible

    /// Two builds in different directories, with the same key and creation time, give identical bytes.
    func testSignedBuildIsByteIdenticalTwice() throws {
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let a = try buildDeb(in: try tempDir(), signer: try key.signer())
            let b = try buildDeb(in: try tempDir(), signer: try key.signer())
            XCTAssertEqual(try bytes(of: a), try bytes(of: b), algorithm)
        }
    }

    /// A data.tar of 3 GiB (uncompressed), signed at write time and afterwards: both stream, so the
    /// process grows by far less than the member. Writes about 9 GiB, so it runs only with
    /// PKGLAYER_DEB_LARGE_TESTS=1; prints the figures for the report.
    func testLargeDataMemberStreams() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_DEB_LARGE_TESTS"] == "1" else {
            throw XCTSkip("set PKGLAYER_DEB_LARGE_TESTS=1 to sign a deb with a 3 GiB data member")
        }
        let key = try key("ed25519")
        let dir = try tempDir()
        let big = "\(dir)/big"
        let size: UInt64 = 3 << 30
        let fd = open(big, O_CREAT | O_WRONLY, 0o644)
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        XCTAssertEqual(pwrite(fd, "end", 3, off_t(size - 3)), 3)
        close(fd)
        let fx = try Fixture(epoch: Self.epoch)
        fixtures.append(fx)
        fx.entries.append(ManifestEntry(path: "/usr/share/big/huge", kind: .file, mode: 0o644, mtime: Self.epoch, size: size,
                                        sha256: try FileDigest.sha256Hex(path: big), sourcePath: big))
        var spec = fx.spec()
        spec.architecture = .noarch
        func maxRSS() -> Int { var usage = rusage(); getrusage(RUSAGE_SELF.rawValue, &usage); return usage.ru_maxrss / 1024 }
        let rssBefore = maxRSS()
        var start = Date()
        let signedAtWrite = "\(dir)/a.deb"
        _ = try DebWriter(dataCompression: .none, signer: try key.signer()).write(spec: spec, manifest: try fx.manifest(), to: signedAtWrite)
        let writeSeconds = Date().timeIntervalSince(start)
        let later = "\(dir)/b.deb"
        start = Date()
        _ = try DebWriter(dataCompression: .none).write(spec: spec, manifest: try fx.manifest(), to: later)
        let unsignedSeconds = Date().timeIntervalSince(start)
        start = Date()
        try DebSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer())
        let signSeconds = Date().timeIntervalSince(start)
        let rssAfter = maxRSS()
        print("large deb: \(size >> 20) MiB data.tar; signed write \(String(format: "%.1f", writeSeconds)) s, unsigned write \(String(format: "%.1f", unsignedSeconds)) s, sign afterwards \(String(format: "%.1f", signSeconds)) s; max RSS \(rssBefore) -> \(rssAfter) MiB")
        XCTAssertLessThan(rssAfter - rssBefore, 256, "signing must stream, not hold data.tar")
        XCTAssertEqual(try FileDigest.sha256Hex(path: later), try FileDigest.sha256Hex(path: signedAtWrite))
        XCTAssertEqual(try debsigVerify(later, policyKey: key).status, 0)
    }

    /// lintian (2.116, Debian vendor) knows no extra members and calls any one an error, as it does
    /// for every debsigs-signed package: the signature adds exactly that and nothing else.
    func testLintianSeesOnlyTheSignatureMember() throws {
        try requireTool("lintian")
        let key = try key("ed25519")
        let dir = try tempDir()
        let unsigned = try buildDeb(in: dir, name: "u.deb", signer: nil)
        let signed = try buildDeb(in: dir, name: "s.deb", signer: try key.signer())
        func tags(_ deb: String) throws -> Set<String> {
            let out = try Tool.run(["lintian", "--allow-root", "--no-tag-display-limit", deb]).stdout
            return Set(out.split(separator: "\n").map { line in
                // Drop the file name lintian puts in some hints, so both packages compare.
                line.replacingOccurrences(of: (deb as NSString).lastPathComponent, with: "DEB")
            })
        }
        let added = try tags(signed).subtracting(try tags(unsigned))
        XCTAssertEqual(added, ["E: hello-pkglayer: misplaced-extra-member-in-deb _gpgorigin (unexpected _member at position 3)"])
    }
}

extension TestSigningKey {
    func signer(creationTime: Int64 = DebSigningTests.epoch) throws -> any PackageSigner {
        try SigningKeyLoader.load(reference: secretKeyFile, passphrase: nil, gnupgHome: nil, creationTime: creationTime)
    }
}
