import CRPM
import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// rpm header signatures, written by the rpm writer (`RPMWriter.signer`) and by
/// `RPMSigning.sign(fileAt:with:)`, judged by the real rpm 4.18: `rpm -K`/`-Kv` with the key imported into
/// a temp rpmdb (OK), without it (NOKEY) and after tampering (BAD), `rpm -i --root` of the signed
/// package, rpmlint, and a comparison with the layout `rpmsign --addsign` produces.
final class RPMSigningTests: XCTestCase {
    static let epoch: Int64 = 1_700_000_000

    /// The key: made by gpg in its own home (kept for rpmsign), secret key file and armored public key.
    typealias TestKey = TestSigningKey

    /// One key per algorithm for the whole class.
    private static let keys = TestSigningKeys()
    private func key(_ algorithm: String) throws -> TestKey { try Self.keys.key(algorithm) }

    override class func tearDown() {
        keys.removeAll()
        super.tearDown()
    }

    private var scratch: [AnyObject] = []

    override func tearDown() {
        scratch = []
        super.tearDown()
    }

    private func tempDir() throws -> String {
        let dir = try ScratchDirectory(prefix: "pkglayer-rpmsign")
        scratch.append(dir)
        return dir.path
    }

    /// A small package (one file, one config file, a directory) for this test's checks.
    private func buildRPM(in dir: String, name: String = "hello.rpm", signer: (any PackageSigner)? = nil,
                          compression: Compression = .gzip(level: 6)) throws -> String {
        let fixture = try Fixture()
        scratch.append(fixture)
        try fixture.file("/usr/bin/hello", "#!/bin/sh\necho hello\n", mode: 0o755)
        try fixture.file("/etc/hello.conf", "greeting = hello\n", flags: [.config, .noReplace])
        try fixture.file("/usr/share/hello/README", "Hello.\n")
        fixture.directory("/usr/share/hello")
        return try writePackage(Specs.hello(), try fixture.manifest(), in: dir, compression: compression, name: name) { $0.signer = signer }
    }

