import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Every archive the writer makes is checked by the real program that consumes it.
final class ArchiveWriterTests: XCTestCase {
    static let longDirectory = "usr/share/" + String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60)
    static let longName = "usr/share/" + String(repeating: "n", count: 120) + ".txt"
    static let unicodeName = "usr/share/déjà vu/naïve file ✓.txt"
    static let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    /// A tar with everything the deb and OCI writers need: long, non-ASCII and space names, a symlink,
    /// a hardlink, setuid, owners, an xattr.
    static func tarMembers() -> [Build.Member] {
        var members: [Build.Member] = []
        func dir(_ path: String) {
            var h = Build.header(path, 0o040755)
            h.userName = "root"
            h.groupName = "root"
            members.append(.init(header: h))
        }
        dir("usr/")
        dir("usr/bin/")
        var hello = Build.header("usr/bin/hello", 0o104755, size: 12)
        hello.userName = "root"
        hello.groupName = "root"
        hello.xattrs = [(name: "security.capability", value: capability)]
        members.append(.init(header: hello, data: Array("hello world\n".utf8)))
        var link = Build.header("usr/bin/hello-again", 0o104755)
        link.hardlinkTarget = "usr/bin/hello"
        link.userName = "root"
        link.groupName = "root"
        members.append(.init(header: link))
        var symlink = Build.header("usr/bin/hi", 0o120777)
        symlink.symlinkTarget = "hello"
        members.append(.init(header: symlink))
        dir("usr/share/")
        dir("usr/share/déjà vu/")
        let unicodeData = Array("unicode\n".utf8)
        members.append(.init(header: Build.header(unicodeName, 0o100644, size: UInt64(unicodeData.count)), data: unicodeData))
        let longData = Build.text(70_000)
        members.append(.init(header: Build.header(longName, 0o100644, size: UInt64(longData.count)), data: longData))
        dir(longDirectory + "/")
        var owned = Build.header(longDirectory + "/owned.conf", 0o100640, size: 4)
        owned.uid = 1234
        owned.gid = 2345
        owned.userName = "builder"
        owned.groupName = "staff"
        members.append(.init(header: owned, data: Array("a=1\n".utf8)))
        return members
    }

    // MARK: - tar

    func testTarIsReadByGNUTar() throws {
        let dir = try ScratchDirectory()
        let tar = try dir.write("t.tar", try Build.archive(.tarPax, Self.tarMembers()))
        XCTAssertEqual(try dir.read("t.tar").count % 10240, 0, "tar output is padded to whole 10240-byte records")

        let listing = try Tool.check(["tar", "-tvf", tar]).stdout
        let lines = listing.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, Self.tarMembers().count, listing)
        XCTAssertTrue(lines.contains { $0.hasPrefix("-rwsr-xr-x root/root") && $0.hasSuffix(" usr/bin/hello") }, listing)
        XCTAssertTrue(lines.contains { $0.hasPrefix("hrwsr-xr-x") && $0.hasSuffix("usr/bin/hello-again link to usr/bin/hello") }, listing)
        XCTAssertTrue(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("usr/bin/hi -> hello") }, listing)
        XCTAssertTrue(lines.contains { $0.hasSuffix(" " + Self.unicodeName) }, listing)
        XCTAssertTrue(lines.contains { $0.hasSuffix(" " + Self.longName) }, listing)
        XCTAssertTrue(lines.contains { $0.hasPrefix("-rw-r----- builder/staff") && $0.hasSuffix(Self.longDirectory + "/owned.conf") }, listing)
        XCTAssertTrue(lines.allSatisfy { $0.contains("2023-11-14 22:13") }, "every mtime is the header's: \(listing)")

        let out = dir.file("x")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try Tool.check(["tar", "-xf", tar, "-C", out])
        let fm = FileManager.default
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/usr/bin/hello")), Data("hello world\n".utf8))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/" + Self.unicodeName)), Data("unicode\n".utf8))
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + Self.longName))), Build.text(70_000))
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: out + "/usr/bin/hi"), "hello")
        var a = stat(), b = stat()
        XCTAssertEqual(stat(out + "/usr/bin/hello", &a), 0)
        XCTAssertEqual(stat(out + "/usr/bin/hello-again", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "the hardlink member is extracted as a hardlink")
        XCTAssertEqual(a.st_mode & 0o7777, 0o4755, "setuid survives")
        XCTAssertEqual(Int64(a.st_mtim.tv_sec), 1_700_000_000)

        // xattrs are pax SCHILY.xattr records only (no LIBARCHIVE.xattr duplicates), which GNU tar lists.
        let bytes = try dir.read("t.tar")
        XCTAssertTrue(bytes.containsBytes(Array("SCHILY.xattr.security.capability=".utf8)))
        XCTAssertFalse(bytes.containsBytes(Array("LIBARCHIVE.xattr".utf8)))
        XCTAssertFalse(bytes.containsBytes(Array("hdrcharset".utf8)), "names are UTF-8 whatever the process locale")
    }

    func testTarWritesNoPaxHeaderWhenUstarSuffices() throws {
        let bytes = try Build.archive(.tarPax, [.init(header: Build.header("etc/", 0o040755)),
                                                .init(header: Build.header("etc/motd", 0o100644, size: 3), data: Array("hi\n".utf8))])
        XCTAssertFalse(bytes.containsBytes(Array("PaxHeader".utf8)))
        XCTAssertEqual(bytes.count, 10240)
        // ustar magic and the exact mtime, no atime/ctime anywhere.
        XCTAssertEqual(Array(bytes[257..<263]), Array("ustar\0".utf8))
        XCTAssertEqual(String(decoding: bytes[136..<147], as: UTF8.self), String(1_700_000_000, radix: 8))
    }

    func testTarIsDeterministic() throws {
        let first = try Build.archive(.tarPax, Self.tarMembers())
        let second = try Build.archive(.tarPax, Self.tarMembers())
        XCTAssertEqual(first, second)
    }

    func testTarPathTraversalMemberIsWrittenAndReadBackVerbatim() throws {
        // Writing is not where hostile names are refused (the manifest is); but the reader must report
        // them exactly so the extractor can refuse them.
        let dir = try ScratchDirectory()
        let tar = try dir.write("evil.tar", try Build.archive(.tarPax, [
            .init(header: Build.header("../evil", 0o100644, size: 4), data: Array("boo\n".utf8)),
            .init(header: Build.header("/etc/abs", 0o100644, size: 1), data: [0x41]),
        ]))
        let members = try Build.readAll(tar)
        XCTAssertEqual(members.map(\.header.path), ["../evil", "/etc/abs"])
        XCTAssertEqual(members[0].data, Array("boo\n".utf8))
    }

    // MARK: - cpio

    func testCpioNewcIsReadByGNUCpio() throws {
        let dir = try ScratchDirectory()
        var members: [Build.Member] = []
        var root = Build.header("./usr", 0o040755)
        root.inode = 1
        root.nlink = 2
        members.append(.init(header: root))
        // An rpm link set: same inode, nlink 2, only the last member carries the data.
        var first = Build.header("./usr/a-link", 0o100755, size: 0)
        first.inode = 7
        first.nlink = 2
        members.append(.init(header: first))
        var last = Build.header("./usr/b-file", 0o100755, size: 6)
        last.inode = 7
        last.nlink = 2
        members.append(.init(header: last, data: Array("linked".utf8)))
        var symlink = Build.header("./usr/c-symlink", 0o120777)
        symlink.symlinkTarget = "b-file"
        symlink.inode = 8
        members.append(.init(header: symlink))
        var plain = Build.header("./usr/d-plain é", 0o100644, size: 5)
        plain.inode = 9
        plain.uid = 10
        plain.gid = 20
        members.append(.init(header: plain, data: Array("plain".utf8)))
        let bytes = try Build.archive(.cpioNewc, members)
        let path = try dir.write("p.cpio", bytes)

        XCTAssertEqual(Array(bytes.prefix(6)), Array("070701".utf8))
        XCTAssertEqual(bytes.count % 4, 0)
        XCTAssertTrue(Array(bytes.suffix(16)).containsBytes(Array("TRAILER!!!".utf8)), "no block padding after the trailer")
        let headers = Self.parseNewc(bytes)
        XCTAssertEqual(headers.map(\.name), ["./usr", "./usr/a-link", "./usr/b-file", "./usr/c-symlink", "./usr/d-plain é", "TRAILER!!!"])
        XCTAssertEqual(headers[1].ino, 7)
        XCTAssertEqual(headers[2].ino, 7)
        XCTAssertEqual(headers[1].nlink, 2)
        XCTAssertEqual(headers[1].size, 0)
        XCTAssertEqual(headers[2].size, 6)
        XCTAssertEqual(headers[3].size, 6, "a symlink's target is its data")
        XCTAssertEqual(headers[4].nlink, 1, "nlink defaults to 1")
        XCTAssertEqual(headers[4].mtime, 1_700_000_000)
        XCTAssertEqual(headers[0].mode, 0o040755)

        let listing = try Tool.check(["cpio", "-itv", "--quiet"], stdinFile: path).stdout
        XCTAssertTrue(listing.contains("./usr/c-symlink -> b-file"), listing)
        XCTAssertTrue(listing.contains("./usr/d-plain é"), listing)
        XCTAssertTrue(listing.contains("-rwxr-xr-x"), listing)

        let out = dir.file("x")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try Tool.check(["cpio", "-idm", "--quiet"], stdinFile: path, directory: out)
        var a = stat(), b = stat()
        XCTAssertEqual(stat(out + "/usr/a-link", &a), 0)
        XCTAssertEqual(stat(out + "/usr/b-file", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "GNU cpio pairs the link set by inode")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/usr/a-link")), Data("linked".utf8))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/usr/c-symlink"), "b-file")
    }

    struct NewcHeader { var name: String; var ino: UInt32; var mode: UInt32; var nlink: UInt32; var mtime: UInt32; var size: UInt32 }

    /// A minimal newc parser, so the test checks the bytes without trusting libarchive's reader.
    static func parseNewc(_ bytes: [UInt8]) -> [NewcHeader] {
        var out: [NewcHeader] = []
        var p = 0
        func hex(_ field: Int) -> UInt32 {
            UInt32(String(decoding: bytes[(p + 6 + field * 8)..<(p + 14 + field * 8)], as: UTF8.self), radix: 16)!
        }
        while p + 110 <= bytes.count {
            guard String(decoding: bytes[p..<(p + 6)], as: UTF8.self) == "070701" else { break }
            let nameSize = Int(hex(11))
            let size = hex(6)
            let name = String(decoding: bytes[(p + 110)..<(p + 110 + nameSize - 1)], as: UTF8.self)
            out.append(NewcHeader(name: name, ino: hex(0), mode: hex(1), nlink: hex(4), mtime: hex(5), size: size))
            p += (110 + nameSize + 3) & ~3
            p += (Int(size) + 3) & ~3
            if name == "TRAILER!!!" { break }
        }
        return out
    }

    // MARK: - ar

    func testArIsReadByBinutilsAr() throws {
        let dir = try ScratchDirectory()
        let control = Build.noise(1001) // odd: ar pads it with one "\n"
        let data = Build.text(5000)
        let bytes = try Build.archive(.arBSD, [
            .init(header: Build.header("debian-binary", 0o100644, size: 4), data: Array("2.0\n".utf8)),
            .init(header: Build.header("control.tar.gz", 0o100644, size: UInt64(control.count)), data: control),
            .init(header: Build.header("data.tar.xz", 0o100644, size: UInt64(data.count)), data: data),
        ])
        let path = try dir.write("x.ar", bytes)
        XCTAssertEqual(Array(bytes.prefix(8)), Array("!<arch>\n".utf8))
        XCTAssertEqual(String(decoding: bytes[8..<24], as: UTF8.self), "debian-binary   ", "name as is, no trailing slash")
        XCTAssertEqual(bytes.count, 8 + (60 + 4) + (60 + 1002) + (60 + 5000), "no padding beyond ar's own")

        XCTAssertEqual(try Tool.check(["ar", "t", path]).stdout, "debian-binary\ncontrol.tar.gz\ndata.tar.xz\n")
        XCTAssertEqual(try Tool.check(["ar", "p", path, "debian-binary"]).stdout, "2.0\n")
        XCTAssertEqual(try Tool.check(["ar", "p", path, "control.tar.gz"]).stdoutBytes, control)
        XCTAssertEqual(try Tool.check(["ar", "p", path, "data.tar.xz"]).stdoutBytes, data)

        let back = try Build.readAll(path)
        XCTAssertEqual(back.map(\.header.path), ["debian-binary", "control.tar.gz", "data.tar.xz"])
        XCTAssertEqual(back[1].data, control)
        XCTAssertEqual(back[0].header.mtime, 1_700_000_000)
    }

    func testArRefusesNamesDpkgCannotRead() throws {
        let writer = try ArchiveWriter(format: .arBSD, sink: CollectingSink())
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(Build.header("a-very-long-member-name", 0o100644)))
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(Build.header("dir/x", 0o100644)))
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(Build.header("etc", 0o040755)))
        // A refused header leaves the writer usable.
        try writer.writeMember(Build.header("debian-binary", 0o100644), data: Array("2.0\n".utf8))
        try writer.finish()
    }

    // MARK: - The writer's contract

    func testWriteFileStreamsAndDetectsAChangedFile() throws {
        let dir = try ScratchDirectory()
        let content = Build.noise(3 << 20 | 17) // several 1 MiB blocks
        let source = try dir.write("big.bin", content)

        let sink = CollectingSink()
        let writer = try ArchiveWriter(format: .tarPax, sink: sink)
        var observed: [UInt8] = []
        try writer.writeFile(Build.header("big.bin", 0o100644, size: UInt64(content.count)), contentsOf: source) {
            observed.append(contentsOf: $0)
        }
        try writer.finish()
        let tar = try dir.write("big.tar", sink.bytes)
        XCTAssertEqual(try Build.readAll(tar).first?.data, content)
        XCTAssertEqual(observed, content, "observe sees every byte written, in order")

        let shorter = try ArchiveWriter(format: .tarPax, sink: CollectingSink())
        assertThrowsPkgLayerError(.io, try shorter.writeFile(Build.header("big.bin", 0o100644, size: UInt64(content.count + 1)), contentsOf: source)) {
            XCTAssertEqual($0.location, source)
            XCTAssertTrue($0.message.contains("shrank"), $0.message)
        }
        // The archive is incomplete now: the writer refuses to go on.
        assertThrowsPkgLayerError(.archive, try shorter.finish())

        let longer = try ArchiveWriter(format: .cpioNewc, sink: CollectingSink())
        assertThrowsPkgLayerError(.io, try longer.writeFile(Build.header("big.bin", 0o100644, size: UInt64(content.count - 1)), contentsOf: source)) {
            XCTAssertTrue($0.message.contains("grew"), $0.message)
        }
    }

    func testDataMustMatchTheHeaderSize() throws {
        let writer = try ArchiveWriter(format: .tarPax, sink: CollectingSink())
        try writer.writeHeader(Build.header("a", 0o100644, size: 3))
        try Array("ab".utf8).withUnsafeBytes { try writer.writeData($0) }
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(Build.header("b", 0o100644))) {
            XCTAssertEqual($0.location, "a")
        }

        let over = try ArchiveWriter(format: .cpioNewc, sink: CollectingSink())
        try over.writeHeader(Build.header("a", 0o100644, size: 1))
        assertThrowsPkgLayerError(.archive, try Array("ab".utf8).withUnsafeBytes { try over.writeData($0) })
    }

    func testModeWithoutTypeBitsIsRefused() throws {
        let writer = try ArchiveWriter(format: .tarPax, sink: CollectingSink())
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(Build.header("a", 0o644)))
        var symlink = Build.header("l", 0o120777)
        symlink.symlinkTarget = nil
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(symlink))
    }

    func testSinkErrorsSurface() throws {
        let writer = try ArchiveWriter(format: .tarPax, sink: FailingSink())
        let data = Build.noise(200_000) // more than one libarchive block, so the sink is reached
        do {
            try writer.writeHeader(Build.header("big", 0o100644, size: UInt64(data.count)))
            try data.withUnsafeBytes { try writer.writeData($0) }
            try writer.finish()
            XCTFail("a failing sink must fail the writer")
        } catch let error as PkgLayerError {
            XCTAssertEqual(error.location, "/full/disk", "the sink's own error wins: \(error)")
        }
    }

    func testAbandonedWriterWritesNothingMore() throws {
        let sink = CollectingSink()
        do {
            let writer = try ArchiveWriter(format: .tarPax, sink: sink)
            try writer.writeHeader(Build.header("a", 0o100644, size: 1))
        }
        XCTAssertEqual(sink.finishCount, 0)
        XCTAssertTrue(sink.bytes.isEmpty, "no trailer is flushed into the sink of an abandoned archive")
    }

    func testWriteMemberTakesTheSizeFromTheData() throws {
        let dir = try ScratchDirectory()
        let sink = CollectingSink()
        let writer = try ArchiveWriter(format: .tarPax, sink: sink)
        try writer.writeMember(Build.header("./control", 0o100644), data: Array("Package: x\n".utf8))
        try writer.finish()
        assertThrowsPkgLayerError(.archive, try writer.finish())
        let back = try Build.readAll(try dir.write("c.tar", sink.bytes))
        XCTAssertEqual(back.first?.header.size, 11)
        XCTAssertEqual(back.first?.data, Array("Package: x\n".utf8))
    }
}
