import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer image FILE --push REF` against the real registry, then the pushed image pulled back and
/// used as the base of another image.
final class ImagePushTests: XCTestCase {
    func testAnImageIsPushedWhenBuiltAndServesAsABaseOncePulled() throws {
        try requireTool("skopeo", "docker-registry", "htpasswd", "openssl")
        let server = try RegistryServer()
        let scratch = try ScratchDirectory(prefix: "pkglayer-image-push")
        let home = try scratch.makeDirectory("docker")
        let env = ["DOCKER_CONFIG": home, "PKGLAYER_CACHE": scratch.path("cache"), "SOURCE_DATE_EPOCH": "1700000000"]
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        let pkglayer = RegistryCLITests.binary
        try TestProcess.runChecked(pkglayer, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: env, stdin: Data("\(RegistryServer.password)\n".utf8))

        _ = try scratch.write("tree/usr/share/hello/greeting", "hello from the registry\n")
        let made = try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", "greeting", "-v", "1.0", "-C", scratch.path("tree"),
                                                         "-p", try scratch.makeDirectory("pkgs"), "."], environment: env)
        let deb = try XCTUnwrap(made.stdoutText.split(separator: "\n").last.map { String($0.split(separator: " ").last!) })
        let file = try scratch.write("app.yml", "name: app\ntag: \"1\"\npackages: [\(deb)]\n")
        let reference = "\(server.host)/team/app:1"
        let built = try TestProcess.run(pkglayer, ["image", file, "-o", scratch.path("out"), "--push", reference] + tls, environment: env)
        XCTAssertEqual(built.status, 0, built.stderrText)
        let local = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(scratch.path("out/app-1.oci")):1"]).stdoutText
        XCTAssertTrue(built.stdoutText.contains("\(reference)@\(local.trimmingCharacters(in: .whitespacesAndNewlines))"), built.stdoutText)
        let remote = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", server.certDirectory,
                                                           "--creds", "\(RegistryServer.username):\(RegistryServer.password)", "docker://\(reference)"])
        XCTAssertEqual(remote.stdoutText, local, "the registry serves the image pkglayer built")

        // Pulled back, it is the base of the next image.
        let pulled = scratch.path("pulled")
        try TestProcess.runChecked(pkglayer, ["pull", reference, "--output", "oci:\(pulled):1"] + tls, environment: env)
        _ = try scratch.write("tree2/usr/share/extra/file", "extra\n")
        let made2 = try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", "extra", "-v", "1.0", "-C", scratch.path("tree2"),
                                                          "-p", scratch.path("pkgs"), "."], environment: env)
        let deb2 = try XCTUnwrap(made2.stdoutText.split(separator: "\n").last.map { String($0.split(separator: " ").last!) })
        let file2 = try scratch.write("next.yml", "name: next\ntag: \"1\"\nbase: oci-layout:\(pulled):1\npackages: [\(deb2)]\n")
        try TestProcess.runChecked(pkglayer, ["image", file2, "-o", scratch.path("out2")], environment: env)
        let layers = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("out2/next-1.oci")):1"])
        let first = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("out/app-1.oci")):1"])
        let baseLayers = first.stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        let newLayers = layers.stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        XCTAssertEqual(newLayers.count, baseLayers.count + 2, "the base's layers, the package, the top layer")
        XCTAssertEqual(Array(newLayers.prefix(baseLayers.count)), baseLayers,
                       "the pulled image's layers are the new image's bottom layers")
    }
}
