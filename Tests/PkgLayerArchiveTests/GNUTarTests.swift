import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// `.tarGNU`, the format of a .deb's tar members: checked by GNU tar, by our reader, by dpkg-deb and
/// by dpkg's own unpacker (`dpkg -i`), the reader that refuses the pax headers `.tarPax` writes for
/// the same names.
final class GNUTarTests: XCTestCase {
    static let directory = "./opt/edge/"
    static let epoch: Int64 = 1_700_000_000

    /// A member name ("./opt/edge/…") of exactly `length` bytes.
    static func name(_ length: Int) -> String {
        let suffix = "\(length)"
        return directory + String(repeating: "n", count: length - directory.utf8.count - suffix.count) + suffix
    }

    /// A symlink target of exactly `length` bytes.
    static func target(_ length: Int) -> String {
        String(repeating: "t", count: length - String(length).count) + "\(length)"
    }

    static let unicodeName = directory + "ünïcödé-名前 ✓"
    static let deepName = directory + (0..<30).map { "d\($0)" }.joined(separator: "/") + "/deep-file"

    /// Everything pax needs an extended header for, and GNU tar spells its own way: names and link
    /// targets of 99, 100 and 101 bytes (ustar's name field holds 100), a hardlink to a long name,
    /// ids beyond octal's 7 digits, a non-ASCII name, a deep path.
    static func edgeMembers() -> [Build.Member] {
        var members: [Build.Member] = []
        func dir(_ path: String) {
            var h = Build.header(path, 0o040755, mtime: epoch)
            h.userName = "root"
            h.groupName = "root"
            members.append(.init(header: h))
        }
        func file(_ path: String, _ text: String, uid: UInt32 = 0, gid: UInt32 = 0, user: String = "root", group: String = "root") {
            let data = Array(text.utf8)
            var h = Build.header(path, 0o100644, size: UInt64(data.count), mtime: epoch)
            h.uid = uid
            h.gid = gid
            h.userName = user
            h.groupName = group
            members.append(.init(header: h, data: data))
        }
        dir("./")
        dir("./opt/")
        dir(directory)
        for length in [99, 100, 101] { file(name(length), "\(length)\n") }
        for length in [99, 100, 101] {
            var h = Build.header(directory + "link-\(length)", 0o120777, mtime: epoch)
            h.symlinkTarget = target(length)
            h.userName = "root"
            h.groupName = "root"
            members.append(.init(header: h))
        }
        var hard = Build.header(directory + "hard", 0o100644, mtime: epoch)
        hard.hardlinkTarget = name(101)
        hard.userName = "root"
        hard.groupName = "root"
        members.append(.init(header: hard))
        file(directory + "big-ids", "big\n", uid: 3_000_000, gid: 4_000_000, user: "pkglayer-nobody", group: "pkglayer-nogroup")
        file(unicodeName, "utf8\n")
        for depth in 0..<30 { dir(directory + (0...depth).map { "d\($0)" }.joined(separator: "/") + "/") }
        file(deepName, "deep\n")
        return members
    }

    func testLayoutAndPadding() throws {
        var h = Build.header("./a", 0o100644, size: 5, mtime: 1)
        h.userName = "root"
        h.groupName = "root"
        let bytes = try Build.archive(.tarGNU, [.init(header: h, data: Array("hello".utf8))])
        XCTAssertEqual(bytes.count, 10240, "padded to one GNU record")
        XCTAssertEqual(Array(bytes[257..<265]), Array("ustar  \0".utf8), "GNU magic")
        XCTAssertEqual(String(decoding: bytes[124..<136], as: UTF8.self), "00000000005\0")
        XCTAssertEqual(String(decoding: bytes[265..<270], as: UTF8.self), "root\0")
        XCTAssertEqual(Array(bytes[512..<517]), Array("hello".utf8))
        XCTAssertTrue(bytes[517..<10240].allSatisfy { $0 == 0 })
    }

