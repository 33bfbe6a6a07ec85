import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

final class ParsedIndexCacheTests: XCTestCase {
    private let secret = [UInt8](repeating: 0x5a, count: 32)

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
        let encoded = ParsedIndexCache.encode(parsed, secret: secret)
        let decoded = try ParsedIndexCache.decode(encoded, secret: secret)
        XCTAssertEqual(decoded.count, parsed.count)
        XCTAssertTrue(decoded == parsed, "the decoded records differ from the parsed ones")
        // Something with alternatives, versions and provides made it through.
        XCTAssertTrue(decoded.contains { $0.depends.contains { $0.alternatives.count > 1 } })
        XCTAssertTrue(decoded.contains { !$0.provides.isEmpty })
        XCTAssertTrue(decoded.contains { $0.depends.contains { $0.alternatives.contains { $0.versionOperator != nil } } })
        XCTAssertEqual(ParsedIndexCache.encode(decoded, secret: secret), encoded, "encoding is not deterministic")
    }

    func testRecordsWithEveryFieldRoundTrip() throws {
        let p = AvailablePackage(name: "bash", version: "0:5.1.8-6.el9", architecture: "x86_64",
                                 depends: [Dependency(alternatives: [.init(name: "a", versionOperator: .greaterOrEqual, version: "1"), .init(name: "b")])],
                                 preDepends: [Dependency(name: "/bin/sh")], provides: [.init(name: "sh", versionOperator: .equal, version: "5")],
                                 conflicts: [Dependency(name: "zsh", versionOperator: .lessThan, version: "2")], files: ["/usr/bin/bash", "/bin/sh"],
                                 repository: nil, location: "/tmp/x.rpm", sha256: String(repeating: "ab", count: 32), size: 1 << 40)
        XCTAssertEqual(try ParsedIndexCache.decode(ParsedIndexCache.encode([p, p], secret: secret), secret: secret), [p, p])
        XCTAssertEqual(try ParsedIndexCache.decode(ParsedIndexCache.encode([], secret: secret), secret: secret), [])
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
        XCTAssertThrowsError(try ParsedIndexCache.decode(Array(bytes), secret: try cache.secret(create: false)))

        // Another index (another sha256), or the same index under another URL, is another entry.
        XCTAssertNotEqual(key, cache.key(indexSHA256: "ab", baseURL: "http://x", repository: "apt x", location: "Packages"))
        XCTAssertNotEqual(key, cache.key(indexSHA256: "aa", baseURL: "http://y", repository: "apt x", location: "Packages"))
    }

    /// The trailing digest is keyed by the cache's own secret: an entry forged by someone who can write the
    /// cache but not read the secret (here: a well-formed file authenticated with another secret) is refused and
    /// the index parsed again; the secret is 0600 and the directories 0700.
    func testAnEntryWrittenWithoutTheCachesSecretIsRefusedAndParsedAgain() throws {
        let root = try TemporaryDirectory(prefix: "pidx-forge")
        let cache = ParsedIndexCache(root: root.path + "/cache")
        let genuine = [AvailablePackage(name: "hello", version: "2.10-3", architecture: "amd64", location: "http://x/h.deb", sha256: "00", size: 1)]
        let forged = [AvailablePackage(name: "hello", version: "9.99-1", architecture: "amd64", location: "http://evil/h.deb", sha256: "ff", size: 1)]
        let key = cache.key(indexSHA256: "aa", baseURL: "http://x", repository: "apt x", location: "Packages")
        var parses = 0
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return genuine }, genuine)

        var st = stat()
        XCTAssertEqual(stat(cache.secretPath, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the secret is readable by its owner only")
        XCTAssertEqual(st.st_size, 32)
        for directory in [root.path + "/cache", cache.directory] {
            XCTAssertEqual(stat(directory, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o700, directory)
        }
        XCTAssertEqual(stat(cache.path(key), &st), 0)
        XCTAssertEqual(st.st_mode & 0o077, 0, "an entry is private")

        // Forged: the same layout, authenticated with a secret that is not the cache's.
        try Data(ParsedIndexCache.encode(forged, secret: secret)).write(to: URL(fileURLWithPath: cache.path(key)))
        XCTAssertNil(cache.load(key), "an entry made without the cache's secret was accepted")
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return genuine }, genuine, "the forged records were used")
        XCTAssertEqual(parses, 2, "the index was not parsed again")
        XCTAssertEqual(cache.load(key), genuine, "the re-parsed entry was kept")

        // A secret file that others could read (or of the wrong size) is not used: it is replaced, and
        // entries made with it are parsed again.
        chmod(cache.secretPath, 0o644)
        XCTAssertNil(cache.load(key))
        XCTAssertEqual(try cache.packages(key: key) { parses += 1; return genuine }, genuine)
        XCTAssertEqual(parses, 3)
        XCTAssertEqual(stat(cache.secretPath, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(cache.load(key), genuine)
    }

    /// Opt-in (PKGLAYER_INDEX_BENCH=1): parse versus load of Debian's index, printed, not asserted.
    func testLoadVersusParseFigures() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_INDEX_BENCH"] == "1" else {
            throw XCTSkip("opt-in: PKGLAYER_INDEX_BENCH=1 prints parse and load times of Debian's index")
        }
        var start = Date()
        let parsed = try hostIndex()
        let parseTime = Date().timeIntervalSince(start)
        let encoded = ParsedIndexCache.encode(parsed, secret: secret)
        start = Date()
        _ = try ParsedIndexCache.decode(encoded, secret: secret)
        let loadTime = Date().timeIntervalSince(start)
        print("parsed-index: \(parsed.count) packages, parse (decompress + parse) \(parseTime) s, load \(loadTime) s, \(encoded.count) bytes")
    }
}
