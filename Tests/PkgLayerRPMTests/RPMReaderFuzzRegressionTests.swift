import Foundation
import PkgLayerCore
import PkgLayerRPM
import PkgLayerTestSupport
import XCTest

/// Inputs that crashed the rpm reader under the fuzz target (Fuzz/FuzzRPM, docs/fuzzing.md). Each must
/// now fail with a clean PkgLayerError.
final class RPMReaderFuzzRegressionTests: XCTestCase {
    /// A 216-byte rpm: lead, a signature header with no digests, and a main header holding NAME "a",
    /// VERSION "1" and BUILDTIME stored as an INT64 0xffffffffffffffff (librpm accepts any integer
    /// type for BUILDTIME). The reader converted it to Int64 with a trapping conversion.
    static let buildTimeBeyondInt64 = """
        7avu2wMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAUAAAAAAAAAAAAAAAAAAAAA\
        jq3oAQAAAAAAAAABAAAABAAAA+8AAAAEAAAAAAAAAAEAAAAAAAAAAI6t6AEAAAAAAAAAAwAAABAAAAPoAAAABgAAAAAAAAABAAAD6QAAAAYAAAACAAAAAQAAA+4AAAAF\
        AAAACAAAAAFhADEAAAAAAP//////////
        """

    func testBuildTimeBeyondInt64IsAMalformedPackage() throws {
        let scratch = try ScratchDirectory()
        let path = "\(scratch.path)/buildtime.rpm"
        try XCTUnwrap(Data(base64Encoded: Self.buildTimeBeyondInt64)).write(to: URL(fileURLWithPath: path))
        for staging in [nil, "\(scratch.path)/staging"] {
            do {
                _ = try RPMReader().read(path: path, extractTo: staging)
                XCTFail("the rpm was accepted")
            } catch let error as PkgLayerError {
                XCTAssertEqual(error.code, .rpm, "\(error)")
                XCTAssertTrue(error.message.contains("BUILDTIME"), "\(error)")
                XCTAssertEqual(error.location, path)
            }
            if let staging { XCTAssertFalse(FileManager.default.fileExists(atPath: staging), "a failed read left \(staging)") }
        }
    }
}