    func testEdgeCasesAreGNUSpelledAndReadByGNUTarAndTheReader() throws {
        let dir = try ScratchDirectory()
        let bytes = try Build.archive(.tarGNU, Self.edgeMembers())
        XCTAssertEqual(bytes.count % 10240, 0)
        XCTAssertTrue(bytes.containsBytes(Array("././@LongLink".utf8)), "long names and targets are GNU LongLink members")
        XCTAssertFalse(bytes.containsBytes(Array("PaxHeader".utf8)), "no pax extended headers, which dpkg's unpacker refuses")
        XCTAssertFalse(bytes.containsBytes(Array("path=".utf8)))
        XCTAssertTrue(bytes.containsBytes(Array(Self.unicodeName.utf8)), "non-ASCII names are stored as their UTF-8 bytes")
        let tar = try dir.write("edge.tar", bytes)

        let listing = try Tool.check(["tar", "-tv", "--numeric-owner", "-f", tar]).stdout
        XCTAssertTrue(listing.contains(" 3000000/4000000 "), "base-256 ids: \(listing)")
        for length in [99, 100, 101] {
            XCTAssertTrue(listing.contains(Self.name(length) + "\n"), listing)
            XCTAssertTrue(listing.contains("link-\(length) -> " + Self.target(length) + "\n"), listing)
        }
        XCTAssertTrue(listing.contains(Self.directory + "hard link to " + Self.name(101) + "\n"), listing)
        XCTAssertTrue(listing.contains(Self.unicodeName + "\n"), listing)
        XCTAssertTrue(listing.contains(Self.deepName + "\n"), listing)
        XCTAssertTrue(try Tool.check(["tar", "-tv", "-f", tar]).stdout.contains(" pkglayer-nobody/pkglayer-nogroup "))

        let out = dir.file("x")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try Tool.check(["tar", "-xf", tar, "-C", out])
        for length in [99, 100, 101] {
            XCTAssertEqual(try String(contentsOfFile: out + "/" + Self.name(length), encoding: .utf8), "\(length)\n")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/" + Self.directory + "link-\(length)"),
                           Self.target(length))
        }
        var a = stat(), b = stat()
        XCTAssertEqual(stat(out + "/" + Self.name(101), &a), 0)
        XCTAssertEqual(stat(out + "/" + Self.directory + "hard", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "the hardlink member is extracted as a hardlink")
        XCTAssertEqual(try String(contentsOfFile: out + "/" + Self.unicodeName, encoding: .utf8), "utf8\n")
        XCTAssertEqual(try String(contentsOfFile: out + "/" + Self.deepName, encoding: .utf8), "deep\n")

        // Our reader gives back every header field as written (hardlinks with size 0, as tar stores them).
        let read = try Build.readAll(tar)
        let expected = Self.edgeMembers().map { member -> Build.Member in
            var m = member
            if m.header.hardlinkTarget != nil { m.header.size = 0 }
            return m
        }
        XCTAssertEqual(read.map(\.header.path), expected.map(\.header.path))
        for (got, want) in zip(read, expected) {
            XCTAssertEqual(got.header, want.header, want.header.path)
            XCTAssertEqual(got.data, want.data, want.header.path)
        }
    }

    func testDeterministicAcrossTime() throws {
        // LongLink members carry no time of their own: the bytes depend only on the headers.
        let first = try Build.archive(.tarGNU, Self.edgeMembers())
        Thread.sleep(forTimeInterval: 1.1)
        XCTAssertEqual(try Build.archive(.tarGNU, Self.edgeMembers()), first)
    }

