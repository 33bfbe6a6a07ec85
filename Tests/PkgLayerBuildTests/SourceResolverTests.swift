import Foundation
import PkgLayerCore
import PkgLayerFetch
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerBuild

final class SourceResolverTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var cache: SourceCache!

    override func setUpWithError() throws {
        try BuildFixtures.requireSharedSource()
        scratch = try TemporaryDirectory(prefix: "pkglayer-resolver-test")
        cache = SourceCache(root: "\(scratch.path)/cache")
    }

    override func tearDown() {
        scratch = nil
    }

    private func offlineResolver(mirrors: [String]) -> SourceResolver {
        SourceResolver(cache: cache, mirrorDirectories: mirrors, allowDownload: false)
    }

    func testFindsTarballInMirrorByNameThenHitsTheCache() throws {
        let resolver = offlineResolver(mirrors: [BuildFixtures.sharedSources])
        let first = try resolver.resolve(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(first.origin, .mirror(BuildFixtures.helloPath))
        XCTAssertEqual(first.path, "\(cache.root)/sources/sha256/\(BuildFixtures.helloSHA256)")
        XCTAssertEqual(try FileDigest.sha256Hex(path: first.path), BuildFixtures.helloSHA256)

        // A second resolve, even with no mirror at all, is served by the cache.
        let second = try offlineResolver(mirrors: []).resolve(url: BuildFixtures.helloURL, sha256: "sha256:" + BuildFixtures.helloSHA256.uppercased())
        XCTAssertEqual(second.origin, .cache)
        XCTAssertEqual(second.path, first.path)
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [BuildFixtures.helloSHA256], "one entry, no temporary files")
    }

    func testFindsTarballInMirrorBySHA256UnderAnotherName() throws {
        // A mirror without SHA256SUMS, holding the file under an unrelated name: found by hashing.
        let mirror = "\(scratch.path)/mirror"
        try FileManager.default.createDirectory(atPath: mirror, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: BuildFixtures.helloPath, toPath: "\(mirror)/renamed-upload.bin")
        try BuildFixtures.write("not it", to: "\(mirror)/other.txt")
        let resolved = try offlineResolver(mirrors: [mirror])
            .resolve(url: "https://mirror.example/pub/some-other-name.tar.gz", sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(resolved.origin, .mirror("\(mirror)/renamed-upload.bin"))
        XCTAssertEqual(try FileDigest.sha256Hex(path: resolved.path), BuildFixtures.helloSHA256)
    }

    func testFindsTarballThroughTheMirrorsSHA256SUMS() throws {
        let resolved = try offlineResolver(mirrors: [BuildFixtures.sharedSources])
            .resolve(url: "https://example.invalid/renamed.tgz", sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(resolved.origin, .mirror(BuildFixtures.helloPath))
    }

    func testWrongSHA256IsAnErrorAndLeavesNothingInTheCache() throws {
        let wrong = String(repeating: "0", count: 64)
        let error = expectPkgLayerError {
            _ = try offlineResolver(mirrors: [BuildFixtures.sharedSources]).resolve(url: BuildFixtures.helloURL, sha256: wrong)
        }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("sha256 mismatch"), text)
        XCTAssertTrue(text.contains(BuildFixtures.helloURL), "names the URL: \(text)")
        XCTAssertTrue(text.contains(wrong), "names the expected digest: \(text)")
        XCTAssertTrue(text.contains(BuildFixtures.helloSHA256), "names the actual digest: \(text)")
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [], "nothing cached, no temporary file")
        XCTAssertTrue(FileManager.default.fileExists(atPath: BuildFixtures.helloPath), "the mirror's file is the user's; it stays")
    }

    func testInsertingABadFileDeletesIt() throws {
        let error = expectPkgLayerError {
            try cache.insert(copyOf: BuildFixtures.helloPath, expectedSHA256: String(repeating: "a", count: 64), origin: "test-origin")
        }
        XCTAssertTrue(error?.description.contains("test-origin") ?? false)
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [])
    }

    func testCorruptCacheEntryIsDroppedAndRefetched() throws {
        let resolver = offlineResolver(mirrors: [BuildFixtures.sharedSources])
        let first = try resolver.resolve(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256)
        chmod(first.path, 0o644)
        try BuildFixtures.write("garbage", to: first.path)
        XCTAssertNil(try cache.lookup(sha256: BuildFixtures.helloSHA256), "a corrupt entry is not served")
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.path), "and is removed")
        let again = try resolver.resolve(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(again.origin, .mirror(BuildFixtures.helloPath))
    }

    func testOfflineMissExplainsWhereItLookedAndHowToFix() throws {
        let emptyMirror = "\(scratch.path)/empty-mirror"
        try FileManager.default.createDirectory(atPath: emptyMirror, withIntermediateDirectories: true)
        let digest = String(repeating: "b", count: 64)
        let error = expectPkgLayerError {
            _ = try offlineResolver(mirrors: [emptyMirror]).resolve(url: "https://example.org/dl/libfoo-1.0.tar.xz", sha256: digest)
        }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("https://example.org/dl/libfoo-1.0.tar.xz"), text)
        XCTAssertTrue(text.contains(cache.path(forSHA256: digest)), "names the cache path: \(text)")
        XCTAssertTrue(text.contains(emptyMirror), "names the mirror: \(text)")
        XCTAssertTrue(text.contains("libfoo-1.0.tar.xz"), text)
        XCTAssertTrue(text.contains("--sources DIR"), "says how to fix it: \(text)")
        XCTAssertTrue(text.contains("offline"), text)
    }

    func testMirrorListComesFromFlagsThenEnvironment() {
        let dirs = SourceResolver.mirrorDirectories(flags: ["/a", "/b"], environment: ["PKGLAYER_SOURCES": "/c::/a:/d"])
        XCTAssertEqual(dirs, ["/a", "/b", "/c", "/d"])
    }

    func testDefaultCacheRoot() {
        XCTAssertEqual(SourceCache.defaultRoot(environment: ["PKGLAYER_CACHE": "/x/cache", "HOME": "/home/u"]), "/x/cache")
        XCTAssertEqual(SourceCache.defaultRoot(environment: ["HOME": "/home/u"]), "/home/u/.cache/pkglayer")
        XCTAssertEqual(SourceCache.defaultRoot(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"]), "/xdg/pkglayer")
        // Asking where a cache would be creates nothing on the host.
        for path in ["/x/cache", "/home/u/.cache/pkglayer", "/xdg/pkglayer"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was created by a path lookup")
        }
    }

    func testSourceRequestValidation() {
        XCTAssertNotNil(expectPkgLayerError { try SourceRequest(url: "https://x/y.tar.gz").validate(field: "sources[0]") })
        XCTAssertNotNil(expectPkgLayerError { try SourceRequest(url: "ftp://x/y.tar.gz", sha256: BuildFixtures.helloSHA256).validate(field: "s") })
        XCTAssertNotNil(expectPkgLayerError { try SourceRequest(url: "https://x/y", sha256: "abc").validate(field: "s") })
        XCTAssertNotNil(expectPkgLayerError { try SourceRequest(localPath: "a", extractTo: "../up").validate(field: "s") })
        XCTAssertNotNil(expectPkgLayerError { try SourceRequest(localPath: "a", stripComponents: -1).validate(field: "s") })
        XCTAssertNoThrow(try SourceRequest(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256, stripComponents: 1).validate(field: "s"))
        XCTAssertEqual(SourceRequest(url: "https://h/p/nginx-1.22.1.tar.gz?x=1").fileName, "nginx-1.22.1.tar.gz")
        XCTAssertTrue(SourceRequest(url: BuildFixtures.helloURL).shouldExtract)
        XCTAssertFalse(SourceRequest(localPath: "files/nginx.conf").shouldExtract)
        XCTAssertFalse(SourceRequest(url: BuildFixtures.helloURL, extract: false).shouldExtract)
    }
}

final class SourceResolverHTTPTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var server: TestHTTPServer!
    private var cache: SourceCache!

    override func setUpWithError() throws {
        try BuildFixtures.requireSharedSource()
        scratch = try TemporaryDirectory(prefix: "pkglayer-http-test")
        let served = "\(scratch.path)/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: BuildFixtures.helloPath, toPath: "\(served)/\(BuildFixtures.helloName)")
        server = try TestHTTPServer(directory: served)
        cache = SourceCache(root: "\(scratch.path)/cache")
    }

    override func tearDown() {
        server?.stop()
        server = nil
        scratch = nil
    }

    func testDownloadIsVerifiedCachedAndReportsProgress() throws {
        // @unchecked Sendable: the downloader calls back on one thread at a time.
        final class Seen: @unchecked Sendable { var updates: [DownloadProgress] = [] }
        let seen = Seen()
        let resolver = SourceResolver(cache: cache, mirrorDirectories: [], allowDownload: true,
                                      progress: { seen.updates.append($0) })
        let url = server.url(BuildFixtures.helloName)
        let resolved = try resolver.resolve(url: url, sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(resolved.origin, .download(url))
        XCTAssertEqual(try FileDigest.sha256Hex(path: resolved.path), BuildFixtures.helloSHA256)
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [BuildFixtures.helloSHA256])
        let last = try XCTUnwrap(seen.updates.last)
        XCTAssertTrue(last.finished)
        XCTAssertEqual(last.receivedBytes, 725_946)
        XCTAssertEqual(last.expectedBytes, 725_946)
        XCTAssertEqual(last.fileName, BuildFixtures.helloName)

        server.stop()
        let again = try resolver.resolve(url: url, sha256: BuildFixtures.helloSHA256)
        XCTAssertEqual(again.origin, .cache, "the second resolve needs no server")
    }

    func testDownloadWithWrongSHA256IsRejectedAndNotKept() throws {
        let wrong = String(repeating: "c", count: 64)
        let url = server.url(BuildFixtures.helloName)
        let error = expectPkgLayerError {
            _ = try SourceResolver(cache: cache, allowDownload: true).resolve(url: url, sha256: wrong)
        }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("sha256 mismatch"), text)
        XCTAssertTrue(text.contains(url), text)
        XCTAssertTrue(text.contains(wrong) && text.contains(BuildFixtures.helloSHA256), text)
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [], "the downloaded bytes were deleted")
    }

    func testHTTP404IsAClearError() throws {
        let url = server.url("no-such-file-1.0.tar.gz")
        let error = expectPkgLayerError {
            _ = try SourceResolver(cache: cache, allowDownload: true).resolve(url: url, sha256: BuildFixtures.helloSHA256)
        }
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("404"), text)
        XCTAssertTrue(text.contains(url), text)
        XCTAssertTrue(text.contains("--sources DIR"), text)
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [])
    }

    func testConnectionRefusedIsAClearError() throws {
        let port = server.port
        server.stop()
        let url = "http://127.0.0.1:\(port)/\(BuildFixtures.helloName)"
        let error = expectPkgLayerError {
            _ = try SourceResolver(cache: cache, allowDownload: true).resolve(url: url, sha256: BuildFixtures.helloSHA256)
        }
        XCTAssertTrue(error?.description.contains("download") ?? false, error?.description ?? "")
        XCTAssertEqual(BuildFixtures.contents(of: cache.sourcesDirectory), [])
    }
}
