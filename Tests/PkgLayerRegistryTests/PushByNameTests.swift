import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer push NAME[:TAG] HOST/REPO:TAG` from the local store, and a bare layout path, as docker and
/// skopeo users type them; the registry serves the store's digest.
final class PushByNameTests: XCTestCase {
    func testAStoredImageIsPushedByItsName() throws {
        try requireTool("skopeo", "docker-registry", "htpasswd", "openssl", "tar")
        let server = try RegistryServer()
        let scratch = try ScratchDirectory(prefix: "pkglayer-push-name")
        let env = ["DOCKER_CONFIG": try scratch.makeDirectory("docker"), "PKGLAYER_CACHE": scratch.path("cache")]
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        let pkglayer = RegistryCLITests.binary
        try TestProcess.runChecked(pkglayer, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: env, stdin: Data("\(RegistryServer.password)\n".utf8))
        _ = try scratch.write("tree/etc/hello", "hello\n")
        try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "-cf", scratch.path("root.tar"),
                                           "-C", scratch.path("tree"), "."])
        let imported = try TestProcess.runChecked(pkglayer, ["import", scratch.path("root.tar"), "hello:1", "--json"], environment: env)
        let digest = try XCTUnwrap((try JSONSerialization.jsonObject(with: imported.stdout) as? [String: Any])?["digest"] as? String)
        func remote(_ reference: String) throws -> String {
            try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", server.certDirectory,
                                                  "--creds", "\(RegistryServer.username):\(RegistryServer.password)", "docker://\(reference)"])
                .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        let pushed = try TestProcess.run(pkglayer, ["push", "hello:1", "\(server.host)/web/hello:1"] + tls, environment: env)
        XCTAssertEqual(pushed.status, 0, pushed.stderrText)
        XCTAssertEqual(try remote("\(server.host)/web/hello:1"), digest)

        // A bare path to a layout is understood too.
        let layout = scratch.path("layout")
        try TestProcess.runChecked("skopeo", ["copy", "oci:\(scratch.path("cache/images")):hello:1", "oci:\(layout):v1"])
        let bare = try TestProcess.run(pkglayer, ["push", layout, "\(server.host)/web/bare:1"] + tls, environment: env)
        XCTAssertEqual(bare.status, 0, bare.stderrText)
        XCTAssertEqual(try remote("\(server.host)/web/bare:1"), digest)

        // pull without -o puts the image in the store under its registry name: images lists it, same digest.
        let pulled = try TestProcess.run(pkglayer, ["pull", "\(server.host)/web/bare:1"] + tls, environment: env)
        XCTAssertEqual(pulled.status, 0, pulled.stderrText)
        let listed = try JSONSerialization.jsonObject(with: try TestProcess.runChecked(pkglayer, ["images", "--json"], environment: env).stdout) as? [[String: Any]] ?? []
        XCTAssertTrue(listed.contains { $0["reference"] as? String == "\(server.host)/web/bare:1" && $0["digest"] as? String == digest }, "\(listed)")

        let unknown = try TestProcess.run(pkglayer, ["push", "nothere:1", "\(server.host)/web/x:1"] + tls, environment: env)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderrText.contains("nothere:1") && unknown.stderrText.contains("hello:1"), unknown.stderrText)
    }
}
