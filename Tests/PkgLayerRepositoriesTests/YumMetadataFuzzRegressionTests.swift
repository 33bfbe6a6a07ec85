import Foundation
import PkgLayerCore
@testable import PkgLayerRepositories
import XCTest

/// Inputs that crashed the yum metadata parsers under the fuzz target (Fuzz/FuzzYum, docs/fuzzing.md),
/// all inside Foundation's XMLParser. Each must now fail with a clean PkgLayerError before it gets there.
final class YumMetadataFuzzRegressionTests: XCTestCase {
    /// Foundation's XMLParser on Linux traps when an element or attribute name is not UTF-8
    /// (swiftlang/swift-corelibs-foundation#5534): the fuzzer's minimised input `<\xfft>\n` (5 bytes),
    /// the issue's `<a\xff>` and an attribute name.
    static let notUTF8: [(name: String, bytes: [UInt8])] = [
        ("fuzzer's minimised input", Array(Data(base64Encoded: "PP90Pgo=")!)),
        ("element name", [0x3C, 0x61, 0xFF, 0x3E]),
        ("attribute name", Array(#"<repomd><data type="primary" t"#.utf8) + [0xC3] + Array(#"="1"/></repomd>"#.utf8)),
    ]

    /// Well-formed XML that Foundation's XMLParser on Linux dies on (a NULL dereference): the fuzzer's
    /// minimised input `<?x?>` (a processing instruction without data), and what reading its source
    /// showed next to it: NOTATION and ATTLIST declarations in a DOCTYPE.
    static let killsXMLParser: [(name: String, text: String)] = [
        ("fuzzer's minimised input", String(decoding: Data(base64Encoded: "PD94Pz4=")!, as: UTF8.self)),
        ("processing instruction after the declaration", #"<?xml version="1.0"?><?xml-stylesheet?><repomd/>"#),
        ("NOTATION", #"<!DOCTYPE a [<!NOTATION n SYSTEM "x">]><a/>"#),
        ("ATTLIST", #"<!DOCTYPE a [<!ELEMENT a ANY><!ATTLIST a b CDATA #IMPLIED>]><a/>"#),
    ]

    func testMetadataThatIsNotUTF8IsRefused() {
        for input in Self.notUTF8 {
            assertRefused(input.name, input.bytes, "not UTF-8")
        }
    }

    func testProcessingInstructionsAndDoctypesAreRefused() {
        for input in Self.killsXMLParser {
            assertRefused(input.name, Array(input.text.utf8), input.text.contains("DOCTYPE") ? "has a DOCTYPE" : "has a processing instruction")
        }
    }

    func testUTF8MetadataStillReads() throws {
        let repomd = """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd><data type="primary"><checksum type="sha256">AB</checksum><location href="repodata/p.xml.gz"/></data></repomd>
            """
        let primary = try YumRepomd(parsing: Array(repomd.utf8), location: "repomd.xml")
        XCTAssertEqual(primary.href, "repodata/p.xml.gz")
        XCTAssertEqual(primary.sha256, "ab")
        // A byte order mark before the declaration is fine too.
        XCTAssertEqual(try YumRepomd(parsing: [0xEF, 0xBB, 0xBF] + Array(repomd.utf8), location: "repomd.xml").href, "repodata/p.xml.gz")
    }

    private func assertRefused(_ name: String, _ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let parsers: [(String, () throws -> Void)] = [
            ("repomd", { _ = try YumRepomd(parsing: bytes, location: "repomd.xml") }),
            ("primary", { _ = try YumPrimaryParser.parse(Data(bytes), baseURL: "http://yum.example", repository: "fuzz", location: "primary.xml") }),
        ]
        for (parser, body) in parsers {
            do {
                try body()
                XCTFail("\(name), \(parser): accepted", file: file, line: line)
            } catch let error as PkgLayerError {
                XCTAssertEqual(error.code, .rpm, "\(name), \(parser): \(error)", file: file, line: line)
                XCTAssertTrue(error.message.contains(expected), "\(name), \(parser): \(error)", file: file, line: line)
            } catch {
                XCTFail("\(name), \(parser): \(type(of: error)) \(error)", file: file, line: line)
            }
        }
    }
}
