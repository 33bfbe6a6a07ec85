import Foundation
import PkgLayerCore
import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

/// The optional `base` object of a lockfile: a registry base's reference and manifest digest.
final class LockfileBaseTests: XCTestCase {
    private let hex = String(repeating: "0123456789abcdef", count: 4)

    /// Written with sorted keys, read back equal; jq reads the digest.
    func testABaseRoundTrips() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("app.lock.json")
        let lock = Lockfile(packageFormat: .deb, architecture: "amd64", inputs: "sha256:\(hex)", packages: [],
                            base: .init(reference: "127.0.0.1:5000/base/os:1", digest: "sha256:\(hex)"))
        try lock.write(to: path)
        XCTAssertEqual(try Lockfile.read(path: path), lock)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"architecture\": \"amd64\",\n  \"base\": {\n    \"digest\": \"sha256:\(hex)\",\n    \"reference\": \"127.0.0.1:5000/base/os:1\"\n  },\n"), text)
        try requireTool("jq")
        XCTAssertEqual(try TestProcess.runChecked("jq", ["-r", ".base.digest", path]).stdoutText, "sha256:\(hex)\n")
    }

    /// A lockfile written before bases existed reads as it did, with no base; writing it again gives its bytes.
    func testAnOldLockfileReadsWithoutABase() throws {
        let scratch = try ScratchDirectory()
        let old = """
            {
              "architecture": "amd64",
              "format": "pkglayer-lock/1",
              "inputs": "sha256:\(hex)",
              "packageFormat": "deb",
              "packages": [
                {
                  "architecture": "amd64",
                  "name": "libc6",
                  "repository": "apt http://x bookworm main",
                  "sha256": "\(hex)",
                  "size": 1,
                  "url": "http://x/pool/l.deb",
                  "version": "2.36-9"
                }
              ]
            }

            """
        let path = try scratch.write("old.lock.json", old)
        let read = try Lockfile.read(path: path)
        XCTAssertNil(read.base)
        XCTAssertEqual(read.packages.map(\.name), ["libc6"])
        let again = scratch.path("again.lock.json")
        try read.write(to: again)
        XCTAssertEqual(try String(contentsOfFile: again, encoding: .utf8), old)
    }

    /// A malformed base is an error naming the lockfile.
    func testAMalformedBaseIsRefused() throws {
        let scratch = try ScratchDirectory()
        let head = #""format": "pkglayer-lock/1", "packageFormat": "deb", "architecture": "amd64", "inputs": "x", "packages": []"#
        let cases: [(String, String)] = [
            (#"{\#(head), "base": "host/repo:1"}"#, "'base' must be an object"),
            (#"{\#(head), "base": {"reference": "host/repo:1"}}"#, "base lacks the text field 'digest'"),
            (#"{\#(head), "base": {"reference": "host/repo:1", "digest": "sha256:XYZ"}}"#, "base: digest 'sha256:XYZ' is not sha256:<64 lowercase hex digits>"),
            (#"{\#(head), "base": {"digest": "sha256:\#(hex)"}}"#, "base lacks the text field 'reference'"),
        ]
        for (index, (content, expected)) in cases.enumerated() {
            let path = try scratch.write("bad\(index).json", content)
            XCTAssertThrowsError(try Lockfile.read(path: path)) { error in
                let error = error as? PkgLayerError
                XCTAssertEqual(error?.location, path)
                XCTAssertTrue(error?.message.contains(expected) == true, "\(content): \(String(describing: error))")
            }
        }
    }
}
