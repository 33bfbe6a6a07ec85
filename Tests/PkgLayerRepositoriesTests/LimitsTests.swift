import Foundation
import PkgLayerCore
@testable import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

/// Repository indexes with absurd numbers or sizes of entries are refused (docs/limits.md).
final class IndexLimitsTests: XCTestCase {
    let sha = String(repeating: "ab", count: 32)

    func paragraph(_ i: Int, extra: String = "") -> String {
        "Package: p\(i)\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/p\(i).deb\nSize: 10\nSHA256: \(sha)\n\(extra)\n"
    }

    func testAptIndexWithTooManyPackages() throws {
        let index = Array((0..<3000).map { paragraph($0) }.joined().utf8)
        let parse = { try AptRepository.parsePackages(index, baseURL: "http://x", repository: "apt x", location: "Packages") }
        XCTAssertEqual(try parse().count, 3000)
        let error = InputLimits.$current.withValue(.lowered([.indexEntries: 1000])) {
            assertLimitExceeded(.indexEntries, mentions: ["package count is 1001", "PKGLAYER_MAX_INDEX_ENTRIES="]) { try parse() }
        }
        XCTAssertEqual(error?.location, "Packages:\(1000 * 7 + 1)")
    }

    func testAptParagraphPastTheLimit() throws {
        let long = "Description: long\n" + String(repeating: " more text of a description that never ends\n", count: 40_000)
        let index = Array((paragraph(0) + paragraph(1, extra: long) + paragraph(2)).utf8)
        let error = assertLimitExceeded(.indexParagraphBytes, mentions: ["the paragraph is past", "missing blank line", "PKGLAYER_MAX_INDEX_PARAGRAPH_BYTES="]) {
            try AptRepository.parsePackages(index, baseURL: "http://x", repository: "apt x", location: "Packages")
        }
        XCTAssertEqual(error?.location, "Packages:8")
        // One paragraph for the whole file (no blank lines) is refused the same way.
        let joined = Array(String(repeating: "Depends: a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p\n", count: 30_000).utf8)
        assertLimitExceeded(.indexParagraphBytes) {
            try AptRepository.parsePackages(joined, baseURL: "http://x", repository: "apt x", location: "Packages")
        }
    }

    /// XML entities that expand to gigabytes ("billion laughs" in XML) never reach the parser: yum
    /// metadata with a DOCTYPE is refused before parsing (createrepo_c writes none).
    func testYumPrimaryEntityBombFailsQuickly() throws {
        var entities = #"<!ENTITY l0 "lollollollollollollollollollol">"#
        for level in 1...9 { entities += "<!ENTITY l\(level) \"" + String(repeating: "&l\(level - 1);", count: 10) + "\">" }
        let xml = #"<?xml version="1.0"?><!DOCTYPE metadata [\#(entities)]><metadata><package type="rpm"><name>&l9;</name></package></metadata>"#
        let start = Date()
        XCTAssertThrowsError(try YumPrimaryParser.parse(Data(xml.utf8), baseURL: "http://x", repository: "yum x", location: "primary.xml")) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .rpm, "\(error)")
            XCTAssertTrue("\(error)".contains("has a DOCTYPE"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testYumPrimaryWithTooManyPackages() throws {
        var xml = #"<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">"#
        for i in 0..<1500 {
            xml += #"<package type="rpm"><name>p\#(i)</name><arch>x86_64</arch><version epoch="0" ver="1" rel="1"/>"#
            xml += #"<checksum type="sha256" pkgid="YES">\#(sha)</checksum><size package="10"/><location href="p/p\#(i).rpm"/></package>"#
        }
        xml += "</metadata>"
        let data = Data(xml.utf8)
        XCTAssertEqual(try YumPrimaryParser.parse(data, baseURL: "http://x", repository: "yum x", location: "primary.xml").count, 1500)
        InputLimits.$current.withValue(.lowered([.indexEntries: 1000])) {
            assertLimitExceeded(.indexEntries, mentions: ["the primary index's package count is 1001"]) {
                try YumPrimaryParser.parse(data, baseURL: "http://x", repository: "yum x", location: "primary.xml")
            }
        }
    }
}