    /// A deb whose control and data members are `.tarGNU` installs with `dpkg -i`; the same deb with
    /// `.tarPax` members does not, which is why the deb writer uses GNU tar.
    func testDpkgInstallsItWherePaxIsRefused() throws {
        try requireTool("dpkg", "dpkg-deb")
        let dir = try ScratchDirectory()
        func deb(_ format: ArchiveFormat, name: String) throws -> String {
            let control = Array("""
            Package: pkglayer-gnutar-\(name)
            Version: 1.0
            Architecture: all
            Maintainer: Test <test@example.org>
            Description: GNU tar edge cases
             Long, non-ASCII and deep names, long link targets, big ids.

            """.utf8)
            var root = Build.header("./", 0o040755, mtime: Self.epoch)
            root.userName = "root"
            root.groupName = "root"
            var controlFile = Build.header("./control", 0o100644, size: UInt64(control.count), mtime: Self.epoch)
            controlFile.userName = "root"
            controlFile.groupName = "root"
            let controlTar = try Build.archive(format, [.init(header: root), .init(header: controlFile, data: control)],
                                               compression: .gzip(level: 6))
            let dataTar = try Build.archive(format, Self.edgeMembers(), compression: .xz(level: 6))
            return try dir.write("\(name).deb", try Build.archive(.arBSD, [
                .init(header: Build.header("debian-binary", 0o100644, size: 4, mtime: Self.epoch), data: Array("2.0\n".utf8)),
                .init(header: Build.header("control.tar.gz", 0o100644, size: UInt64(controlTar.count), mtime: Self.epoch), data: controlTar),
                .init(header: Build.header("data.tar.xz", 0o100644, size: UInt64(dataTar.count), mtime: Self.epoch), data: dataTar),
            ]))
        }
        func dpkgInstall(_ deb: String, root: String) throws -> ToolResult {
            for sub in ["info", "updates"] {
                try FileManager.default.createDirectory(atPath: root + "/var/lib/dpkg/" + sub, withIntermediateDirectories: true)
            }
            _ = FileManager.default.createFile(atPath: root + "/var/lib/dpkg/status", contents: Data())
            return try Tool.run(["dpkg", "--root=\(root)", "--force-not-root", "--force-script-chrootless", "--no-debsig",
                                 "--log=\(root)/dpkg.log", "-i", deb])
        }

        let gnu = try deb(.tarGNU, name: "gnu")
        let contents = try Tool.check(["dpkg-deb", "-c", gnu]).stdout
        XCTAssertTrue(contents.contains(Self.name(101) + "\n") && contents.contains(Self.unicodeName + "\n"), contents)
        let root = dir.file("root")
        let installed = try dpkgInstall(gnu, root: root)
        XCTAssertEqual(installed.status, 0, installed.stderr)
        for length in [99, 100, 101] {
            XCTAssertEqual(try String(contentsOfFile: root + "/" + Self.name(length), encoding: .utf8), "\(length)\n")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + Self.directory + "link-\(length)"),
                           Self.target(length))
        }
        var st = stat()
        XCTAssertEqual(lstat(root + "/" + Self.directory + "big-ids", &st), 0)
        XCTAssertEqual(st.st_uid, 3_000_000)
        XCTAssertEqual(st.st_gid, 4_000_000)
        XCTAssertEqual(try String(contentsOfFile: root + "/" + Self.unicodeName, encoding: .utf8), "utf8\n")
        XCTAssertEqual(try String(contentsOfFile: root + "/" + Self.deepName, encoding: .utf8), "deep\n")

        let pax = try dpkgInstall(try deb(.tarPax, name: "pax"), root: dir.file("pax-root"))
        XCTAssertNotEqual(pax.status, 0, "this dpkg reads pax headers; the deb writer could use .tarPax")
        XCTAssertTrue(pax.stderr.contains("PAX"), pax.stderr)
    }

    func testRefusesWhatGNUTarCannotHold() throws {
        let writer = try ArchiveWriter(format: .tarGNU, sink: CollectingSink())
        var capable = Build.header("./bin/ping", 0o100755)
        capable.xattrs = [(name: "security.capability", value: [1, 2, 3])]
        assertThrowsPkgLayerError(.archive, try writer.writeHeader(capable)) { error in
            XCTAssertTrue(error.message.contains("xattr"), error.message)
        }
        let named = try ArchiveWriter(format: .tarGNU, sink: CollectingSink())
        var longOwner = Build.header("./owned", 0o100644)
        longOwner.userName = String(repeating: "u", count: 40)
        assertThrowsPkgLayerError(.archive, try named.writeHeader(longOwner)) { error in
            XCTAssertTrue(error.message.lowercased().contains("name"), error.message)
        }
        let old = try ArchiveWriter(format: .tarGNU, sink: CollectingSink())
        assertThrowsPkgLayerError(.archive, try old.writeHeader(Build.header("./old", 0o100644, mtime: -1))) { error in
            XCTAssertTrue(error.message.contains("1970"), error.message)
        }
    }

    func testDataMustMatchTheHeaderSize() throws {
        let long = try ArchiveWriter(format: .tarGNU, sink: CollectingSink())
        try long.writeHeader(Build.header("./a", 0o100644, size: 3))
        assertThrowsPkgLayerError(.archive, try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try long.writeData($0) })

        let short = try ArchiveWriter(format: .tarGNU, sink: CollectingSink())
        try short.writeHeader(Build.header("./a", 0o100644, size: 3))
        try [UInt8](repeating: 1, count: 2).withUnsafeBytes { try short.writeData($0) }
        // A member short of its size must not be finished silently.
        assertThrowsPkgLayerError(.archive, try short.finish())
    }
}
