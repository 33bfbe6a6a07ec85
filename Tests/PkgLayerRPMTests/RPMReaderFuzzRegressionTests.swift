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

    /// A 582-byte rpm: /a, a regular file in the payload, and /l, a ghost symlink with an empty
    /// target (not in the payload). The payload extracted cleanly, then the manifest refused /l and
    /// the read failed with /a left in the staging directory (the fuzz target's "a failed read
    /// leaves nothing behind" check).
    static let ghostSymlinkWithoutTarget = """
        7avu2wMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAUAAAAAAAAAAAAAAAAAAAAA\
        jq3oAQAAAAAAAAABAAAABAAAA+8AAAAEAAAAAAAAAAEAAAAAAAAAAI6t6AEAAAAAAAAACQAAACoAAAPoAAAABgAAAAAAAAABAAAD6QAAAAYAAAACAAAAAQAABAQAAAAE\
        AAAABAAAAAIAAAQGAAAAAwAAAAwAAAACAAAEDAAAAAgAAAAQAAAAAgAABA0AAAAEAAAAFAAAAAIAAARcAAAABAAAABwAAAACAAAEXQAAAAgAAAAkAAAAAgAABF4AAAAI\
        AAAAKAAAAAF0ADEAAAAAAgAAAACBpKH/AAAAAAAAAAAAAABAAAAAAAAAAABhAGwALwAwNzA3MDEwMDAwMDAwMTAwMDA4MWE0MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAx\
        MDAwMDAwMDAwMDAwMDAwMjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDQwMDAwMDAwMC4vYQAAAHgKAAAwNzA3MDEwMDAwMDAwMTAwMDAwMDAw\
        MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMGIwMDAwMDAwMFRSQUlMRVIh\
        ISEAAAAA
        """

    func testAManifestTheHeaderCannotMakeLeavesNothingStaged() throws {
        let scratch = try ScratchDirectory()
        let path = "\(scratch.path)/ghost.rpm"
        try XCTUnwrap(Data(base64Encoded: Self.ghostSymlinkWithoutTarget)).write(to: URL(fileURLWithPath: path))
        let existing = "\(scratch.path)/existing"
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false)
        for staging in ["\(scratch.path)/new", existing] {
            do {
                _ = try RPMReader().read(path: path, extractTo: staging)
                XCTFail("the rpm was accepted")
            } catch let error as PkgLayerError {
                XCTAssertTrue(error.message.contains("symlink has an empty target"), "\(error)")
            }
            let left = (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
            XCTAssertEqual(left, [], "a failed read left files in \(staging)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(scratch.path)/new"))
    }
}
