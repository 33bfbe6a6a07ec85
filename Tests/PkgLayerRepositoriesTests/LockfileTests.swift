import Foundation
import PkgLayerCore
import PkgLayerFetch
import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

final class LockfileTests: XCTestCase {
    private let hex = String(repeating: "0123456789abcdef", count: 4)

    private func sample() -> Lockfile {
        Lockfile(packageFormat: .deb, architecture: "amd64", inputs: "sha256:\(hex)", packages: [
            .init(name: "zlib1g", version: "1:1.2.13.dfsg-1", architecture: "amd64", url: "http://x/pool/z.deb", sha256: hex, size: 86684,
                  repository: "apt http://x bookworm main"),
            .init(name: "libc6", version: "2.36-9", architecture: "amd64", url: "http://x/pool/l.deb", sha256: hex, size: 1,
                  repository: "apt http://x bookworm main"),
        ])
    }

    /// Written sorted, with sorted keys; read back equal; the same value gives the same bytes.
    func testRoundTripAndBytes() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("image.lock.json")
        try sample().write(to: path)
        XCTAssertEqual(try Lockfile.read(path: path), sample())
        XCTAssertEqual(try Lockfile.read(path: path).packages.map(\.name), ["libc6", "zlib1g"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"architecture\": \"amd64\",\n  \"format\": \"pkglayer-lock/1\",\n  \"inputs\": "), text)
        XCTAssertTrue(text.contains("\"size\": 86684"), text)
        let other = scratch.path("again.json")
        try sample().write(to: other)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: other)))
        // jq, a real consumer, reads it.
        try requireTool("jq")
        XCTAssertEqual(try TestProcess.runChecked("jq", ["-r", ".packages[1].version", path]).stdoutText, "1:1.2.13.dfsg-1\n")
    }

    /// Errors name the lockfile and the entry.
    func testMalformedLockfiles() throws {
        let scratch = try ScratchDirectory()
        let cases: [(String, String)] = [
            ("not json", "is not a JSON object"),
            (#"{"format": "other/9", "packages": []}"#, "format is other/9, expected pkglayer-lock/1"),
            (#"{"format": "pkglayer-lock/1", "packageFormat": "deb", "architecture": "amd64", "inputs": "x", "packages": [{"name": "libc6", "version": "1", "architecture": "amd64", "url": "u", "size": 1, "repository": "r"}]}"#,
             "packages[0] (libc6) lacks the text field 'sha256'"),
            (#"{"format": "pkglayer-lock/1", "packages": [{"name": "a", "sha256": "XYZ"}]}"#, "packages[0] (a): sha256 'XYZ' is not 64 lowercase hex digits"),
        ]
        for (index, (content, expected)) in cases.enumerated() {
            let path = try scratch.write("bad\(index).json", content)
            XCTAssertThrowsError(try Lockfile.read(path: path)) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(path): "), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertThrowsError(try Lockfile.read(path: scratch.path("missing.json"))) { error in
            XCTAssertTrue("\(error)".contains("cannot read the lockfile"), "\(error)")
        }
    }

    /// The inputs digest moves with every input and only with them.
    func testInputsDigest() {
        let repo = RepositorySpec(kind: .apt, url: "http://x", suites: ["bookworm"], origin: "a.yml")
        func digest(_ roots: [String] = ["nginx"], local: [String] = [], repos: [RepositorySpec]? = nil, arch: String = "amd64") -> String {
            Lockfile.inputsDigest(packageFormat: .deb, architecture: arch, roots: roots.map { Dependency(name: $0) },
                                  localSHA256: local, repositories: repos ?? [repo])
        }
        XCTAssertEqual(digest(), digest())
        var moved = repo
        moved.origin = "b.yml"
        XCTAssertEqual(digest(repos: [moved]), digest(), "where a repository was declared is not an input")
        XCTAssertNotEqual(digest(["nginx", "curl"]), digest())
        XCTAssertNotEqual(digest(local: [hex]), digest())
        XCTAssertNotEqual(digest(arch: "arm64"), digest())
        var other = repo
        other.suites = ["trixie"]
        XCTAssertNotEqual(digest(repos: [other]), digest())
    }

    /// file:// fetches go through the content-addressed cache; a mismatch keeps nothing; offline only
    /// the cache (and local files) answer.
    func testDownloadCache() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.write("pool/a.deb", "package bytes")
        let sha = try FileDigest.sha256Hex(path: file)
        let cache = PackageDownloadCache(root: scratch.path("cache"))
        let path = try cache.package(url: "file://\(file)", sha256: sha)
        XCTAssertEqual(path, scratch.path("cache/packages/sha256/\(sha)"))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "package bytes")
        XCTAssertThrowsError(try cache.package(url: "file://\(file)", sha256: hex)) { error in
            XCTAssertTrue("\(error)".contains("sha256 mismatch: expected \(hex), got \(sha)"), "\(error)")
        }
        XCTAssertEqual(filesUnder(scratch.path("cache")), ["packages/sha256/\(sha)"])
        let offline = PackageDownloadCache(root: scratch.path("cache"), offline: true)
        XCTAssertEqual(try offline.package(url: "http://127.0.0.1:9/a.deb", sha256: sha), path)
        XCTAssertThrowsError(try offline.package(url: "http://127.0.0.1:9/b.deb", sha256: hex)) { error in
            XCTAssertTrue("\(error)".hasPrefix("http://127.0.0.1:9/b.deb: offline, and the file with sha256 \(hex) is not in the cache"), "\(error)")
        }
    }

    func testMirrors() throws {
        let mirrors = try PackageDownloadCache.mirrors(fromEnvironment: [
            "PKGLAYER_APT_MIRROR": "http://deb.debian.org/debian=http://127.0.0.1:8080/d,http://deb.debian.org/debian-security=http://127.0.0.1:8080/s",
        ])
        let cache = PackageDownloadCache(root: "/nonexistent", mirrors: mirrors)
        XCTAssertEqual(cache.rewritten("http://deb.debian.org/debian/dists/bookworm/InRelease"), "http://127.0.0.1:8080/d/dists/bookworm/InRelease")
        XCTAssertEqual(cache.rewritten("http://deb.debian.org/debian-security/pool/x.deb"), "http://127.0.0.1:8080/s/pool/x.deb",
                       "the longest prefix wins")
        XCTAssertEqual(cache.rewritten("http://example.test/x"), "http://example.test/x")
        XCTAssertThrowsError(try PackageDownloadCache.mirrors(fromEnvironment: ["PKGLAYER_APT_MIRROR": "http://a"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("PKGLAYER_APT_MIRROR: 'http://a' is not FROM=TO"), "\(error)")
        }
    }
}
