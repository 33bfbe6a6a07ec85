import Foundation
import PkgLayerTestSupport
import XCTest

/// The seeds' LNMP pair as shipped recipes (issue 15): `recipes/php-fpm-slim.yml` and
/// `recipes/nginx-lnmp.yml` built from source into packages and images (their runtime closures from a
/// loopback mirror of the host's apt sources, with Debian's real signatures), both images unpacked by
/// umoci and run by runc in one network namespace — nginx joins php-fpm's, as
/// `docker run --net container:php` does — and nginx answering `GET /index.php` with the page's PHP
/// output. Both images come out with the same digests when built again.
final class LNMPTests: XCTestCase {
    func testSlimPhpFpmAndNginxLnmpImagesServeThePhpPageTogetherUnderRunc() throws {
        try requireTool("runc", "umoci", "skopeo", "oci-image-tool", "cc", "make", "strip", "bwrap", "curl", "nsenter")
        try requireCondition(HostAptMirror.debDirectories.contains(where: { FileManager.default.fileExists(atPath: $0) }),
                             "the Debian packages this test serves on loopback are missing from \(HostAptMirror.debDirectories.joined(separator: " and ")): run scripts/install-deps.sh (it downloads them)")
        for tarball in ["php-8.2.32.tar.xz", "nginx-1.22.1.tar.gz"] {
            try requireFixture(BuildFixtures.sharedSources + "/" + tarball, what: "\(tarball) in ../shared/sources",
                               fix: "put the shared source tarballs in <repo>/../shared/sources")
        }
        let scratch = try ScratchDirectory(prefix: "pkglayer-lnmp")
        let mirror = try HostAptMirror(root: scratch.path("mirror"))
        defer { mirror.stop() }
        let env = ["PKGLAYER_CACHE": scratch.path("cache"), "PKGLAYER_APT_MIRROR": mirror.mirrorEnvironment]

        // Build both: php-fpm-slim compiles PHP's core (a few minutes on 2 cores); nginx-lnmp builds
        // nginx.yml first (it requires that recipe) and adds its LNMP configuration and page.
        let out = scratch.path("out")
        let php = try build("php-fpm-slim.yml", output: out, environment: env)
        XCTAssertTrue(php.stdoutText.contains("\(out)/php-fpm-slim_8.2.32-1_amd64.deb"), php.stdoutText)
        XCTAssertTrue(php.stderrText.contains("php-fpm-slim: ==> step 2/3 'compile'"), php.stderrText)
        let nginx = try build("nginx-lnmp.yml", output: out, environment: env)
        XCTAssertTrue(nginx.stdoutText.contains("\(out)/nginx-lnmp_1.0-1_all.deb"), nginx.stdoutText)
        XCTAssertTrue(nginx.stderrText.contains("2 built, 0 from the cache"), nginx.stderrText)
        let phpLayout = "\(out)/php-fpm-slim-8.2.32.oci", nginxLayout = "\(out)/nginx-lnmp-1.22.1.oci"
        for layout in [phpLayout, nginxLayout] {
            let validate = try TestProcess.run("oci-image-tool", ["validate", "--type", "image", layout])
            XCTAssertTrue(validate.succeeded, "\(layout): " + validate.stderrText + validate.stdoutText)
        }

        // What went in: the slim PHP needs libc6 alone (no libxml2, SQLite, OpenSSL or zlib); nginx-lnmp
        // stacks nginx.yml's nginx and its own package over nginx's closure, one layer each.
        XCTAssertEqual(try lockedNames("\(out)/php-fpm-slim.lock.json"), ["gcc-12-base", "libc6", "libgcc-s1"])
        XCTAssertEqual(try lockedNames("\(out)/nginx-lnmp.lock.json"),
                       ["gcc-12-base", "libc6", "libcrypt1", "libgcc-s1", "libpcre2-8-0", "libssl3", "zlib1g"])
        let phpHistory = try history("oci:\(phpLayout):8.2.32")
        XCTAssertTrue(phpHistory.contains("pkglayer: php-fpm-slim 8.2.32-1 (deb)"), "\(phpHistory)")
        let nginxHistory = try history("oci:\(nginxLayout):1.22.1")
        for made in ["pkglayer: nginx 1.22.1-1 (deb)", "pkglayer: nginx-lnmp 1.0-1 (deb)"] {
            XCTAssertTrue(nginxHistory.contains(made), "\(made) in \(nginxHistory)")
        }
        let phpConfig = try imageConfig("oci:\(phpLayout):8.2.32")
        XCTAssertEqual(phpConfig["Entrypoint"] as? [String], ["/usr/sbin/php-fpm", "-F"])
        XCTAssertTrue((phpConfig["Env"] as? [String] ?? []).contains("PHP_FPM_LISTEN=127.0.0.1:9000"), "\(phpConfig)")
        XCTAssertEqual(try imageConfig("oci:\(nginxLayout):1.22.1")["Entrypoint"] as? [String],
                       ["/usr/sbin/nginx", "-c", "/etc/nginx/lnmp.conf", "-g", "daemon off;"])

        // Inside: the page at the same path in both (php-fpm opens nginx's SCRIPT_FILENAME in its own
        // file system), the accounts each server's workers switch to, php-fpm's container config.
        let phpBundle = try RuncBundle.unpack(layout: phpLayout, tag: "8.2.32", into: scratch.path("php"))
        let nginxBundle = try RuncBundle.unpack(layout: nginxLayout, tag: "1.22.1", into: scratch.path("nginx"))
        let page = "/var/www/html/index.php"
        let source = try String(contentsOfFile: BuildFixtures.repository + "/recipes/files/lnmp/www/index.php", encoding: .utf8)
        XCTAssertEqual(try String(contentsOfFile: phpBundle.rootfs + page, encoding: .utf8), source)
        XCTAssertEqual(try String(contentsOfFile: nginxBundle.rootfs + page, encoding: .utf8), source)
        XCTAssertTrue(try String(contentsOfFile: "\(phpBundle.rootfs)/etc/passwd", encoding: .utf8).contains("\nwww-data:x:"))
        XCTAssertTrue(try String(contentsOfFile: "\(nginxBundle.rootfs)/etc/passwd", encoding: .utf8).contains("\nnginx:x:"))
        let pool = try String(contentsOfFile: "\(phpBundle.rootfs)/etc/php/php-fpm.d/www.conf", encoding: .utf8)
        for line in ["user = www-data", "clear_env = no", "catch_workers_output = yes"] {
            XCTAssertTrue(pool.contains("\n\(line)\n"), "www.conf lacks '\(line)':\n\(pool)")
        }
        XCTAssertTrue(try String(contentsOfFile: "\(nginxBundle.rootfs)/etc/nginx/lnmp.conf", encoding: .utf8)
            .contains("fastcgi_pass   127.0.0.1:9000;"))

        // Run them: php-fpm in a network namespace of its own (runc brings up lo), nginx joining it.
        // Docker's capabilities and no user namespace, as both masters switch their workers' user.
        var running: [() -> Void] = []
        defer { running.reversed().forEach { $0() } }
        try phpBundle.configure(dockerCapabilities: true)
        let phpContainer = try phpBundle.start()
        running.append(phpContainer.stop)
        let netns = "/proc/\(try containerPID(phpContainer.id))/ns/net"
        try nginxBundle.configure(dockerCapabilities: true)
        try join(nginxBundle, networkNamespace: netns)
        let nginxContainer = try nginxBundle.start()
        running.append(nginxContainer.stop)
        // One namespace for the two, not the host's.
        let nginxNetns = "/proc/\(try containerPID(nginxContainer.id))/ns/net"
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: nginxNetns),
                       try FileManager.default.destinationOfSymbolicLink(atPath: netns))
        XCTAssertNotEqual(try FileManager.default.destinationOfSymbolicLink(atPath: netns),
                          try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net"))

        // curl in that namespace: nginx on port 80 passes index.php to php-fpm on 127.0.0.1:9000, and
        // the answer is what PHP computed, not the file nginx could have sent as it is.
        var answer = ""
        for _ in 0..<100 {
            let got = try TestProcess.run("nsenter", ["--net=\(netns)", "curl", "-sf", "http://127.0.0.1/index.php"])
            if got.succeeded { answer = got.stdoutText; break }
            usleep(100_000)
        }
        let logs = { "php-fpm: \((try? String(contentsOfFile: phpBundle.logPath, encoding: .utf8)) ?? "")\nnginx: \((try? String(contentsOfFile: nginxBundle.logPath, encoding: .utf8)) ?? "")" }
        XCTAssertEqual(answer, "sum=42 php=8.2.32 sapi=fpm-fcgi\n", logs())
        XCTAssertFalse(answer.contains("<?php"), answer)
        // `/` reaches the same page through `index index.php`; a missing script is nginx's 404.
        let root = try TestProcess.run("nsenter", ["--net=\(netns)", "curl", "-s", "http://127.0.0.1/"])
        XCTAssertTrue(root.stdoutText.contains("sum=42"), root.stdoutText + logs())
        let missing = try TestProcess.run("nsenter", ["--net=\(netns)", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                      "http://127.0.0.1/missing.php"])
        XCTAssertEqual(missing.stdoutText, "404", logs())
        // Both logs on stderr/stdout, where runc (and docker logs) see them.
        let phpLog = (try? String(contentsOfFile: phpBundle.logPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(phpLog.contains("ready to handle connections"), phpLog)
        let nginxLog = (try? String(contentsOfFile: nginxBundle.logPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(nginxLog.contains("\"GET /index.php HTTP/1.1\" 200"), nginxLog)
        // php-fpm's master and its www pool's workers.
        let ps = try TestProcess.run("runc", ["ps", phpContainer.id])
        XCTAssertTrue(ps.stdoutText.contains("php-fpm: master process"), ps.stdoutText)
        XCTAssertTrue(ps.stdoutText.contains("php-fpm: pool www"), ps.stdoutText)
        running.reversed().forEach { $0() }
        running = []

        // Built again: the same image digests. php-fpm-slim from the cached package into a clean output
        // folder (its compile is the expensive part); nginx-lnmp with a fresh cache, so nginx and the
        // nginx-lnmp package are compiled and packaged again and the image assembled in an empty store.
        let again = scratch.path("out2")
        _ = try build("php-fpm-slim.yml", output: again, environment: env,
                      extra: ["--lockfile", "\(out)/php-fpm-slim.lock.json", "--offline"])
        var fresh = env
        fresh["PKGLAYER_CACHE"] = scratch.path("cache2")
        let rebuilt = try build("nginx-lnmp.yml", output: again, environment: fresh, extra: ["--lockfile", "\(out)/nginx-lnmp.lock.json"])
        XCTAssertTrue(rebuilt.stdoutText.contains("\(again)/nginx-lnmp_1.0-1_all.deb"), rebuilt.stdoutText)
        XCTAssertTrue(rebuilt.stderrText.contains("2 built, 0 from the cache"), rebuilt.stderrText)
        XCTAssertEqual(try digest("oci:\(again)/php-fpm-slim-8.2.32.oci:8.2.32"), try digest("oci:\(phpLayout):8.2.32"))
        XCTAssertEqual(try digest("oci:\(again)/nginx-lnmp-1.22.1.oci:1.22.1"), try digest("oci:\(nginxLayout):1.22.1"))
        for deb in ["nginx-lnmp_1.0-1_all.deb", "nginx_1.22.1-1_amd64.deb"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(again)/\(deb)")), try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(deb)")),
                           "\(deb) differs between two builds from source")
        }
    }

    /// `pkglayer build RECIPE -o OUTPUT` with the shared sources; fails the test with pkglayer's stderr.
    private func build(_ recipe: String, output: String, environment: [String: String], extra: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let result = try CLI.run(["build", BuildFixtures.recipe(recipe), "-o", output, "--sources", BuildFixtures.sharedSources] + extra,
                                 environment: environment)
        guard result.status == 0 else {
            XCTFail("pkglayer build \(recipe) failed:\n\(result.stderrText)", file: file, line: line)
            throw BuildFailed(recipe: recipe, status: result.status)
        }
        return result
    }

    private struct BuildFailed: Error { let recipe: String, status: Int32 }

    private func lockedNames(_ lockfile: String) throws -> [String] {
        let lock = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: lockfile))) as? [String: Any] ?? [:]
        return (lock["packages"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
    }

    /// The image config's `history[].created_by`, read by skopeo.
    private func history(_ reference: String) throws -> [String] {
        let inspect = try TestProcess.runChecked("skopeo", ["inspect", "--config", reference])
        let config = try JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any] ?? [:]
        return (config["history"] as? [[String: Any]] ?? []).compactMap { $0["created_by"] as? String }
    }

    /// The image config's `config` section (Entrypoint, Env, …), read by skopeo.
    private func imageConfig(_ reference: String) throws -> [String: Any] {
        let inspect = try TestProcess.runChecked("skopeo", ["inspect", "--config", reference])
        let config = try JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any] ?? [:]
        return config["config"] as? [String: Any] ?? [:]
    }

    private func digest(_ reference: String) throws -> String {
        try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", reference]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The host pid of a running container's first process (`runc state`).
    private func containerPID(_ id: String) throws -> Int {
        let state = try TestProcess.runChecked("runc", ["state", id])
        let object = try JSONSerialization.jsonObject(with: state.stdout) as? [String: Any] ?? [:]
        return try XCTUnwrap(object["pid"] as? Int, "runc state \(id): \(state.stdoutText)")
    }

    /// Makes the bundle join an existing network namespace instead of creating one (`--net container:`).
    private func join(_ bundle: RuncBundle, networkNamespace path: String) throws {
        var runtime = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle.configPath))) as? [String: Any] ?? [:]
        var linux = runtime["linux"] as? [String: Any] ?? [:]
        var namespaces = (linux["namespaces"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "network" }
        namespaces.append(["type": "network", "path": path])
        linux["namespaces"] = namespaces
        runtime["linux"] = linux
        try JSONSerialization.data(withJSONObject: runtime).write(to: URL(fileURLWithPath: bundle.configPath))
    }
}
