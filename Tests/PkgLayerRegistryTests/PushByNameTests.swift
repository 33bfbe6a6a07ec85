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

        // A recipe's image file names the registry image as its base: pulled through the store.
        let fresh = env.merging(["PKGLAYER_CACHE": scratch.path("cache-fresh")]) { _, new in new }
        _ = try scratch.write("app-tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", scratch.path("app-tree"),
                                              "-p", scratch.path("img/"), "."], environment: fresh)
        let file = try scratch.write("img/app.yml", "name: app\ntag: \"1\"\nbase: \(server.host)/web/hello:1\npackages: [./app_1.0_amd64.deb]\n")
        let built = try TestProcess.run(pkglayer, ["image", file, "-o", scratch.path("img-out")] + tls, environment: fresh)
        XCTAssertEqual(built.status, 0, built.stderrText)
        XCTAssertTrue(built.stderrText.contains("pulled the base \(server.host)/web/hello:1"), built.stderrText)
        let baseLayers = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("cache/images")):hello:1"])
            .stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        let appLayers = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("img-out/app-1.oci")):1"])
            .stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        XCTAssertEqual(Array(appLayers.prefix(baseLayers.count)), baseLayers, "the registry image is the base")
        let short = try scratch.write("img/short.yml", "name: short\nbase: debian:12\npackages: [./app_1.0_amd64.deb]\n")
        let refusedShort = try TestProcess.run(pkglayer, ["image", short, "-o", scratch.path("img-out2")] + tls, environment: fresh)
        XCTAssertEqual(refusedShort.status, 1)
        XCTAssertTrue(refusedShort.stderrText.contains("assumes no default registry") && refusedShort.stderrText.contains("docker.io/library/debian:12"),
                      refusedShort.stderrText)

        let unknown = try TestProcess.run(pkglayer, ["push", "nothere:1", "\(server.host)/web/x:1"] + tls, environment: env)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderrText.contains("nothere:1") && unknown.stderrText.contains("hello:1"), unknown.stderrText)
    }
}
