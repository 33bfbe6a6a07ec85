import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// `pkglayer login`, `push` and `pull` as a user runs them, against the real registry.
final class RegistryCLITests: XCTestCase {
    static var binary: String {
        let bundleDir = Bundle.main.bundleURL
        for candidate in [bundleDir.appendingPathComponent("pkglayer"), bundleDir.deletingLastPathComponent().appendingPathComponent("pkglayer")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        return bundleDir.appendingPathComponent("pkglayer").path
    }

    func testLoginPushPullAndNoSecretInLogs() throws {
        try requireTool("skopeo")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        let home = try fixture.scratch.makeDirectory("docker")
        let env = ["DOCKER_CONFIG": home, "PKGLAYER_CACHE": fixture.scratch.path("cache")]
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]

        // A wrong password: refused, nothing stored, the secret in no output even with --debug.
        let wrong = "wrong-\(UInt32.random(in: 1000...9999))"
        let refused = try TestProcess.run(Self.binary, ["login", server.host, "-u", RegistryServer.username, "--password-stdin", "--debug"] + tls,
                                          environment: env, stdin: Data("\(wrong)\n".utf8))
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("UNAUTHORIZED"), refused.stderrText)
        XCTAssertFalse(refused.stderrText.contains(wrong) || refused.stdoutText.contains(wrong), refused.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(home)/config.json"))

        let login = try TestProcess.run(Self.binary, ["login", server.host, "-u", RegistryServer.username, "--password-stdin", "--debug"] + tls,
                                        environment: env, stdin: Data("\(RegistryServer.password)\n".utf8))
        XCTAssertEqual(login.status, 0, login.stderrText)
        XCTAssertFalse((login.stderrText + login.stdoutText).contains(RegistryServer.password))
        var info = stat()
        XCTAssertEqual(stat("\(home)/config.json", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        // skopeo reads the same file docker would.
        try TestProcess.runChecked("skopeo", ["login", "--get-login", "--authfile", "\(home)/config.json", server.host])

        let reference = "\(server.host)/cli/app:1.0"
        let push = try TestProcess.run(Self.binary, ["push", "oci:\(fixture.layout):\(TestImageFixture.tag)", reference, "--debug"] + tls, environment: env)
        XCTAssertEqual(push.status, 0, push.stderrText)
        XCTAssertEqual(push.stdoutText, "\(reference)@\(fixture.image.manifest.digest)\n")
        XCTAssertFalse(push.stderrText.contains(RegistryServer.password))
        XCTAssertFalse(push.stderrText.contains(Data("\(RegistryServer.username):\(RegistryServer.password)".utf8).base64EncodedString()))
        XCTAssertTrue(push.stderrText.contains("\(fixture.blobCount) blobs uploaded"), push.stderrText)

        let again = try TestProcess.run(Self.binary, ["push", "oci:\(fixture.layout)", reference, "--progress"] + tls, environment: env)
        XCTAssertEqual(again.status, 0, again.stderrText)
        XCTAssertTrue(again.stderrText.contains("0 blobs uploaded (0 bytes)"), again.stderrText)
        XCTAssertTrue(again.stderrText.contains("exists, skipped"), again.stderrText)

        // The same image as an oci-archive (tar) pushes to the same digest.
        let archive = fixture.scratch.path("image.oci.tar")
        try OCIArchiveWriter.write([TaggedImage(fixture.image, tag: "1.0")], from: fixture.store, to: archive, epoch: SourceDateEpoch(1_700_000_000))
        let fromArchive = try TestProcess.run(Self.binary, ["push", "oci-archive:\(archive):1.0", "\(server.host)/cli/archive:1.0"] + tls, environment: env)
        XCTAssertEqual(fromArchive.status, 0, fromArchive.stderrText)
        XCTAssertEqual(fromArchive.stdoutText, "\(server.host)/cli/archive:1.0@\(fixture.image.manifest.digest)\n")
        // The first push left where its blobs are; this one mounted them from cli/app.
        XCTAssertTrue(fromArchive.stderrText.contains("0 blobs uploaded (0 bytes), 0 already there, \(fixture.blobCount) mounted"), fromArchive.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.scratch.path("cache/registry-blobs.json")))

        let out = fixture.scratch.path("pulled")
        let pull = try TestProcess.run(Self.binary, ["pull", reference, "--output", "oci:\(out):copy"] + tls, environment: env)
        XCTAssertEqual(pull.status, 0, pull.stderrText)
        XCTAssertEqual(pull.stdoutText, "oci:\(out):copy \(fixture.image.manifest.digest)\n")
        XCTAssertEqual(try OCILayoutReader(path: out).manifest(tagged: "copy")?.digest, fixture.image.manifest.digest)

        // Without the CA: the TLS error, exit 1.
        let untrusted = try TestProcess.run(Self.binary, ["push", "oci:\(fixture.layout)", reference, "--certs-dir", server.scratch.path("none")], environment: env)
        XCTAssertEqual(untrusted.status, 1)
        XCTAssertTrue(untrusted.stderrText.contains("TLS failed"), untrusted.stderrText)
        // A bad source is a usage error naming it.
        let bad = try TestProcess.run(Self.binary, ["push", "docker://x", reference], environment: env)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderrText.contains("oci:PATH[:TAG]"), bad.stderrText)
    }
}
