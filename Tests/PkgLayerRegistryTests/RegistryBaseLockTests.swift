import Foundation
import PkgLayerTestSupport
import XCTest

/// `base: HOST/REPO:TAG` in an image file: the lockfile the build writes records the base's manifest
/// digest, and with that lockfile a rebuild uses exactly that digest: from the store with the registry
/// stopped, pulled by digest when the store lacks it, unchanged when the tag moves on the registry;
/// `--refresh` resolves the tag again.
final class RegistryBaseLockTests: XCTestCase {
    func testTheLockfilePinsARegistryBaseAndARebuildUsesItOffline() throws {
        try requireTool("docker-registry", "htpasswd", "openssl", "tar", "skopeo")
        let server = try RegistryServer()
        let scratch = try ScratchDirectory(prefix: "pkglayer-base-lock")
        let pushEnv = ["DOCKER_CONFIG": try scratch.makeDirectory("docker"), "PKGLAYER_CACHE": scratch.path("cache-push")]
        // The builds use their own store, so the first one must pull the base.
        let env = pushEnv.merging(["PKGLAYER_CACHE": scratch.path("cache-build")]) { _, new in new }
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        let pkglayer = RegistryCLITests.binary
        try TestProcess.runChecked(pkglayer, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: pushEnv, stdin: Data("\(RegistryServer.password)\n".utf8))
        let remoteName = "\(server.host)/base/os:1"

        /// A one-file rootfs imported into the push store as `os:VERSION` and pushed as `remoteName`; its digest.
        func pushBase(_ version: String) throws -> String {
            _ = try scratch.write("tree-\(version)/etc/os-release", "ID=test\nVERSION_ID=\(version)\n")
            try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "-cf",
                                               scratch.path("root-\(version).tar"), "-C", scratch.path("tree-\(version)"), "."])
            let imported = try TestProcess.runChecked(pkglayer, ["import", scratch.path("root-\(version).tar"), "os:\(version)", "--json"],
                                                      environment: pushEnv)
            let digest = try XCTUnwrap((try JSONSerialization.jsonObject(with: imported.stdout) as? [String: Any])?["digest"] as? String)
            let pushed = try TestProcess.run(pkglayer, ["push", "os:\(version)", remoteName] + tls, environment: pushEnv)
            XCTAssertEqual(pushed.status, 0, pushed.stderrText)
            let remote = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", server.certDirectory,
                                                               "--creds", "\(RegistryServer.username):\(RegistryServer.password)", "docker://\(remoteName)"])
            XCTAssertEqual(remote.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), digest, "the registry serves the pushed image under \(remoteName)")
            return digest
        }
        /// `pkglayer image` of the image file: its exit status, the image's digest and what it said.
        func build(_ extra: [String] = [], output: String = "out") throws -> (status: Int32, digest: String?, stderr: String) {
            // Not --json, which keeps the notes quiet: the summary line says `app:1: N layers, sha256:… in S s`.
            let run = try TestProcess.run(pkglayer, ["image", scratch.path("img/app.yml"), "-o", scratch.path(output)] + extra + tls,
                                          environment: env)
            let summary = run.stderrText.split(separator: "\n").last { $0.hasPrefix("app:1: ") && $0.contains(" layers, sha256:") }
            let digest = summary.flatMap { $0.split(separator: " ").first { $0.hasPrefix("sha256:") } }.map(String.init)
            return (run.status, digest, run.stderrText)
        }
        /// The `base` object of a lockfile.
        func lockedBase(_ path: String) throws -> [String: String] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "no lockfile at \(path)")
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            XCTAssertEqual(object["format"] as? String, "pkglayer-lock/1")
            return try XCTUnwrap(object["base"] as? [String: String], "the lockfile records no base: \(object)")
        }

        let first = try pushBase("1")
        _ = try scratch.write("app-tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", scratch.path("app-tree"),
                                              "-p", scratch.path("img/"), "."], environment: env)
        _ = try scratch.write("img/app.yml", "name: app\ntag: \"1\"\nbase: \(remoteName)\npackages: [./app_1.0_amd64.deb]\n")

        // 1. The first build pulls the base and records its digest in OUT/app.lock.json.
        let built = try build()
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(built.stderr.contains("pulled the base \(remoteName)"), built.stderr)
        let image = try XCTUnwrap(built.digest)
        XCTAssertEqual(try lockedBase(scratch.path("out/app.lock.json")), ["reference": remoteName, "digest": first])
        // Pinned: copied beside the image file, as the README says.
        try FileManager.default.copyItem(atPath: scratch.path("out/app.lock.json"), toPath: scratch.path("img/app.lock.json"))

        // 2. Registry stopped: the rebuild takes the pinned digest from the store and gives the same image.
        server.stop()
        let offline = try build(output: "out-stopped")
        XCTAssertEqual(offline.status, 0, offline.stderr)
        XCTAssertEqual(offline.digest, image, "same lockfile, same base, same image")
        XCTAssertTrue(offline.stderr.contains("using the base \(remoteName) at \(first) from the local store"), offline.stderr)
        XCTAssertEqual(try lockedBase(scratch.path("out-stopped/app.lock.json")), ["reference": remoteName, "digest": first])

        // 3. The store loses the base and the registry is still down: an error naming the base and the digest.
        let removed = try TestProcess.run(pkglayer, ["rmi", "-f", remoteName], environment: env)
        XCTAssertEqual(removed.status, 0, removed.stderrText)
        let unreachable = try build(output: "out-unreachable")
        XCTAssertEqual(unreachable.status, 1, unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains(remoteName) && unreachable.stderr.contains(first) && unreachable.stderr.contains("app.lock.json"),
                      unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains("could not be pulled"), unreachable.stderr)
        let refusedOffline = try build(["--offline"], output: "out-unreachable")
        XCTAssertEqual(refusedOffline.status, 1, refusedOffline.stderr)
        XCTAssertTrue(refusedOffline.stderr.contains(first) && refusedOffline.stderr.contains("--offline"), refusedOffline.stderr)

        // 4. The registry again, with a different image pushed under the same tag.
        let restarted = try Self.restart(server)
        defer { restarted.terminate(); restarted.waitUntilExit() }
        let second = try pushBase("2")
        XCTAssertNotEqual(second, first)

        // The lockfile still pins the first digest: pulled by digest (the store lacks it), same image.
        let pinned = try build(output: "out-pinned")
        XCTAssertEqual(pinned.status, 0, pinned.stderr)
        XCTAssertEqual(pinned.digest, image, "a tag that moved does not change a pinned rebuild")
        XCTAssertTrue(pinned.stderr.contains("pulled the base \(server.host)/base/os@\(first)"), pinned.stderr)
        XCTAssertEqual(try lockedBase(scratch.path("out-pinned/app.lock.json"))["digest"], first)

        // Without the lockfile beside the image file, the output folder's young one pins it as well.
        try FileManager.default.removeItem(atPath: scratch.path("img/app.lock.json"))
        let reused = try build()
        XCTAssertEqual(reused.status, 0, reused.stderr)
        XCTAssertEqual(reused.digest, image)

        // --refresh resolves the tag again: the new base, a new image, and the lockfile says so.
        let refreshed = try build(["--refresh"])
        XCTAssertEqual(refreshed.status, 0, refreshed.stderr)
        XCTAssertTrue(refreshed.stderr.contains("pulled the base \(remoteName) (\(second))"), refreshed.stderr)
        XCTAssertNotNil(refreshed.digest)
        XCTAssertNotEqual(refreshed.digest, image)
        XCTAssertEqual(try lockedBase(scratch.path("out/app.lock.json")), ["reference": remoteName, "digest": second])
        let baseLayers = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("cache-push/images")):os:2"])
            .stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        let appLayers = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{range .Layers}}{{.}} {{end}}", "oci:\(scratch.path("out/app-1.oci")):1"])
            .stdoutText.split(whereSeparator: \.isWhitespace).map(String.init)
        XCTAssertEqual(Array(appLayers.prefix(baseLayers.count)), baseLayers, "the refreshed image stands on the new base")

        // A rebuild right after reuses the refreshed resolution: the same new image, no pull.
        let again = try build()
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.digest, refreshed.digest)
        XCTAssertFalse(again.stderr.contains("pulled the base"), again.stderr)
    }

    /// With repositories, the base joins the packages' lockfile; a re-resolution of the packages (the
    /// image's packages changed) keeps the base pinned; a pinned lockfile rebuilds offline with the
    /// registry and the archive stopped.
    func testWithRepositoriesTheBaseJoinsThePackagesLockfile() throws {
        try requireTool("docker-registry", "htpasswd", "openssl", "tar", "gpg", "gpgv", "dpkg-scanpackages", "xz", "python3")
        let server = try RegistryServer()
        let scratch = try ScratchDirectory(prefix: "pkglayer-base-lock-repo")
        let pushEnv = ["DOCKER_CONFIG": try scratch.makeDirectory("docker"), "PKGLAYER_CACHE": scratch.path("cache-push")]
        let env = pushEnv.merging(["PKGLAYER_CACHE": scratch.path("cache-build")]) { _, new in new }
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        let pkglayer = RegistryCLITests.binary
        try TestProcess.runChecked(pkglayer, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: pushEnv, stdin: Data("\(RegistryServer.password)\n".utf8))
        let remoteName = "\(server.host)/base/os:1"
        var digests: [String] = []
        for version in ["1", "2"] {
            _ = try scratch.write("tree-\(version)/etc/os-release", "ID=test\nVERSION_ID=\(version)\n")
            try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "-cf",
                                               scratch.path("root-\(version).tar"), "-C", scratch.path("tree-\(version)"), "."])
            let imported = try TestProcess.runChecked(pkglayer, ["import", scratch.path("root-\(version).tar"), "os:\(version)", "--json"],
                                                      environment: pushEnv)
            digests.append(try XCTUnwrap((try JSONSerialization.jsonObject(with: imported.stdout) as? [String: Any])?["digest"] as? String))
        }
        func push(_ version: String) throws {
            let pushed = try TestProcess.run(pkglayer, ["push", "os:\(version)", remoteName] + tls, environment: pushEnv)
            XCTAssertEqual(pushed.status, 0, pushed.stderrText)
        }
        try push("1")

        // An apt archive with two libraries, signed, on loopback.
        var debs: [String] = []
        for name in ["libfoo", "libbar"] {
            _ = try scratch.write("\(name)-tree/usr/share/\(name)/readme", "\(name)\n")
            try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", name, "-v", "1.0", "-C", scratch.path("\(name)-tree"),
                                                  "-p", scratch.path("debs/"), "."], environment: env)
            debs.append(scratch.path("debs/\(name)_1.0_amd64.deb"))
        }
        let key = try TestSigningKey(directory: try scratch.makeDirectory("img/keys"))
        try AptArchiveFixture.build(root: try scratch.makeDirectory("archive"), suite: "test", debs: debs, key: key)
        let archive = try TestHTTPServer(directory: scratch.path("archive"))
        defer { archive.stop() }
        func imageFile(_ packages: String) throws {
            _ = try scratch.write("img/app.yml", """
                name: app
                tag: "1"
                base: \(remoteName)
                packages: [\(packages)]
                repositories:
                  - apt: \(archive.baseURL)
                    suites: [test]
                    keyring: \(key.keyring)

                """)
        }
        func build(_ extra: [String] = [], output: String = "out") throws -> (status: Int32, digest: String?, stderr: String) {
            let run = try TestProcess.run(pkglayer, ["image", scratch.path("img/app.yml"), "-o", scratch.path(output)] + extra + tls,
                                          environment: env)
            let summary = run.stderrText.split(separator: "\n").last { $0.hasPrefix("app:1: ") && $0.contains(" layers, sha256:") }
            let digest = summary.flatMap { $0.split(separator: " ").first { $0.hasPrefix("sha256:") } }.map(String.init)
            return (run.status, digest, run.stderrText)
        }
        func lock(_ output: String) throws -> [String: Any] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: scratch.path("\(output)/app.lock.json")))
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        func packages(_ object: [String: Any]) -> [String] { (object["packages"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }

        try imageFile("libfoo")
        let first = try build()
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(packages(try lock("out")), ["libfoo"])
        XCTAssertEqual(try lock("out")["base"] as? [String: String], ["reference": remoteName, "digest": digests[0]])

        // The tag moves; the output folder's young lockfile pins the base, and is not rewritten (it keeps its age).
        try push("2")
        let written = try FileManager.default.attributesOfItem(atPath: scratch.path("out/app.lock.json"))[.modificationDate] as? Date
        let reused = try build()
        XCTAssertEqual(reused.status, 0, reused.stderr)
        XCTAssertEqual(reused.digest, first.digest)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: scratch.path("out/app.lock.json"))[.modificationDate] as? Date, written)

        // Other packages: resolved again, and the base stays pinned.
        try imageFile("libfoo, libbar")
        let more = try build()
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stderr.contains("stale"), more.stderr)
        XCTAssertFalse(more.stderr.contains("pulled the base"), more.stderr)
        XCTAssertEqual(packages(try lock("out")), ["libbar", "libfoo"])
        XCTAssertEqual(try lock("out")["base"] as? [String: String], ["reference": remoteName, "digest": digests[0]])

        // Pinned beside the image file, rebuilt with the archive and the registry stopped: the same image,
        // and the output folder gets the same lockfile.
        try FileManager.default.copyItem(atPath: scratch.path("out/app.lock.json"), toPath: scratch.path("img/app.lock.json"))
        archive.stop()
        server.stop()
        let offline = try build(["--offline"], output: "out-offline")
        XCTAssertEqual(offline.status, 0, offline.stderr)
        XCTAssertEqual(offline.digest, more.digest)
        XCTAssertEqual(FileManager.default.contents(atPath: scratch.path("out-offline/app.lock.json")),
                       FileManager.default.contents(atPath: scratch.path("img/app.lock.json")))
    }

    /// Short names are not guessed into Docker Hub: the error says to name the registry.
    func testADockerHubShortNameAsABaseSaysToNameTheRegistry() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-base-short")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        let pkglayer = RegistryCLITests.binary
        for (index, (base, suggestion)) in [("nginx", "docker.io/library/nginx"), ("debian:12", "docker.io/library/debian:12"),
                                   ("bitnami/redis:7", "docker.io/bitnami/redis:7")].enumerated() {
            let file = try scratch.write("img-\(index)/app.yml", "name: app\nbase: \"\(base)\"\n")
            let run = try TestProcess.run(pkglayer, ["image", file, "-o", scratch.path("out")], environment: env)
            XCTAssertEqual(run.status, 1, run.stderrText)
            XCTAssertTrue(run.stderrText.contains("names no registry") && run.stderrText.contains("assumes no default registry")
                          && run.stderrText.contains(suggestion) && run.stderrText.contains("image.base"), "\(base): \(run.stderrText)")
        }
    }

    /// Starts the stopped test registry again on its port, with its data, certificates and passwords.
    static func restart(_ server: RegistryServer) throws -> Process {
        let logPath = server.scratch.path("registry-restarted.log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(TestProcess.which("docker-registry")))
        process.arguments = ["serve", server.scratch.path("config.yml")]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        do {
            try waitForPort(server.port, process: process, logPath: logPath)
        } catch {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            throw error
        }
        return process
    }
}