    /// A fresh rpmdb with `keys` imported; returns its path.
    private func keyring(_ keys: TestKey...) throws -> String {
        let db = try tempDir()
        for key in keys { try Tool.check(["rpm", "--dbpath", db, "--import", key.armored]) }
        return db
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    private func copy(_ path: String, to target: String) throws -> String {
        try FileManager.default.copyItem(atPath: path, toPath: target)
        return target
    }

    private func pgpsig(_ pkg: String) throws -> (rsa: String, dsa: String) {
        let out = try Tool.query(pkg, "%{RSAHEADER:pgpsig}\n%{DSAHEADER:pgpsig}\n").split(separator: "\n").map(String.init)
        return (out[0], out[1])
    }

    // MARK: - rpm -K

    /// Both key types: signing keeps the file size, changes only the signature header, and rpm 4.18
    /// says "digests signatures OK" and names the algorithm and key id; pkglayer's own reader agrees.
    func testRpmVerifiesRSAAndEd25519SignaturesAndTheSizeStaysTheSame() throws {
        try requireTool("rpm")
        for (algorithm, rpmName, tagName) in [("rsa2048", "RSA", "RSAHEADER"), ("ed25519", "EdDSA", "DSAHEADER")] {
            let key = try key(algorithm)
            let dir = try tempDir()
            let pkg = try buildRPM(in: dir)
            let unsigned = try bytes(pkg)
            XCTAssertNil(try RPMSigning.signatureInfo(fileAt: URL(fileURLWithPath: pkg)))

            let signer = try key.signer()
            let result = try RPMSigning.sign(fileAt: URL(fileURLWithPath: pkg), with: signer)
            let signed = try bytes(pkg)
            XCTAssertEqual(signed.count, unsigned.count, algorithm)
            XCTAssertEqual(result.size, UInt64(unsigned.count))
            XCTAssertFalse(result.unchanged)
            XCTAssertFalse(result.grewSignatureHeader)
            XCTAssertEqual(result.replaced, [])
            XCTAssertEqual(result.signature.keyID, key.keyID)
            XCTAssertEqual(result.signature.algorithm, rpmName)
            XCTAssertEqual(result.signature.hashAlgorithm, "SHA256")
            XCTAssertEqual(result.signature.creationTime, signer.creationTime)
            XCTAssertEqual(result.signature.tag, tagName)
            XCTAssertEqual(result.signature.description, key.rpmDescription(rpmName))
            XCTAssertEqual(try RPMSigning.signatureInfo(fileAt: URL(fileURLWithPath: pkg)), result.signature)
            XCTAssertEqual(try RPMSigning.verify(fileAt: URL(fileURLWithPath: pkg), armoredPublicKey: String(contentsOfFile: key.armored, encoding: .utf8)),
                           result.signature)

            // Only the signature header changed: the lead, the main header and the payload are where they were.
            let file = try RPMRawLayout(path: pkg)
            XCTAssertEqual(signed.prefix(RPMLead.size), unsigned.prefix(RPMLead.size))
            XCTAssertEqual(signed.suffix(from: Int(file.headerOffset)), unsigned.suffix(from: Int(file.headerOffset)))
            XCTAssertNotEqual(signed, unsigned)

            let db = try keyring(key)
            let check = try Tool.run(["rpm", "--dbpath", db, "-K", pkg])
            XCTAssertEqual(check.status, 0, check.text)
            XCTAssertTrue(check.stdout.contains("digests signatures OK"), check.text)
            let verbose = try Tool.run(["rpm", "--dbpath", db, "-Kv", pkg])
            XCTAssertEqual(verbose.status, 0, verbose.text)
            XCTAssertTrue(verbose.stdout.contains("Header \(key.rpmDescription(rpmName)): OK"), verbose.text)
            XCTAssertTrue(verbose.stdout.contains("Header SHA256 digest: OK"), verbose.text)
            XCTAssertTrue(verbose.stdout.contains("Payload SHA256 digest: OK"), verbose.text)
            let sig = try pgpsig(pkg)
            XCTAssertTrue((rpmName == "RSA" ? sig.rsa : sig.dsa).contains("Key ID \(key.keyID.suffix(16).lowercased())"), "\(sig)")
            XCTAssertEqual(rpmName == "RSA" ? sig.dsa : sig.rsa, "(none)")
            // pkglayer's own reader still reads and checks the signed package.
            XCTAssertEqual(try RPMReader().read(path: pkg).spec.name, "hello")
        }
    }

    /// Without the key in the rpmdb rpm cannot check the signature: NOKEY and a non-zero exit.
    func testWithoutTheKeyRpmSaysNOKEY() throws {
        try requireTool("rpm")
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let pkg = try buildRPM(in: try tempDir(), signer: try key.signer())
            let result = try Tool.run(["rpm", "--dbpath", try keyring(), "-Kv", pkg])
            XCTAssertNotEqual(result.status, 0, result.text)
            XCTAssertTrue(result.stdout.contains("key ID \(key.keyID.suffix(8).lowercased()): NOKEY"), result.text)
            // Another key does not help either.
            let other = try self.key(algorithm == "ed25519" ? "rsa2048" : "ed25519")
            let wrong = try Tool.run(["rpm", "--dbpath", try keyring(other), "-K", pkg])
            XCTAssertNotEqual(wrong.status, 0, wrong.text)
            XCTAssertThrowsError(try RPMSigning.verify(fileAt: URL(fileURLWithPath: pkg),
                                                       armoredPublicKey: String(contentsOfFile: other.armored, encoding: .utf8))) { error in
                XCTAssertTrue("\(error)".contains("NOKEY"), "\(error)")
            }
        }
    }

