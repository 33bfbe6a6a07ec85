import Foundation
import PkgLayerTestSupport
import XCTest

/// The build cache shared through a real docker-registry (TLS + htpasswd on 127.0.0.1), by two
/// "runners" on one machine: two separate PKGLAYER_CACHE directories building the same graph.
final class RemoteBuildCacheTests: XCTestCase {
    private var server: RegistryServer!
    private var scratch: ScratchDirectory!
    private var tls: [String] = []
    private var docker = ""

    override func setUpWithError() throws {
        try requireTool("skopeo", "docker-registry", "htpasswd", "openssl", "bwrap")
        server = try RegistryServer()
        scratch = try ScratchDirectory(prefix: "pkglayer-remote-cache")
        tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        docker = try scratch.makeDirectory("docker")
        try TestProcess.runChecked(RegistryCLITests.binary, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: ["DOCKER_CONFIG": docker], stdin: Data("\(RegistryServer.password)\n".utf8))
    }

    override func tearDown() {
        server = nil
        scratch = nil
    }

    /// A graph of three recipes: `base` (a library), `app` built against it, `extra` on its own.
    private func writeGraph(appRelease: String = "1") throws -> [String] {
        _ = try scratch.write("recipes/files/data.txt", "payload\n")
        func recipe(_ name: String, release: String = "1", requires: String = "") throws -> String {
            try scratch.write("recipes/\(name).yml", """
                package:
                  name: \(name)
                  version: "1.0"
                  release: "\(release)"
                  summary: \(name), built for the remote cache test
                  arch: noarch
                  source-date-epoch: 1700000000
                sources:
                  - path: files/data.txt
                build:
                \(requires)  steps:
                    - name: install
                      run: |
                        mkdir -p ${{targets.destdir}}/usr/share/\(name)
                        cp data.txt ${{targets.destdir}}/usr/share/\(name)/
                        echo \(name) > ${{targets.destdir}}/usr/share/\(name)/name

                """)
        }
        return [try recipe("base"), try recipe("app", release: appRelease, requires: "  requires:\n    recipes: [base.yml]\n"), try recipe("extra")]
    }

    private struct Built {
        var results: [[String: Any]]
        var stderr: String
        /// recipe name → (cache source or "built", package sha256s)
        var byName: [String: (source: String, sha256s: [String])] {
            var out: [String: (String, [String])] = [:]
            for r in results {
                let packages = (r["packages"] as? [[String: Any]] ?? []).compactMap { $0["sha256"] as? String }.sorted()
                out[r["name"] as? String ?? "?"] = ((r["cacheHit"] as? Bool) == true ? (r["cacheSource"] as? String ?? "local") : "built", packages)
            }
            return out
        }
    }

