import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
@testable import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

/// Issue 21: repository indexes are read as streams (a bomb costs time up to PKGLAYER_MAX_INDEX_BYTES,
/// never memory), the stream checks hold at every chunk boundary, apt's `Size` is checked against the
/// download, and an unsatisfiable relation with thousands of alternatives gives a bounded message.
/// The misbehaving-server cases run the binary: PkgLayerCLITests/HostileRepositoryCLITests.swift.
final class HostileRepositoryTests: XCTestCase {
    let sha = String(repeating: "ab", count: 32)

    /// Splitting the index anywhere gives the same packages as reading it whole.
    func testPackagesParserGivesTheSamePackagesWhereverTheChunksEnd() throws {
        let text = """
            Package: a\r
            Version: 1.0\r
            Architecture: amd64\r
            Depends: b (>= 2),\r
             c | d\r
            Filename: pool/a.deb\r
            Size: 10\r
            SHA256: \(sha)\r
            \r
            # a comment between paragraphs
            Package: b
            Version: 2:2.0-1
            Architecture: all
            Description: long
             continued
             .
            Provides: v (= 1)
            Filename: pool/b.deb
            Size: 20
            SHA256: \(sha)


            Package: c
            Version: 3
            Architecture: amd64
            Filename: pool/c.deb
            Size: 30
            SHA256: \(sha)
            """
        let bytes = Array(text.utf8)
        let whole = try AptRepository.parsePackages(bytes, baseURL: "http://x", repository: "apt x", location: "Packages")
        XCTAssertEqual(whole.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(whole[0].depends.map(\.description), ["b >= 2", "c | d"])
        XCTAssertEqual(whole[1].provides.map(\.name), ["v"])
        for size in [1, 2, 3, 7, 64, bytes.count] {
            var parser = PackagesParser(baseURL: "http://x", repository: "apt x", location: "Packages")
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + size)
                try bytes[offset..<end].withUnsafeBytes { try parser.feed($0) }
                offset = end
            }
            XCTAssertEqual(try parser.finish(), whole, "chunks of \(size) bytes")
        }
    }

    /// A line without end (a bomb of one byte repeated) is refused at the paragraph limit, however it is
    /// split: the parser holds only the current line.
    func testAnEndlessLineIsRefusedAtTheParagraphLimitInAnyChunking() throws {
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        try InputLimits.$current.withValue(.lowered([.indexParagraphBytes: 64 << 10])) {
            assertLimitExceeded(.indexParagraphBytes, mentions: ["Packages:1"]) {
                var parser = PackagesParser(baseURL: "http://x", repository: "apt x", location: "Packages")
                for _ in 0..<1000 { try chunk.withUnsafeBytes { try parser.feed($0) } }
                return try parser.finish()
            }
        }
    }

    /// A gzip bomb of blank lines in a Packages index: refused at PKGLAYER_MAX_INDEX_BYTES, read as a
    /// stream (the chunk size is libarchive's, never the whole index).
    func testAnIndexBombStopsAtTheIndexLimit() throws {
        let scratch = try ScratchDirectory()
        let bomb = scratch.path("Packages.gz")
        try writeGzip(bomb, repeating: "\n", megabytes: 64)
        try InputLimits.$current.withValue(.lowered([.indexBytes: 16 << 20])) {
            var largest = 0
            assertLimitExceeded(.indexBytes, mentions: ["http://x/Packages.gz", "decompression bomb"], within: 30) {
                try IndexStream(path: bomb, location: "http://x/Packages.gz").forEachChunk { largest = max(largest, $0.count) }
            }
            XCTAssertLessThanOrEqual(largest, 1 << 20, "the index was not handed over in chunks")
        }
    }

    /// primary.xml read from its compressed file as a stream gives what reading it whole gives; a huge
    /// text node inside a package is refused at the per-package limit, whitespace between packages at
    /// the index limit.
    func testPrimaryIsParsedAsAStream() throws {
        let scratch = try ScratchDirectory()
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n" + #"<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="300">"#
        for i in 0..<300 {
            xml += """
                <package type="rpm"><name>p\(i)-é</name><arch>x86_64</arch><version epoch="0" ver="1.\(i)" rel="1"/>\
                <checksum type="sha256" pkgid="YES">\(sha)</checksum><size package="\(100 + i)"/><location href="Packages/p\(i).rpm"/>\
                <format><rpm:provides><rpm:entry name="cap\(i)"/></rpm:provides><file>/usr/bin/p\(i)</file></format></package>

                """
        }
        xml += "</metadata>\n"
        let path = scratch.path("primary.xml.gz")
        try writeGzip(path, Data(xml.utf8))
        let whole = try YumPrimaryParser.parse(Data(xml.utf8), baseURL: "http://y", repository: "yum y", location: "primary.xml")
        let streamed = try YumPrimaryParser.parse(file: path, baseURL: "http://y", repository: "yum y", location: "primary.xml")
        XCTAssertEqual(whole.count, 300)
        XCTAssertEqual(streamed, whole)
        XCTAssertEqual(streamed[299].name, "p299-é")
        XCTAssertEqual(streamed[299].files, ["/usr/bin/p299"])

        // One package's name of 8 MiB: refused at the per-package limit, long before the index limit.
        let huge = scratch.path("huge.xml.gz")
        try writeGzip(huge, prefix: #"<?xml version="1.0"?><metadata><package type="rpm"><name>"#, repeating: "n", megabytes: 8)
        assertLimitExceeded(.indexParagraphBytes, mentions: ["primary.xml", "package #1"], within: 30) {
            try YumPrimaryParser.parse(file: huge, baseURL: "http://y", repository: "yum y", location: "primary.xml")
        }
        // Whitespace without end between packages: the index limit.
        let spaces = scratch.path("spaces.xml.gz")
        try writeGzip(spaces, prefix: #"<?xml version="1.0"?><metadata>"#, repeating: " ", megabytes: 48)
        try InputLimits.$current.withValue(.lowered([.indexBytes: 16 << 20])) {
            assertLimitExceeded(.indexBytes, mentions: ["primary.xml"], within: 30) {
                try YumPrimaryParser.parse(file: spaces, baseURL: "http://y", repository: "yum y", location: "primary.xml")
            }
        }
    }

    /// What XMLParser cannot survive is refused before it sees it, wherever a chunk ends: a DOCTYPE, a
    /// processing instruction, bytes that are not UTF-8; UTF-8 split across chunks passes unchanged.
    func testThePlainXMLCheckHoldsAcrossChunkBoundaries() throws {
        func run(_ bytes: [UInt8], chunk: Int) throws -> [UInt8] {
            var check = PlainXMLCheck(what: "the primary metadata", location: "primary.xml")
            var out: [UInt8] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunk)
                out += try bytes[offset..<end].withUnsafeBytes { try check.feed($0) }
                offset = end
            }
            return out + (try check.finish())
        }
        let good = Array((#"<?xml version="1.0"?><m><n>naïve — 日本 🙂</n></m>"#).utf8)
        let bad: [(String, [UInt8])] = [
            ("DOCTYPE", Array(#"<?xml version="1.0"?><!DoCtYpE m [<!ATTLIST m a CDATA #IMPLIED>]><m/>"#.utf8)),
            ("processing instruction", Array(#"<?xml version="1.0"?><m><?x?></m>"#.utf8)),
            ("not UTF-8", Array(#"<?xml version="1.0"?><m"#.utf8) + [0xC3, 0x28] + Array("/>".utf8)),
            ("not UTF-8", Array(#"<?xml version="1.0"?><m>"#.utf8) + [0xED, 0xA0, 0x80] + Array("</m>".utf8)),   // a surrogate
            ("not UTF-8", Array(#"<?xml version="1.0"?><m>"#.utf8) + [0xF0, 0x9F, 0x99]),   // cut short at the end
        ]
        for chunk in 1...12 {
            XCTAssertEqual(try run(good, chunk: chunk), good, "chunks of \(chunk)")
            XCTAssertEqual(try run([0xEF, 0xBB, 0xBF] + good, chunk: chunk), [0xEF, 0xBB, 0xBF] + good, "with a BOM, chunks of \(chunk)")
            for (problem, bytes) in bad {
                XCTAssertThrowsError(try run(bytes, chunk: chunk), "\(problem), chunks of \(chunk)") { error in
                    let text = "\(error)"
                    XCTAssertTrue(text.contains(problem) && text.contains("primary.xml"), text)
                }
            }
        }
    }

    /// apt's `Size` is the size the download must have (a local file:// archive too): another size is
    /// an error naming the file, and nothing is cached.
    func testTheIndexSizeIsCheckedAgainstTheDownload() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.write("pool/a.deb", String(repeating: "d", count: 1000))
        let digest = try FileDigest.sha256Hex(path: file)
        let cache = PackageDownloadCache(root: scratch.path("cache"))
        for size: Int64 in [999, 1001, 10] {
            XCTAssertThrowsError(try cache.package(url: "file://" + file, sha256: digest, size: size)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("file://\(file)") && text.contains("size as \(size)"), text)
            }
        }
        XCTAssertEqual(filesUnder(scratch.path("cache")), [], "a file of the wrong size was kept")
        XCTAssertEqual(try cache.package(url: "file://" + file, sha256: digest, size: 1000), cache.packages.path(forSHA256: digest))
    }

    /// A relation with 10 000 alternatives, none available: the message lists a few and says how many
    /// more there are, instead of all of them.
    func testAnUnsatisfiableRelationWithThousandsOfAlternativesGivesABoundedMessage() throws {
        let clauses = (0..<10_000).map { Dependency.Clause(name: "missing-\($0)") }
        let app = AvailablePackage(name: "app", version: "1", architecture: "amd64", depends: [Dependency(alternatives: clauses)],
                                   repository: "apt x", location: "http://x/app.deb", sha256: sha, size: 1)
        let resolver = DependencyResolver(index: PackageIndex([app]), scheme: .debian, architectures: ["amd64", "all"],
                                          sources: "http://x stable main")
        XCTAssertThrowsError(try resolver.resolve(roots: [Dependency(name: "app")])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing-0 | missing-1"), text)
            XCTAssertTrue(text.contains("… and 9990 more"), text)
            XCTAssertFalse(text.contains("missing-9999"), "every alternative was listed")
            XCTAssertLessThan(text.utf8.count, 4000, text)
        }
    }

    /// Resolving gives the lockfile to write and writes nothing itself (the image pipeline writes it
    /// once every package was layered).
    func testResolutionWritesNoLockfile() throws {
        let scratch = try ScratchDirectory()
        let outcome = try PackageResolution.resolution(format: .deb, architecture: .x86_64, roots: [], local: [], repositories: [],
                                                       lockfile: scratch.path("missing.lock.json"), offline: true,
                                                       cacheRoot: scratch.path("cache"))
        XCTAssertEqual(outcome.packages, [])
        XCTAssertEqual(outcome.lockfile?.packages, [])
        XCTAssertEqual(filesUnder(scratch.path), [])
    }

    /// A gzip file of `prefix` and then `repeating` for `megabytes` MiB, compressed as it is written.
    private func writeGzip(_ path: String, prefix: String = "", repeating: String, megabytes: Int) throws {
        try generateWithPython("""
            import sys, zlib
            out = open(sys.argv[1], 'wb')
            z = zlib.compressobj(6, zlib.DEFLATED, 31)
            out.write(z.compress(sys.argv[2].encode()))
            block = (sys.argv[3] * (1 << 20)).encode()
            for _ in range(int(sys.argv[4])):
                out.write(z.compress(block))
            out.write(z.flush())
            """, [path, prefix, repeating, String(megabytes)])
    }

    private func writeGzip(_ path: String, _ data: Data) throws {
        let plain = path + ".plain"
        try data.write(to: URL(fileURLWithPath: plain))
        try generateWithPython("""
            import gzip, sys
            open(sys.argv[2], 'wb').write(gzip.compress(open(sys.argv[1], 'rb').read()))
            """, [plain, path])
    }
}
