import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer build recipes/nginx.yml` as shipped: packages, then the image with nginx's runtime closure
/// resolved from the host's apt sources (served from a loopback mirror with Debian's real signatures),
/// run by runc, answering an HTTP GET on 127.0.0.1.
final class NginxImageTests: XCTestCase {
    func testTheNginxRecipeImageServesItsPageUnderRunc() throws {
        try requireTool("runc", "umoci", "skopeo", "oci-image-tool", "dpkg-query", "cc", "make", "bwrap", "curl")
        try requireCondition(HostAptMirror.debDirectories.contains(where: { FileManager.default.fileExists(atPath: $0) }),
                             "the Debian packages this test serves on loopback are missing from \(HostAptMirror.debDirectories.joined(separator: " and ")): run scripts/install-deps.sh (it downloads them)")
        try requireFixture(BuildFixtures.sharedSources + "/nginx-1.22.1.tar.gz", what: "nginx's source tarball in ../shared/sources",
                           fix: "put the shared source tarballs in <repo>/../shared/sources")
        let scratch = try ScratchDirectory(prefix: "pkglayer-nginx-image")
        let mirror = try HostAptMirror(root: scratch.path("mirror"))
        defer { mirror.stop() }
        let env = ["PKGLAYER_CACHE": scratch.path("cache"), "PKGLAYER_APT_MIRROR": mirror.mirrorEnvironment]
        let out = scratch.path("out")
        let built = try CLI.run(["build", BuildFixtures.recipe("nginx.yml"), "-o", out, "--sources", BuildFixtures.sharedSources],
                                environment: env)
        XCTAssertEqual(built.status, 0, built.stderrText)
        let layout = "\(out)/nginx-1.22.1.oci"
        XCTAssertTrue(built.stdoutText.contains(layout), built.stdoutText)
        XCTAssertTrue(mirror.server.requests.contains { $0.hasSuffix("/dists/bookworm/InRelease") }, "\(mirror.server.requests)")

        // The real consumers read all three outputs.
        let validate = try TestProcess.run("oci-image-tool", ["validate", "--type", "image", layout])
        XCTAssertTrue(validate.succeeded, validate.stderrText + validate.stdoutText)
        for reference in ["oci:\(layout):1.22.1", "oci-archive:\(out)/nginx-1.22.1.oci.tar:1.22.1", "docker-archive:\(out)/nginx-1.22.1.docker.tar"] {
            let inspect = try TestProcess.run("skopeo", ["inspect", "--config", reference])
            XCTAssertTrue(inspect.succeeded, "\(reference): \(inspect.stderrText)")
            let history = ((try? JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any])?["history"] as? [[String: Any]]) ?? []
            XCTAssertTrue(history.contains { ($0["created_by"] as? String)?.hasPrefix("pkglayer: libssl3 ") == true }, "\(reference): \(history)")
            XCTAssertTrue(history.contains { ($0["created_by"] as? String) == "pkglayer: nginx 1.22.1-1 (deb)" }, "\(reference): \(history)")
            // Dependency order, bottom first: libc6 below libssl3 below nginx (a library below what needs it).
            let made = history.compactMap { $0["created_by"] as? String }
            let position = { (name: String) in made.firstIndex { $0.hasPrefix("pkglayer: \(name) ") } ?? -1 }
            XCTAssertTrue(position("libc6") >= 0 && position("libc6") < position("libssl3") && position("libssl3") < position("nginx"),
                          "\(reference): \(made)")
        }
        let lock = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/nginx.lock.json"))) as! [String: Any]
        let locked = (lock["packages"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(Set(locked), ["gcc-12-base", "libc6", "libcrypt1", "libgcc-s1", "libpcre2-8-0", "libssl3", "zlib1g"])

        // Inside: dpkg lists nginx and its closure; the nginx user comes from the recipe's accounts.
        let bundle = try RuncBundle.unpack(layout: layout, tag: "1.22.1", into: scratch.path("bundle"))
        let listed = try TestProcess.runChecked("dpkg-query", ["--admindir=\(bundle.rootfs)/var/lib/dpkg", "-W", "-f", "${Package}\n"])
        XCTAssertEqual(listed.stdoutText.split(separator: "\n").sorted(),
                       ["gcc-12-base", "libc6", "libcrypt1", "libgcc-s1", "libpcre2-8-0", "libssl3", "nginx", "zlib1g"])
        let passwd = try String(contentsOfFile: "\(bundle.rootfs)/etc/passwd", encoding: .utf8)
        XCTAssertTrue(passwd.contains("\nnginx:x:"), passwd)

        // Run it: Docker's capabilities, the host's network, nginx's own config on a free port.
        let port = try freePort()
        let conf = "\(bundle.rootfs)/etc/nginx/nginx.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        XCTAssertTrue(text.contains("listen       80;"))
        try text.replacingOccurrences(of: "listen       80;", with: "listen       127.0.0.1:\(port);").write(toFile: conf, atomically: true, encoding: .utf8)
        try bundle.configure(dockerCapabilities: true, hostNetwork: true)
        let container = try bundle.start()
        defer { container.stop() }
        var page = ""
        for _ in 0..<50 {
            if let got = try? TestProcess.run("curl", ["-sf", "http://127.0.0.1:\(port)/"]), got.succeeded { page = got.stdoutText; break }
            usleep(100_000)
        }
        XCTAssertTrue(page.contains("nginx, packaged and layered by pkglayer"), "GET / answered: \(page)")
        let ps = try TestProcess.run("runc", ["ps", container.id])
        XCTAssertTrue(ps.stdoutText.contains("nginx"), ps.stdoutText)

        // A second build: everything cached, the same image digest, the lockfile honoured.
        let again = try CLI.run(["build", BuildFixtures.recipe("nginx.yml"), "-o", scratch.path("out2"), "--sources", BuildFixtures.sharedSources,
                                 "--lockfile", "\(out)/nginx.lock.json", "--offline"], environment: env)
        XCTAssertEqual(again.status, 0, again.stderrText)
        let first = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(layout):1.22.1"]).stdoutText
        let second = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(scratch.path("out2"))/nginx-1.22.1.oci:1.22.1"]).stdoutText
        XCTAssertEqual(first, second)

        // A no-op build into the first output folder reads no index: the resolution it wrote is reused
        // (same digest); --refresh asks the repositories again.
        let requestsBefore = mirror.server.requests.count
        let noop = try CLI.run(["build", BuildFixtures.recipe("nginx.yml"), "-o", out, "--sources", BuildFixtures.sharedSources], environment: env)
        XCTAssertEqual(noop.status, 0, noop.stderrText)
        XCTAssertTrue(noop.stderrText.contains("reusing the resolution in \(out)/nginx.lock.json"), noop.stderrText)
        XCTAssertEqual(mirror.server.requests.count, requestsBefore, "a no-op build fetches nothing: \(mirror.server.requests.suffix(3))")
        XCTAssertEqual(try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(layout):1.22.1"]).stdoutText, first)
        let refreshed = try CLI.run(["build", BuildFixtures.recipe("nginx.yml"), "-o", out, "--sources", BuildFixtures.sharedSources, "--refresh"],
                                    environment: env)
        XCTAssertEqual(refreshed.status, 0, refreshed.stderrText)
        XCTAssertTrue(mirror.server.requests.dropFirst(requestsBefore).contains { $0.hasSuffix("/dists/bookworm/InRelease") },
                      "--refresh fetches the signed indexes again")
    }

    func freePort() throws -> Int {
        let out = try TestProcess.runChecked("python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        return Int(out.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))!
    }
}