    private func build(_ recipes: [String], runner: String, mode: String? = nil, cache: String? = nil, expectSuccess: Bool = true,
                       file: StaticString = #filePath, line: UInt = #line) throws -> Built {
        var args = ["build"] + recipes + ["-o", scratch.path("out-\(runner)"), "--offline", "--no-image", "--json",
                                          "--cache", cache ?? "\(server.host)/team/pkglayer-cache"] + tls
        if let mode { args += ["--cache-mode", mode] }
        let result = try TestProcess.run(RegistryCLITests.binary, args,
                                         environment: ["PKGLAYER_CACHE": scratch.path("cache-\(runner)"), "DOCKER_CONFIG": docker,
                                                       "TMPDIR": try scratch.makeDirectory("tmp-\(runner)-\(UUID().uuidString.prefix(6))")])
        if expectSuccess { XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line) }
        let json = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]) ?? []
        return Built(results: json, stderr: result.stderrText)
    }

    private func tagExists(_ tag: String) -> Bool {
        let out = try? TestProcess.run("skopeo", ["inspect", "--raw", "--cert-dir", server.certDirectory,
                                                  "--creds", "\(RegistryServer.username):\(RegistryServer.password)",
                                                  "docker://\(server.host)/team/pkglayer-cache:\(tag)"])
        return out?.status == 0
    }

    func testTwoRunnersShareTheGraphAndOnlyWhatChangedIsRebuilt() throws {
        let recipes = try writeGraph()
        let first = try build(recipes, runner: "one")
        XCTAssertEqual(first.byName.mapValues(\.source), ["base": "built", "app": "built", "extra": "built"])

        // Runner 2, empty local cache: every recipe comes from the registry, no build step runs (each
        // result is a remote cache hit without a build log) and the packages are byte-identical.
        let second = try build(recipes, runner: "two")
        XCTAssertEqual(second.byName.mapValues(\.source), ["base": "remote", "app": "remote", "extra": "remote"], second.stderr)
        XCTAssertEqual(second.byName.mapValues(\.sha256s), first.byName.mapValues(\.sha256s))
        XCTAssertTrue(second.results.allSatisfy { $0["log"] == nil }, "no build log: nothing was built")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out-two/logs")), "no build step ran on runner two")

        // The cache tag holds a pkglayer artifact: skopeo reads its manifest.
        let key = try XCTUnwrap(first.results.first { $0["name"] as? String == "base" }?["cacheKey"] as? String)
        let raw = try TestProcess.runChecked("skopeo", ["inspect", "--raw", "--cert-dir", server.certDirectory,
                                                        "--creds", "\(RegistryServer.username):\(RegistryServer.password)",
                                                        "docker://\(server.host)/team/pkglayer-cache:build-\(key)"])
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: raw.stdout) as? [String: Any])
        XCTAssertEqual(manifest["artifactType"] as? String, "application/vnd.pkglayer.build.v1+json")
        let titles = (manifest["layers"] as? [[String: Any]] ?? []).compactMap { ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] }
        XCTAssertEqual(Set(titles), ["base-1.0-1.noarch.rpm", "base_1.0-1_all.deb", "build.log"])

        // A repeat push of the unchanged graph is a cache hit: nothing is built, nothing pushed.
        let logOffset = server.logText.count
        _ = try build(recipes, runner: "one")
        XCTAssertEqual(server.uploadRequests(after: logOffset), [], "a repeat build of an unchanged graph uploads nothing")

        // Change app's release: app is rebuilt (its key changed); base and extra come from the caches.
        let changed = try writeGraph(appRelease: "2")
        let third = try build(changed, runner: "three")
        XCTAssertEqual(third.byName.mapValues(\.source), ["base": "remote", "app": "built", "extra": "remote"], third.stderr)
    }

    func testACorruptBlobIsDetectedAndRebuiltAndReadModeNeverPushes() throws {
        let recipes = try writeGraph()
        let first = try build([recipes[2]], runner: "one")
        let key = try XCTUnwrap(first.results.first?["cacheKey"] as? String)
        let rpm = try XCTUnwrap(first.results.first.flatMap { ($0["packages"] as? [[String: Any]])?.first { ($0["file"] as? String)?.hasSuffix(".rpm") == true } })
        let digest = try XCTUnwrap(rpm["sha256"] as? String)
        // Corrupt the rpm's blob in the registry's own storage.
        let blob = server.scratch.path("data/docker/registry/v2/blobs/sha256/\(digest.prefix(2))/\(digest)/data")
        XCTAssertTrue(FileManager.default.fileExists(atPath: blob), blob)
        try Data("corrupted".utf8).write(to: URL(fileURLWithPath: blob))

        let second = try build([recipes[2]], runner: "two")
        XCTAssertEqual(second.byName["extra"]?.source, "built", "the corrupt entry is not used")
        XCTAssertTrue(second.stderr.contains("was not used"), second.stderr)
        XCTAssertEqual(second.byName["extra"]?.sha256s, first.byName["extra"]?.sha256s, "the rebuild gives the same bytes")
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.path("cache-two/outputs")).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(entries, [key], "only the rebuilt, whole entry is in the local cache")

        // --cache-mode read: a new key is built and never pushed.
        let other = try scratch.write("recipes/lonely.yml", try String(contentsOfFile: recipes[2], encoding: .utf8)
            .replacingOccurrences(of: "name: extra", with: "name: lonely"))
        let readOnly = try build([other], runner: "four", mode: "read")
        let lonelyKey = try XCTUnwrap(readOnly.results.first?["cacheKey"] as? String)
        XCTAssertEqual(readOnly.byName["lonely"]?.source, "built")
        XCTAssertFalse(tagExists("build-\(lonelyKey)"), "read mode never pushes")
        XCTAssertTrue(tagExists("build-\(key)"))
    }

    func testARegistryThatIsDownMakesTheBuildGoOnUncached() throws {
        let recipes = try writeGraph()
        let result = try build([recipes[2]], runner: "down", cache: "127.0.0.1:9/team/cache")
        XCTAssertEqual(result.byName["extra"]?.source, "built")
        XCTAssertTrue(result.stderr.contains("pkglayer: warning:"), result.stderr)
    }
}
