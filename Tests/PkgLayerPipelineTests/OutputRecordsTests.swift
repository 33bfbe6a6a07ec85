import Foundation
import PkgLayerCore
@testable import PkgLayerPipeline
import PkgLayerTestSupport
import XCTest

/// `OutputRecords`, the no-op check for image outputs: an output is current only when it was recorded
/// with the same identity (image) and the file is untouched since (inode, size, mtime).
final class OutputRecordsTests: XCTestCase {
    let identity = "oci-archive sha256:1111 example/app:1.0\n"

    private func status(_ path: String) throws -> stat {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw PkgLayerError.posix("lstat", path: path) }
        return st
    }

    private func setMTime(_ path: String, _ time: timespec) throws {
        var times = [time, time]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw PkgLayerError.posix("utimensat", path: path) }
    }

    func testFileIsCurrentOnlyWhileRecordedAndUntouched() throws {
        let scratch = try ScratchDirectory()
        let records = OutputRecords(directory: scratch.path("cache/image-outputs"))
        let output = try scratch.write("out/app-1.0.oci.tar", "image bytes")

        XCTAssertFalse(records.isCurrent(output, identity: identity), "nothing recorded yet")
        records.record(output, identity: identity)
        XCTAssertTrue(records.isCurrent(output, identity: identity))
        XCTAssertFalse(records.isCurrent(output, identity: "oci-archive sha256:2222 example/app:1.0\n"), "another image")
        let other = try scratch.write("out/other.oci.tar", "image bytes")
        XCTAssertFalse(records.isCurrent(other, identity: identity), "the record is per path")

        // Changed in place: same inode, other size.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: output))
        handle.seekToEndOfFile()
        handle.write(Data("!".utf8))
        handle.closeFile()
        XCTAssertFalse(records.isCurrent(output, identity: identity), "the file grew")
        records.record(output, identity: identity)
        XCTAssertTrue(records.isCurrent(output, identity: identity), "recorded again")

        // Same size and inode, other mtime.
        var time = try status(output).st_mtim
        time.tv_sec -= 3600
        try setMTime(output, time)
        XCTAssertFalse(records.isCurrent(output, identity: identity), "the mtime changed")
        records.record(output, identity: identity)

        // Replaced by another file with the same bytes and mtime: only the inode differs.
        let before = try status(output)
        let replacement = try scratch.write("out/replacement", "image bytes!")
        try setMTime(replacement, before.st_mtim)
        guard rename(replacement, output) == 0 else { throw PkgLayerError.posix("rename", path: output) }
        let after = try status(output)
        XCTAssertNotEqual(after.st_ino, before.st_ino, "precondition: a new inode")
        XCTAssertEqual(after.st_size, before.st_size, "precondition: the same size")
        XCTAssertFalse(records.isCurrent(output, identity: identity), "another file at the path")
        records.record(output, identity: identity)
        XCTAssertTrue(records.isCurrent(output, identity: identity))

        try FileManager.default.removeItem(atPath: output)
        XCTAssertFalse(records.isCurrent(output, identity: identity), "removed")
    }

    /// An OCI layout is a directory, stamped by its index.json.
    func testLayoutDirectoryIsStampedByItsIndex() throws {
        let scratch = try ScratchDirectory()
        let records = OutputRecords(directory: scratch.path("cache/image-outputs"))
        let layout = try scratch.makeDirectory("out/app-1.0.oci")

        records.record(layout, identity: identity)
        XCTAssertFalse(records.isCurrent(layout, identity: identity), "a directory without index.json is not a layout")

        try scratch.write("out/app-1.0.oci/index.json", #"{"schemaVersion":2}"#)
        records.record(layout, identity: identity)
        XCTAssertTrue(records.isCurrent(layout, identity: identity))

        try scratch.write("out/app-1.0.oci/index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        XCTAssertFalse(records.isCurrent(layout, identity: identity), "index.json rewritten")
        records.record(layout, identity: identity)
        try FileManager.default.removeItem(atPath: layout)
        XCTAssertFalse(records.isCurrent(layout, identity: identity), "removed")
    }
}
