import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// The tar edge cases dpkg must read: names and link targets around the 100-byte field, numbers that
/// need GNU base-256, non-ASCII bytes. Checked by GNU tar, by dpkg's own unpacker and by our reader.
final class GNUTarWriterTests: XCTestCase {
    private final class Collect: ByteSink {
        var bytes: [UInt8] = []
        var finished = false
        func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
        func finish() throws { finished = true }
    }

    func testLayoutAndPadding() throws {
        let sink = Collect()
        let tar = GNUTarWriter(sink: sink)
        var h = ArchiveEntryHeader(path: "./a", mode: 0o100644)
        h.userName = "root"; h.groupName = "root"; h.mtime = 1
        try tar.writeMember(h, data: Array("hello".utf8))
        try tar.finish()
        XCTAssertTrue(sink.finished)
        XCTAssertEqual(sink.bytes.count, 10240, "padded to one GNU record")
        XCTAssertEqual(Array(sink.bytes[257..<265]), Array("ustar  \0".utf8))
        XCTAssertEqual(String(decoding: sink.bytes[124..<136], as: UTF8.self), "00000000005\0")
        XCTAssertEqual(Array(sink.bytes[512..<517]), Array("hello".utf8))
        XCTAssertTrue(sink.bytes[517..<10240].allSatisfy { $0 == 0 })
    }

    func testShortOrLongDataIsAnError() throws {
        let tar = GNUTarWriter(sink: Collect())
        var h = ArchiveEntryHeader(path: "./a", mode: 0o100644)
        h.size = 3
        try tar.writeHeader(h)
        XCTAssertThrowsError(try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try tar.writeData($0) })
        XCTAssertThrowsError(try tar.finish(), "a member short of its size must not be finished silently")
    }

    func testEdgeCasesInstallWithDpkg() throws {
        let fx = try Fixture()
        let dir = "/opt/edge/"
        let base = dir.utf8.count + 1 // "./" prefix minus the leading "/" of the path
        // Member names ("./opt/edge/…") of 99, 100 and 101 bytes.
        func fileName(_ length: Int) -> String { String(repeating: "n", count: length - base - String(length).count) + "\(length)" }
        func target(_ length: Int) -> String { String(repeating: "t", count: length - String(length).count) + "\(length)" }
        for length in [99, 100, 101] {
            XCTAssertEqual(("./opt/edge/" + fileName(length)).utf8.count, length)
            try fx.file(dir + fileName(length), "\(length)\n")
        }
        // Symlink targets of 99, 100 and 101 bytes.
        for length in [99, 100, 101] {
            XCTAssertEqual(target(length).utf8.count, length)
            fx.symlink("/opt/edge/link-\(length)", to: target(length))
        }
        try fx.file("/opt/edge/big-uid", "big\n", uid: 3_000_000, gid: 4_000_000, user: "pkglayer-nobody", group: "pkglayer-nogroup")
        try fx.file("/opt/edge/ünïcödé-名前", "utf8\n")
        let deep = "/opt/edge/" + (0..<30).map { "d\($0)" }.joined(separator: "/") + "/deep-file"
        try fx.file(deep, "deep\n")
        var spec = fx.spec(name: "edge-cases")
        spec.architecture = .noarch
        let deb = fx.path("edge.deb")
        _ = try DebWriter().write(spec: spec, manifest: try fx.manifest(), to: deb)

        let numeric = try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -tv --numeric-owner", "sh", deb]).stdout
        XCTAssertTrue(numeric.contains(" 3000000/4000000 "), numeric)
        for length in [99, 100, 101] {
            XCTAssertTrue(numeric.contains("./opt/edge/" + fileName(length) + "\n"), numeric)
            XCTAssertTrue(numeric.contains("link-\(length) -> " + target(length) + "\n"), numeric)
        }

        let root = try DpkgInstallTests.DpkgRoot()
        try root.dpkg(["-i", deb])
        let r = root.root
        for length in [99, 100, 101] {
            XCTAssertEqual(try String(contentsOfFile: r + dir + fileName(length), encoding: .utf8), "\(length)\n")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: r + "/opt/edge/link-\(length)"), target(length))
        }
        XCTAssertEqual(lstatOf(r + "/opt/edge/big-uid")?.st_uid, 3_000_000)
        XCTAssertEqual(lstatOf(r + "/opt/edge/big-uid")?.st_gid, 4_000_000)
        XCTAssertEqual(try String(contentsOfFile: r + "/opt/edge/ünïcödé-名前", encoding: .utf8), "utf8\n")
        XCTAssertEqual(try String(contentsOfFile: r + deep, encoding: .utf8), "deep\n")

        let read = try DebReader().read(path: deb, extractTo: nil)
        XCTAssertEqual(read.manifest["/opt/edge/big-uid"]?.uid, 3_000_000)
        XCTAssertEqual(read.manifest["/opt/edge/link-101"]?.linkTarget, target(101))
        XCTAssertEqual(read.manifest.entries.map(\.path), try fx.manifest().entries.map(\.path))
    }
}
