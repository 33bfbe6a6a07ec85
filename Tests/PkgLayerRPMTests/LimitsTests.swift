import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import PkgLayerTestSupport
import XCTest

/// Doctored rpm headers and payload bombs are refused before anything is allocated or left behind
/// (docs/limits.md).
final class RPMLimitsTests: XCTestCase {
    /// A small valid rpm and the offsets of its signature and main header intros.
    func smallPackage(content: (Fixture) throws -> Void = { try $0.file("/usr/share/hello/a", "a\n") }) throws -> (Fixture, String, sig: Int, main: Int) {
        let fixture = try Fixture()
        try content(fixture)
        let out = fixture.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pkg)))
        let sig = RPMLead.size
        let sigSize = 16 + Int(UInt32(bigEndianBytes: bytes[sig + 8..<sig + 12])) * 16 + Int(UInt32(bigEndianBytes: bytes[sig + 12..<sig + 16]))
        var main = sig + sigSize
        main += (8 - main % 8) % 8
        XCTAssertEqual(Array(bytes[main..<main + 3]), [0x8E, 0xAD, 0xE8])
        return (fixture, pkg, sig, main)
    }

    /// A copy of `pkg` with a big-endian UInt32 written at `offset`.
    func doctored(_ pkg: String, at offset: Int, _ value: UInt32, name: String) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pkg)))
        bytes.replaceSubrange(offset..<offset + 4, with: value.bigEndianBytes)
        let path = (pkg as NSString).deletingLastPathComponent + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func expectRPMError(_ pkg: String, _ text: String, staging: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try RPMReader().read(path: pkg, extractTo: staging), file: file, line: line) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .rpm, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "'\(text)' missing from: \(error)", file: file, line: line)
        }
        XCTAssertNil(contentsUnder(staging), file: file, line: line)
    }

    func testHeaderDataPastTheLimitIsRefusedBeforeItIsRead() throws {
        let (fixture, pkg, _, main) = try smallPackage()
        let staging = fixture.path + "/staging"
        // 255 MiB: within rpm's format, past pkglayer's 64 MiB default.
        let forged = try doctored(pkg, at: main + 12, 0x0FF0_0000, name: "data.rpm")
        assertLimitExceeded(.rpmHeaderBytes, mentions: ["the main header's data is 255 MiB", "PKGLAYER_MAX_RPM_HEADER_BYTES="], within: 1) {
            try RPMReader().read(path: forged, extractTo: staging)
        }
        XCTAssertNil(contentsUnder(staging))
        // Raised to rpm's own limit, the claim is checked against the file: no 255 MiB allocation.
        InputLimits.$current.withValue(.lowered([.rpmHeaderBytes: 0x0FFF_FFFF])) {
            expectRPMError(forged, "the main header claims", staging: staging)
        }
        // An intact package under a lowered limit.
        InputLimits.$current.withValue(.lowered([.rpmHeaderBytes: 256])) {
            assertLimitExceeded(.rpmHeaderBytes) { try RPMReader().read(path: pkg, extractTo: staging) }
        }
        XCTAssertNil(contentsUnder(staging))
    }

    func testDoctoredTagCounts() throws {
        let (fixture, pkg, sig, main) = try smallPackage()
        let staging = fixture.path + "/staging"
        expectRPMError(try doctored(pkg, at: main + 8, 0x0001_0000, name: "tags.rpm"), "beyond rpm's limits (65535 tags", staging: staging)
        expectRPMError(try doctored(pkg, at: main + 8, 0xFFFF, name: "tags2.rpm"), "is truncated or forged: the main header claims", staging: staging)
        expectRPMError(try doctored(pkg, at: sig + 8, 33, name: "sig.rpm"), "the signature header claims 33 tags", staging: staging)
        expectRPMError(try doctored(pkg, at: sig + 12, 0x0400_0001, name: "sigdata.rpm"), "beyond rpm's limits (32 tags, 67108864 bytes)", staging: staging)
        InputLimits.$current.withValue(.lowered([.rpmHeaderTags: 10])) {
            assertLimitExceeded(.rpmHeaderTags, mentions: ["the main header's tag count is", "PKGLAYER_MAX_RPM_HEADER_TAGS="]) {
                try RPMReader().read(path: pkg, extractTo: staging)
            }
        }
        XCTAssertNil(contentsUnder(staging))
    }

    /// 16 MiB of zeros gzip to some 16 KiB: with the expansion floor lowered to 1 MiB the payload
    /// member is refused at its cpio header, and the staging directory is removed again.
    func testPayloadBombLeavesNothingStaged() throws {
        let (fixture, pkg, _, _) = try smallPackage { f in
            try f.file("/usr/share/hello/a", "a\n")
            let zeros = f.path + "/zeros"
            XCTAssertTrue(FileManager.default.createFile(atPath: zeros, contents: Data(count: 16 << 20)))
            f.entries.append(ManifestEntry(path: "/usr/share/hello/zeros", kind: .file, mode: 0o644, mtime: f.mtime, size: 16 << 20,
                                           sha256: try FileDigest.sha256Hex(path: zeros), sourcePath: zeros))
        }
        let staging = fixture.path + "/staging"
        InputLimits.$current.withValue(.lowered([.expansionFloorBytes: 1 << 20])) {
            assertLimitExceeded(.expansionRatio, mentions: ["zeros"]) { try RPMReader().read(path: pkg, extractTo: staging) }
        }
        XCTAssertNil(contentsUnder(staging))
        let read = try RPMReader().read(path: pkg, extractTo: staging)
        XCTAssertEqual(read.manifest["/usr/share/hello/zeros"]?.size, 16 << 20)
    }
}
