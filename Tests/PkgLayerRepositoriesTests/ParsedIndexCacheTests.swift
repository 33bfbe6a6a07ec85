import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

final class ParsedIndexCacheTests: XCTestCase {
    /// Debian's bookworm main index as apt keeps it on this machine (66k paragraphs), parsed.
    private func hostIndex() throws -> [AvailablePackage] {
        let lists = "/var/lib/apt/lists"
        let name = try FileManager.default.contentsOfDirectory(atPath: lists)
            .filter { $0.contains("_dists_bookworm_main_binary-") && $0.contains("_Packages") }.sorted().first
        try requireCondition(name != nil, "no bookworm main Packages list in \(lists); run apt-get update")
        let reader = try ArchiveReader(path: "\(lists)/\(name!)", raw: true)
        _ = try reader.next()
        let bytes = try reader.readAll(limit: 1 << 30)
        return try AptRepository.parsePackages(bytes, baseURL: "http://deb.debian.org/debian", repository: "apt bookworm main",
                                               location: "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz")
    }

    func testRoundTripOfDebiansIndexIsExact() throws {
        let parsed = try hostIndex()
        XCTAssertGreaterThan(parsed.count, 50_000)
        let encoded = ParsedIndexCache.encode(parsed)
        let decoded = try ParsedIndexCache.decode(encoded)
        XCTAssertEqual(decoded.count, parsed.count)
        XCTAssertTrue(decoded == parsed, "the decoded records differ from the parsed ones")
        // Something with alternatives, versions and provides made it through.
        XCTAssertTrue(decoded.contains { $0.depends.contains { $0.alternatives.count > 1 } })
        XCTAssertTrue(decoded.contains { !$0.provides.isEmpty })
        XCTAssertTrue(decoded.contains { $0.depends.contains { $0.alternatives.contains { $0.versionOperator != nil } } })
        XCTAssertEqual(ParsedIndexCache.encode(decoded), encoded, "encoding is not deterministic")
    }

    func testRecordsWithEveryFieldRoundTrip() throws {
        let p = AvailablePackage(name: "bash", version: "0:5.1.8-6.el9", architecture: "x86_64",
                                 depends: [Dependency(alternatives: [.init(name: "a", versionOperator: .greaterOrEqual, version: "1"), .init(name: "b")])],
                                 preDepends: [Dependency(name: "/bin/sh")], provides: [.init(name: "sh", versionOperator: .equal, version: "5")],
                                 conflicts: [Dependency(name: "zsh", versionOperator: .lessThan, version: "2")], files: ["/usr/bin/bash", "/bin/sh"],
                                 repository: nil, location: "/tmp/x.rpm", sha256: String(repeating: "ab", count: 32), size: 1 << 40)
        XCTAssertEqual(try ParsedIndexCache.decode(ParsedIndexCache.encode([p, p])), [p, p])
        XCTAssertEqual(try ParsedIndexCache.decode(ParsedIndexCache.encode([])), [])
    }

    func testDamagedFilesAreParsedAgainNeverTrusted() throws {
        let root = try TemporaryDirectory(prefix: "pidx-test")
        let cache = ParsedIndexCache(root: root.path)
        let one = [AvailablePackage(name: "hello", version: "2.10-3", architecture: "amd64", location: "http://x/h.deb", sha256: "00", size: 1)]
        let key = cache.key(indexSHA256: "aa", baseURL: "http://x", repository: "apt x", location: "Packages")
        var parses = 0
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return one }, one)
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return one }, one)
        XCTAssertEqual(parses, 1, "the second lookup parsed again")

        // Truncated, then one byte flipped: both are refused and the index is parsed again.
        let path = cache.path(key)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(cache.load(key))
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return one }, one)
        XCTAssertEqual(parses, 2)
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertNil(cache.load(key))
        XCTAssertThrowsError(try ParsedIndexCache.decode(Array(bytes)))

        // Another index (another sha256), or the same index under another URL, is another entry.
        XCTAssertNotEqual(key, cache.key(indexSHA256: "ab", baseURL: "http://x", repository: "apt x", location: "Packages"))
        XCTAssertNotEqual(key, cache.key(indexSHA256: "aa", baseURL: "http://y", repository: "apt x", location: "Packages"))
    }

    /// Opt-in (PKGLAYER_INDEX_BENCH=1): parse versus load of Debian's index, printed, not asserted.
    func testLoadVersusParseFigures() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_INDEX_BENCH"] == "1" else {
            throw XCTSkip("opt-in: PKGLAYER_INDEX_BENCH=1 prints parse and load times of Debian's index")
        }
        var start = Date()
        let parsed = try hostIndex()
        let parseTime = Date().timeIntervalSince(start)
        let encoded = ParsedIndexCache.encode(parsed)
        start = Date()
        _ = try ParsedIndexCache.decode(encoded)
        let loadTime = Date().timeIntervalSince(start)
        print("parsed-index: \(parsed.count) packages, parse (decompress + parse) \(parseTime) s, load \(loadTime) s, \(encoded.count) bytes")
    }
}