    /// One byte changed in the signed header (the summary) and rpm says BAD; pkglayer's verify and sign
    /// refuse the file too.
    func testATamperedHeaderIsBAD() throws {
        try requireTool("rpm")
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let pkg = try buildRPM(in: try tempDir(), signer: try key.signer())
            var data = try bytes(pkg)
            let range = try XCTUnwrap(data.range(of: Data("Says hello".utf8)))
            data[range.lowerBound] = UInt8(ascii: "D")
            try data.write(to: URL(fileURLWithPath: pkg))
            let summary = try Tool.run(["rpm", "-qp", "--nodigest", "--nosignature", "--qf", "%{SUMMARY}", pkg])
            XCTAssertEqual(summary.stdout, "Days hello", summary.text)

            let result = try Tool.run(["rpm", "--dbpath", try keyring(key), "-Kv", pkg])
            XCTAssertNotEqual(result.status, 0, result.text)
            XCTAssertTrue(result.stdout.contains("Header \(key.rpmDescription(algorithm == "rsa2048" ? "RSA" : "EdDSA")): BAD"), result.text)
            XCTAssertThrowsError(try RPMSigning.verify(fileAt: URL(fileURLWithPath: pkg),
                                                       armoredPublicKey: String(contentsOfFile: key.armored, encoding: .utf8)))
            XCTAssertThrowsError(try RPMSigning.sign(fileAt: URL(fileURLWithPath: pkg), with: try key.signer())) { error in
                XCTAssertTrue("\(error)".contains("SHA256 digest does not match"), "\(error)")
            }
            XCTAssertEqual(try bytes(pkg), data, "a refused file stays as it was")
        }
    }

    /// Only the signature changes a signed header's verdict: a tampered signature is BAD as well.
    func testATamperedSignatureIsBAD() throws {
        try requireTool("rpm")
        let key = try key("ed25519")
        let pkg = try buildRPM(in: try tempDir(), signer: try key.signer())
        let packet = try XCTUnwrap(try RPMRawLayout(path: pkg).signatureHeader().binary(tag(RPMSIGTAG_DSA)))
        var data = try bytes(pkg)
        let range = try XCTUnwrap(data.range(of: Data(packet)))
        data[range.upperBound - 5] ^= 0x01   // inside the signature's MPIs
        try data.write(to: URL(fileURLWithPath: pkg))
        let result = try Tool.run(["rpm", "--dbpath", try keyring(key), "-K", pkg])
        XCTAssertNotEqual(result.status, 0, result.text)
    }

    // MARK: - Installing

    /// rpm installs the signed package into a test root whose rpmdb holds the key, checking the signature
    /// as it reads the package (`%_pkgverify_level signature`).
    func testASignedPackageInstallsWithTheKeyImported() throws {
        try requireTool("rpm", "dash")
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let pkg = try buildRPM(in: try tempDir(), signer: try key.signer())
            let root = try InstallRoot()
            scratch.append(root)
            try root.rpm(["--import", key.armored])
            let install = try root.rpm(["-i", "--nodeps", "--define", "_pkgverify_level signature", pkg])
            XCTAssertFalse(install.text.contains("NOKEY"), install.text)
            XCTAssertEqual(try root.read("/usr/bin/hello"), "#!/bin/sh\necho hello\n")
            let installed = try root.rpm(["-q", "--qf", "%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}", "hello"]).stdout
            XCTAssertTrue(installed.contains("Key ID \(key.keyID.lowercased())"), installed)
        }
    }

    /// The same check refuses the package when the key is not there.
    func testASignedPackageDoesNotInstallWithoutTheKeyWhenSignaturesAreRequired() throws {
        try requireTool("rpm", "dash")
        let pkg = try buildRPM(in: try tempDir(), signer: try key("ed25519").signer())
        let root = try InstallRoot()
        scratch.append(root)
        let result = try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-i", "--nodeps",
                                   "--define", "_pkgverify_level signature", pkg])
        XCTAssertNotEqual(result.status, 0, result.text)
        XCTAssertFalse(root.exists("/usr/bin/hello"))
    }

    // MARK: - Determinism

    /// Signing twice gives the same bytes (the second time writes nothing); signing while writing gives the
    /// same bytes as signing afterwards, in another directory.
    func testSigningIsDeterministicWhetherWhileWritingOrAfterwards() throws {
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let direct = try buildRPM(in: try tempDir(), signer: try key.signer())
            let later = try buildRPM(in: try tempDir())
            let first = try RPMSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer())
            XCTAssertEqual(try bytes(direct), try bytes(later), algorithm)
            let info = try XCTUnwrap(try RPMSigning.signatureInfo(fileAt: URL(fileURLWithPath: direct)))
            XCTAssertEqual(info, first.signature)

            let again = try RPMSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer())
            XCTAssertTrue(again.unchanged)
            XCTAssertEqual(try bytes(direct), try bytes(later))

            // Another creation time is another signature, still the same size.
            let time = try key.signer().creationTime
            let other = try RPMSigning.sign(fileAt: URL(fileURLWithPath: later), with: try key.signer(creationTime: time + 86_400))
            XCTAssertFalse(other.unchanged)
            XCTAssertEqual(other.signature.creationTime, time + 86_400)
            XCTAssertEqual(other.replaced.map(\.creationTime), [time])
            XCTAssertNotEqual(try bytes(direct), try bytes(later))
            XCTAssertEqual(try bytes(direct).count, try bytes(later).count)
        }
    }

    /// Each compression: the writer's signature lands in the same place and verifies.
    func testSignedWhileWritingWithEveryCompression() throws {
        try requireTool("rpm")
        let key = try key("ed25519")
        let db = try keyring(key)
        let dir = try tempDir()
        for compression in [Compression.gzip(level: 6), .xz(level: 6), .zstd(level: 3), .none] {
            let pkg = try buildRPM(in: dir, name: "hello-\(compression).rpm", signer: try key.signer(), compression: compression)
            let result = try Tool.run(["rpm", "--dbpath", db, "-K", pkg])
            XCTAssertEqual(result.status, 0, "\(compression): \(result.text)")
            XCTAssertTrue(result.stdout.contains("digests signatures OK"), result.text)
        }
    }

    // MARK: - Replacing

    /// Re-signing with another key replaces the signature (rpmsign removes every old signature too), and
    /// going back to the first key gives the bytes of signing the unsigned package with it.
    func testResigningWithAnotherKeyReplacesTheSignature() throws {
        try requireTool("rpm")
        let rsa = try key("rsa2048"), ed = try key("ed25519")
        let pkg = try buildRPM(in: try tempDir(), signer: try rsa.signer())
        let rsaSigned = try bytes(pkg)
        let size = rsaSigned.count

        let result = try RPMSigning.sign(fileAt: URL(fileURLWithPath: pkg), with: try ed.signer())
        XCTAssertEqual(result.replaced.map(\.keyID), [rsa.keyID])
        XCTAssertEqual(result.signature.keyID, ed.keyID)
        XCTAssertEqual(try bytes(pkg).count, size)
        let sig = try pgpsig(pkg)
        XCTAssertEqual(sig.rsa, "(none)")
        XCTAssertTrue(sig.dsa.contains(ed.keyID.lowercased()), sig.dsa)
        // Only the new key is needed now.
        let check = try Tool.run(["rpm", "--dbpath", try keyring(ed), "-K", pkg])
        XCTAssertEqual(check.status, 0, check.text)
        XCTAssertNotEqual(try Tool.run(["rpm", "--dbpath", try keyring(rsa), "-K", pkg]).status, 0)

        let edSignedFresh = try buildRPM(in: try tempDir(), signer: try ed.signer())
        XCTAssertEqual(try bytes(pkg), try bytes(edSignedFresh))
        try RPMSigning.sign(fileAt: URL(fileURLWithPath: pkg), with: try rsa.signer())
        XCTAssertEqual(try bytes(pkg), rsaSigned)
    }

    /// rpmsign's own signature is replaced the same way, and the layout pkglayer writes is rpmsign's:
    /// the same tags in the same order, the same header size, the same file size.
    func testTheLayoutMatchesRpmsignAndReplacesItsSignature() throws {
        try requireTool("rpm", "rpmsign", "gpg")
        for algorithm in ["rsa2048", "ed25519"] {
            let key = try key(algorithm)
            let dir = try tempDir()
            let ours = try buildRPM(in: dir, name: "ours.rpm")
            let theirs = try copy(ours, to: dir + "/theirs.rpm")
            try Tool.check(["rpmsign", "--define", "__gpg \(try Tool.locate("gpg"))", "--define", "_gpg_name \(key.keyID)",
                            "--define", "_gpg_digest_algo sha256", "--addsign", theirs], environment: ["GNUPGHOME": key.home])
            try RPMSigning.sign(fileAt: URL(fileURLWithPath: ours), with: try key.signer())

            func layout(_ path: String) throws -> [(tag: UInt32, type: UInt32)] {
                let sig = try RPMRawLayout(path: path).signature
                let count = Int(UInt32(bigEndianBytes: sig[8..<12]))
                return (0..<count).map { i in
                    let entry = sig[16 + 16 * i ..< 32 + 16 * i]
                    return (UInt32(bigEndianBytes: entry.prefix(4)), UInt32(bigEndianBytes: entry.dropFirst(4).prefix(4)))
                }
            }
            let (a, b) = (try layout(ours), try layout(theirs))
            XCTAssertEqual(a.map(\.tag), b.map(\.tag), algorithm)
            XCTAssertEqual(a.map(\.type), b.map(\.type), algorithm)
            XCTAssertEqual(try RPMRawLayout(path: ours).signature.count, try RPMRawLayout(path: theirs).signature.count)
            XCTAssertEqual(try bytes(ours).count, try bytes(theirs).count)
            let theirInfo = try XCTUnwrap(try RPMSigning.signatureInfo(fileAt: URL(fileURLWithPath: theirs)))
            XCTAssertEqual(theirInfo.keyID, key.keyID)
            XCTAssertEqual(theirInfo.tag, algorithm == "rsa2048" ? "RSAHEADER" : "DSAHEADER")

            // Re-signing rpmsign's package with pkglayer gives exactly pkglayer's bytes.
            let replaced = try RPMSigning.sign(fileAt: URL(fileURLWithPath: theirs), with: try key.signer())
            XCTAssertEqual(replaced.replaced.map(\.keyID), [key.keyID])
            XCTAssertEqual(try bytes(ours), try bytes(theirs))
            // And rpmsign accepts pkglayer's package to re-sign it.
            try Tool.check(["rpmsign", "--define", "__gpg \(try Tool.locate("gpg"))", "--define", "_gpg_name \(key.keyID)",
                            "--define", "_gpg_digest_algo sha256", "--addsign", ours], environment: ["GNUPGHOME": key.home])
            let check = try Tool.run(["rpm", "--dbpath", try keyring(key), "-K", ours])
            XCTAssertEqual(check.status, 0, check.text)
        }
    }

    // MARK: - Without reserved space

    /// A package whose signature header has no room left (no RESERVEDSPACE, or too little): the header
    /// grows, the whole file is rewritten, and rpm still verifies it.
    func testWithoutReservedSpaceTheSignatureHeaderGrows() throws {
        try requireTool("rpm")
        let key = try key("rsa2048")
        for reserved in [nil, 16] as [Int?] {
            let pkg = try buildRPM(in: try tempDir())
            try replaceReservedSpace(in: pkg, with: reserved)
            let before = try bytes(pkg).count
            XCTAssertEqual(try Tool.run(["rpm", "--dbpath", try keyring(), "-K", pkg]).status, 0)

            let result = try RPMSigning.sign(fileAt: URL(fileURLWithPath: pkg), with: try key.signer())
            XCTAssertTrue(result.grewSignatureHeader)
            XCTAssertGreaterThan(result.size, UInt64(before))
            XCTAssertEqual(result.size, UInt64(try bytes(pkg).count))
            let check = try Tool.run(["rpm", "--dbpath", try keyring(key), "-Kv", pkg])
            XCTAssertEqual(check.status, 0, check.text)
            XCTAssertTrue(check.stdout.contains("Header \(key.rpmDescription("RSA")): OK"), check.text)
            XCTAssertTrue(check.stdout.contains("MD5 digest: OK"), check.text)
            XCTAssertEqual(try RPMReader().read(path: pkg).spec.name, "hello")   // checks the payload digests too
            let reservedAfter = try RPMRawLayout(path: pkg).signatureHeader().binary(tag(RPMSIGTAG_RESERVEDSPACE))?.count
            XCTAssertEqual(reservedAfter, reserved)
        }
    }

    /// Rewrites a package's signature header with RESERVEDSPACE removed (nil) or set to `size` bytes.
    private func replaceReservedSpace(in pkg: String, with size: Int?) throws {
        let file = try RPMRawLayout(path: pkg)
        let old = try file.signatureHeader()
        let fresh = RPMHeader()
        try old.forEachEntry { td in
            guard td.pointee.tag != Int32(tag(RPMSIGTAG_RESERVEDSPACE)) else { return }
            XCTAssertEqual(headerPut(fresh.raw, td, headerPutFlags(HEADERPUT_DEFAULT.rawValue)), 1)
        }
        if let size {
            let zeros = [UInt8](repeating: 0, count: size)
            try zeros.withUnsafeBytes { try fresh.putRaw(tag(RPMSIGTAG_RESERVEDSPACE), type: RPM_BIN_TYPE, count: size, $0.baseAddress!) }
        }
        try fresh.reload(region: tag(RPMTAG_HEADERSIGNATURES))
        var bytes = try fresh.exportWithMagic()
        bytes += [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        _ = try file.rewrite(signature: bytes)
    }

    // MARK: - Refusals and leftovers

    /// Anything that is not an rpm is refused with an error naming it, and left as it was.
    func testRefusesWhatIsNotAnRpm() throws {
        let dir = try tempDir()
        let key = try key("ed25519")
        for (name, content) in [("notes.txt", Data("hello\n".utf8)), ("empty.rpm", Data()),
                                ("fake.rpm", Data([0xED, 0xAB, 0xEE, 0xDB] + [UInt8](repeating: 0, count: 20)))] {
            let path = dir + "/" + name
            try content.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try RPMSigning.sign(fileAt: URL(fileURLWithPath: path), with: try key.signer())) { error in
                let error = error as? PkgLayerError
                XCTAssertEqual(error?.code, .rpm, "\(String(describing: error))")
                XCTAssertEqual(error?.location, path)
                if name != "fake.rpm" { XCTAssertTrue(error?.message.contains("not an rpm package") == true, "\(String(describing: error))") }
            }
            XCTAssertEqual(try bytes(path), content)
        }
        XCTAssertThrowsError(try RPMSigning.sign(fileAt: URL(fileURLWithPath: dir), with: try key.signer()))
        XCTAssertThrowsError(try RPMSigning.sign(fileAt: URL(fileURLWithPath: dir + "/missing.rpm"), with: try key.signer()))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["empty.rpm", "fake.rpm", "notes.txt"])
    }

    /// Signing leaves no temporary file behind, keeps the permission bits, and signs through a symlink.
    func testSigningLeavesNothingBehindAndKeepsTheMode() throws {
        let key = try key("ed25519")
        let dir = try tempDir()
        let pkg = try buildRPM(in: dir, name: "hello.rpm")
        XCTAssertEqual(chmod(pkg, 0o640), 0)
        XCTAssertEqual(symlink("hello.rpm", dir + "/link.rpm"), 0)
        let result = try RPMSigning.sign(fileAt: URL(fileURLWithPath: dir + "/link.rpm"), with: try key.signer())
        XCTAssertEqual(result.path, pkg)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["hello.rpm", "link.rpm"])
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: pkg)[.posixPermissions] as? NSNumber)?.intValue, 0o640)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.rpm"), "hello.rpm")
        XCTAssertNotNil(try RPMSigning.signatureInfo(fileAt: URL(fileURLWithPath: pkg)))
    }

    // MARK: - rpmlint

    /// rpmlint's "no-signature" error goes away and nothing new appears. rpmlint runs `rpm -Kv` against
    /// the default rpmdb, which on Debian is `$HOME/.rpmdb`: HOME points at a temp dir holding the key
    /// (without it rpmlint says "unknown-key", rpm's NOKEY).
    func testRpmlintFindsNothingNewInASignedPackage() throws {
        try requireTool("rpmlint")
        let key = try key("rsa2048")
        let fixture = try Fixture()
        scratch.append(fixture)
        try fixture.file("/usr/bin/tidy", "#!/bin/sh\necho tidy\n", mode: 0o755)
        try fixture.file("/usr/share/man/man1/tidy.1", ".TH TIDY 1\n.SH NAME\ntidy \\- is tidy\n")
        try fixture.file("/usr/share/doc/tidy/README", "Tidy.\n")
        try fixture.file("/usr/share/licenses/tidy/LICENSE", "MIT License\n", flags: [.license])
        fixture.directory("/usr/share/doc/tidy")
        fixture.directory("/usr/share/licenses/tidy")
        var spec = PackageSpec(name: "tidy", version: "1.0", release: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        spec.summary = "A tidy example"
        spec.description = "An example package that rpmlint should find tidy."
        spec.license = "MIT"
        spec.url = "https://example.org/tidy"
        spec.section = "Applications/Text"
        spec.maintainer = "Jane Packager <jane@example.org>"
        let dir = try tempDir()
        let unsigned = try writePackage(spec, try fixture.manifest(), in: dir, name: "unsigned.rpm")
        let signed = try writePackage(spec, try fixture.manifest(), in: dir, name: "signed.rpm") { $0.signer = try? key.signer() }
        let home = try tempDir()
        try Tool.check(["rpm", "--import", key.armored], environment: ["HOME": home])
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/.rpmdb"))
        func findings(_ pkg: String) throws -> Set<String> {
            let result = try Tool.run(["rpmlint", pkg], environment: ["HOME": home])
            XCTAssertTrue(result.stdout.contains("1 packages and 0 specfiles checked"), "rpmlint did not run: \(result.text)")
            return Set(result.stdout.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: ": E: ") ?? line.range(of: ": W: ") else { return nil }
                return line[range.upperBound...].split(separator: " ").first.map(String.init)
            })
        }
        let before = try findings(unsigned), after = try findings(signed)
        XCTAssertTrue(before.contains("no-signature"), "\(before)")
        XCTAssertEqual(after, before.subtracting(["no-signature"]))
    }
}

extension TestSigningKey {
    /// The signer loads with SOURCE_DATE_EPOCH (`RPMSigningTests.epoch`) by default. The key is younger,
    /// so the signer raises that to the key's own creation time (gpg and rpm reject a signature older
    /// than its key); tests compare against the signer's `creationTime`, never the clock.
    func signer(creationTime: Int64 = RPMSigningTests.epoch) throws -> any PackageSigner {
        try SigningKeyLoader.load(reference: secretKeyFile, passphrase: nil, gnupgHome: nil, creationTime: creationTime)
    }

    /// What `rpm -Kv` prints for a signature by this key: "V4 RSA/SHA256 Signature, key ID 0123abcd".
    func rpmDescription(_ algorithm: String) -> String {
        "V4 \(algorithm)/SHA256 Signature, key ID \(keyID.suffix(8).lowercased())"
    }
}
