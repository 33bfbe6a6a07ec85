import Foundation
import PkgLayerCore
@testable import PkgLayerRepositories
import XCTest

/// Inputs that crashed the yum metadata parsers under the fuzz target (Fuzz/FuzzYum, docs/fuzzing.md).
/// Each must now fail with a clean PkgLayerError.
final class YumMetadataFuzzRegressionTests: XCTestCase {
    /// Foundation's XMLParser on Linux traps when an element or attribute name is not UTF-8
    /// (swiftlang/swift-corelibs-foundation#5534): the fuzzer's minimised input `<\xfft>\n` (5 bytes),
    /// the issue's `<a\xff>` and an attribute name.
    static let notUTF8: [(name: String, bytes: [UInt8])] = [
        ("fuzzer's minimised input", Array(Data(base64Encoded: "PP90Pgo=")!)),
        ("element name", [0x3C, 0x61, 0xFF, 0x3E]),
        ("attribute name", Array(#"<repomd><data type="primary" t"#.utf8) + [0xC3] + Array(#"="1"/></repomd>"#.utf8)),
    ]

    func testMetadataThatIsNotUTF8IsRefused() {
        for input in Self.notUTF8 {
            assertRefused(input.name) { _ = try YumRepomd(parsing: input.bytes, location: "repomd.xml") }
            assertRefused(input.name) {
                _ = try YumPrimaryParser.parse(Data(input.bytes), baseURL: "http://yum.example", repository: "fuzz", location: "primary.xml")
            }
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
    }

    private func assertRefused(_ name: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(name): accepted", file: file, line: line)
        } catch let error as PkgLayerError {
            XCTAssertEqual(error.code, .rpm, "\(name): \(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains("not UTF-8"), "\(name): \(error)", file: file, line: line)
        } catch {
            XCTFail("\(name): \(type(of: error)) \(error)", file: file, line: line)
        }
    }
}
