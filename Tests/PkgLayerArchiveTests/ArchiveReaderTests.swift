import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

final class ArchiveReaderTests: XCTestCase {
    func testTarRoundTripKeepsEveryHeaderField() throws {
        let dir = try ScratchDirectory()
        let members = ArchiveWriterTests.tarMembers()
        let tar = try dir.write("t.tar", try Build.archive(.tarPax, members))
        let back = try Build.readAll(tar)
        XCTAssertEqual(back.count, members.count)
        for (written, read) in zip(members, back) {
            var expected = written.header
            if expected.hardlinkTarget != nil { expected.size = 0 } // a tar hardlink carries no data
            XCTAssertEqual(read.header, expected, "\(read.header) vs \(expected)")
            XCTAssertEqual(read.data, written.data, written.header.path)
        }
        let hello = try XCTUnwrap(back.first { $0.header.path == "usr/bin/hello" })
        XCTAssertEqual(hello.header.xattrs.map(\.name), ["security.capability"])
        XCTAssertEqual(hello.header.xattrs.first?.value, ArchiveWriterTests.capability)
    }

    func testCpioRoundTripReportsInodesNotLinkTargets() throws {
        let dir = try ScratchDirectory()
        var a = Build.header("./a", 0o100644, size: 0)
        a.inode = 3
        a.nlink = 2
        var b = Build.header("./b", 0o100644, size: 4)
        b.inode = 3
        b.nlink = 2
        b.uid = 5
        let path = try dir.write("p.cpio", try Build.archive(.cpioNewc, [.init(header: a), .init(header: b, data: Array("data".utf8))]))
        let back = try Build.readAll(path)
        XCTAssertEqual(back.map(\.header), [a, b])
        XCTAssertEqual(back.map(\.data), [[], Array("data".utf8)])
        XCTAssertNil(back[1].header.hardlinkTarget, "cpio pairs links by inode; the reader does not invent a target")
    }

    func testReadsFromAnOffsetAndRaw() throws {
        let dir = try ScratchDirectory()
        let tar = try Build.archive(.tarPax, [.init(header: Build.header("x", 0o100644, size: 5), data: Array("12345".utf8))])
        let prefix = Build.noise(1234)
        let path = try dir.write("lead+payload", prefix + tar)
        let back = try Build.readAll(path, offset: 1234)
        XCTAssertEqual(back.map(\.header.path), ["x"])
        XCTAssertEqual(back.first?.data, Array("12345".utf8))

        // raw: the stream itself is the one member (rpm's stripped cpio, which libarchive cannot parse).
        let raw = try Build.readAll(path, offset: 1234, raw: true)
        XCTAssertEqual(raw.count, 1)
        XCTAssertEqual(raw.first?.data, tar)

        assertThrowsPkgLayerError(.archive, try ArchiveReader(path: path, offset: UInt64(prefix.count + tar.count + 1)))
    }

    func testReadAllHonoursItsLimit() throws {
        let dir = try ScratchDirectory()
        let data = Build.noise(5000)
        let path = try dir.write("t.tar", try Build.archive(.tarPax, [.init(header: Build.header("big", 0o100644, size: 5000), data: data)]))
        let reader = try ArchiveReader(path: path)
        _ = try reader.next()
        assertThrowsPkgLayerError(.archive, try reader.readAll(limit: 4999)) {
            XCTAssertEqual($0.location, "\(path): big")
        }
    }

    func testExtractDataCreatesANewFileOnly() throws {
        let dir = try ScratchDirectory()
        let data = Build.noise(100_000)
        let path = try dir.write("t.tar", try Build.archive(.tarPax, [
            .init(header: Build.header("a", 0o100755, size: UInt64(data.count)), data: data),
            .init(header: Build.header("b", 0o100600, size: 1), data: [1]),
        ]))
        let reader = try ArchiveReader(path: path)
        _ = try reader.next()
        try reader.extractData(to: dir.file("a.out"))
        XCTAssertEqual(try dir.read("a.out"), data)
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("a.out"))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o644, "callers set the final mode")
        _ = try reader.next()
        assertThrowsPkgLayerError(.io, try reader.extractData(to: dir.file("a.out")))
        XCTAssertEqual(try dir.read("a.out"), data, "an existing file is never overwritten")
    }

    func testTruncatedTarIsAnError() throws {
        let dir = try ScratchDirectory()
        let data = Build.noise(50_000)
        let tar = try Build.archive(.tarPax, [.init(header: Build.header("a", 0o100644, size: UInt64(data.count)), data: data)])
        let path = try dir.write("cut.tar", Array(tar.prefix(20_000)))
        assertThrowsPkgLayerError(.archive, try Build.readAll(path)) {
            XCTAssertTrue($0.location?.hasPrefix(path) ?? false, "errors name the archive: \($0)")
        }
    }

    func testGarbageIsAnError() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("noise", Build.noise(4096))
        assertThrowsPkgLayerError(.archive, try Build.readAll(path)) {
            XCTAssertEqual($0.location, path)
        }
        assertThrowsPkgLayerError(.io, try ArchiveReader(path: dir.file("missing")))
    }
}
