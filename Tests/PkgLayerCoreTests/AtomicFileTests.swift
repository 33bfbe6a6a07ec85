import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Packages are written under a temporary name and renamed into place: a reader never sees half a file.
final class AtomicFileTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory(prefix: "pkglayer-atomic") }
    override func tearDown() { scratch = nil }

    private func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() }

    func testTheFinalPathAppearsOnlyOnCommit() throws {
        let target = scratch.path("out.rpm")
        let file = try AtomicFile(path: target, overwrite: false)
        XCTAssertTrue(file.temporaryPath.hasPrefix(scratch.path + "/.out.rpm.tmp-"), file.temporaryPath)
        try file.write("hello ")
        try file.write([0x77, 0x6F])
        let big = [UInt8](repeating: 0x41, count: 3 << 20)   // larger than the write buffer
        try file.write(big)
        try file.write("rld\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "nothing at the final path before commit")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file.temporaryPath))
        XCTAssertEqual(file.bytesWritten, UInt64(6 + 2 + big.count + 4))

        try file.commit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.temporaryPath))
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        XCTAssertEqual(data.count, 6 + 2 + big.count + 4)
        XCTAssertEqual(Array(data.prefix(8)), Array("hello wo".utf8))
        XCTAssertEqual(Array(data.suffix(4)), Array("rld\n".utf8))
        XCTAssertEqual(try names(), ["out.rpm"])
    }

    func testADroppedFileLeavesNothingBehind() throws {
        let target = scratch.path("dropped.deb")
        var temporary = ""
        do {
            let file = try AtomicFile(path: target, overwrite: false)
            temporary = file.temporaryPath
            try file.write("partial")
            XCTAssertTrue(FileManager.default.fileExists(atPath: temporary))
        }
        XCTAssertFalse(temporary.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try names(), [])
    }

    func testAWriterThatThrowsLeavesNothingBehind() throws {
        let target = scratch.path("failed.deb")
        func writePackage() throws {
            let file = try AtomicFile(path: target, overwrite: false)
            try file.write("header")
            try file.append(contentsOf: scratch.path("missing-payload"))
            try file.commit()
        }
        XCTAssertThrowsPkgLayerError(try writePackage(), code: .io)
        XCTAssertEqual(try names(), [])
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let target = try scratch.write("existing.rpm", "old")
        let error = XCTAssertThrowsPkgLayerError(try AtomicFile(path: target, overwrite: false), code: .fileExists)
        XCTAssertEqual(error?.location, target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "old")
        XCTAssertEqual(try names(), ["existing.rpm"], "no temporary file is left by the refusal")

        let file = try AtomicFile(path: target, overwrite: true)
        try file.write("new")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "old", "the old file stays until commit")
        try file.commit()
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "new")
        XCTAssertEqual(try names(), ["existing.rpm"])
    }

    func testTheModeIgnoresTheUmask() throws {
        let old = umask(0o077)
        defer { umask(old) }
        let target = scratch.path("mode.rpm")
        let file = try AtomicFile(path: target, overwrite: false)
        try file.write("x")
        try file.commit()
        XCTAssertEqual(try permissions(target), 0o644)

        let custom = scratch.path("custom.bin")
        let exec = try AtomicFile(path: custom, overwrite: false, mode: 0o755)
        try exec.commit()
        XCTAssertEqual(try permissions(custom), 0o755)
    }

    func testAppendCopiesAWholeFile() throws {
        let source = try scratch.write("source.bin", Data((0..<(2 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let target = scratch.path("copy.bin")
        let file = try AtomicFile(path: target, overwrite: false)
        try file.append(contentsOf: source)
        try file.commit()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), try Data(contentsOf: URL(fileURLWithPath: source)))
        XCTAssertEqual(file.bytesWritten, UInt64((2 << 20) + 17))
    }

    func testAMissingDirectoryIsAnIOError() {
        XCTAssertThrowsPkgLayerError(try AtomicFile(path: scratch.path("no/such/dir/out.rpm"), overwrite: false), code: .io)
    }

    func testTemporaryDirectoryIsRemovedWhenDropped() throws {
        var path = ""
        do {
            let dir = try TemporaryDirectory(parent: scratch.path)
            path = dir.path
            try scratch.write(String(path.dropFirst(scratch.path.count + 1)) + "/inner/file", "x")
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/inner/file"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    private func permissions(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
    }
}
