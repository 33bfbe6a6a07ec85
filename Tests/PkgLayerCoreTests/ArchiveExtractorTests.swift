import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Hostile tarballs, made with the real GNU tar, against the extractor used for untrusted archives
/// (source tarballs, rpm payloads, deb data). Each must be refused with a PkgLayerError and leave
/// nothing outside the extraction root.
final class ArchiveExtractorTests: XCTestCase {
    private var scratch: ScratchDirectory!
    /// The extraction root; its parent holds nothing else, so anything written beside it is visible.
    private var root: String { scratch.path("out/root") }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-extract")
        try scratch.makeDirectory("src")
        try scratch.makeDirectory("out")
    }

    override func tearDown() { scratch = nil }

    @discardableResult
    private func extractAll(_ tarball: String) throws -> [String] {
        let reader = try ArchiveReader(path: tarball)
        let extractor = try ArchiveExtractor(root: root, archiveName: tarball)
        var paths: [String] = []
        while let header = try reader.next() {
            if let path = try extractor.extract(header, from: reader) { paths.append(path) }
        }
        return paths
    }

    private func tar(_ arguments: [String], in directory: String? = nil) throws {
        try TestProcess.runChecked("tar", arguments, in: directory ?? scratch.path)
    }

    /// Asserts the refusal and that nothing escaped: `out/` holds only the root, and `outside` paths do not exist.
    private func assertRefused(_ tarball: String, outside: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        let error = XCTAssertThrowsPkgLayerError(try extractAll(tarball), code: .pathEscapesRoot, file: file, line: line)
        XCTAssertEqual(error?.location, tarball, "the error names the archive", file: file, line: line)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: scratch.path("out"))) ?? [], ["root"],
                       "nothing beside the root", file: file, line: line)
        for path in outside {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was created outside the root", file: file, line: line)
        }
    }

    func testAWellFormedTarballExtracts() throws {
        try scratch.write("src/pkg/usr/bin/tool", "#!/bin/sh\n", mode: 0o755)
        try scratch.write("src/pkg/etc/app.conf", "k=v\n", mode: 0o640)
        try scratch.makeDirectory("src/pkg/var/spool", mode: 0o1777)
        try scratch.symlink("src/pkg/usr/bin/alias", to: "tool")
        try scratch.symlink("src/pkg/usr/lib-link", to: "/usr/lib")
        XCTAssertEqual(link(scratch.path("src/pkg/usr/bin/tool"), scratch.path("src/pkg/usr/bin/tool2")), 0)
        let tarball = scratch.path("good.tar.gz")
        try tar(["-czf", tarball, "-C", scratch.path("src/pkg"), "."])

        let paths = try extractAll(tarball)
        XCTAssertTrue(paths.contains("/usr/bin/tool") && paths.contains("/usr/bin/tool2") && paths.contains("/etc/app.conf"), "\(paths)")
        XCTAssertEqual(try String(contentsOfFile: root + "/usr/bin/tool", encoding: .utf8), "#!/bin/sh\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/bin/alias"), "tool")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/lib-link"), "/usr/lib")
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(root + "/usr/bin/tool", &a), 0)
        XCTAssertEqual(lstat(root + "/usr/bin/tool2", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "hardlinks stay hardlinks")
        XCTAssertEqual(a.st_mode & 0o7777, 0o755)
        var conf = stat()
        XCTAssertEqual(lstat(root + "/etc/app.conf", &conf), 0)
        XCTAssertEqual(conf.st_mode & 0o7777, 0o640)
    }

    func testDotDotMemberIsRefused() throws {
        try scratch.write("src/evil", "evil\n")
        try scratch.makeDirectory("src/sub")
        let tarball = scratch.path("dotdot.tar")
        try tar(["-P", "-cf", tarball, "../evil"], in: scratch.path("src/sub"))
        XCTAssertTrue(try listing(tarball).contains("../evil"))
        assertRefused(tarball, outside: [scratch.path("out/evil"), scratch.path("evil")])
    }

    func testAbsoluteMemberIsRefused() throws {
        let name = "/etc/pkglayer-evil-\(UUID().uuidString)"
        try scratch.write("src/evil", "evil\n")
        let tarball = scratch.path("absolute.tar")
        try tar(["-P", "--transform", "s,^.*$,\(name),", "-cf", tarball, "-C", scratch.path("src"), "evil"])
        XCTAssertEqual(try listing(tarball), [name])
        assertRefused(tarball, outside: [name])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "not re-rooted either")
    }

    func testSymlinkLeavingTheRootIsRefused() throws {
        try scratch.symlink("src/link", to: "../../..")
        let tarball = scratch.path("link.tar")
        try tar(["-cf", tarball, "-C", scratch.path("src"), "link"])
        assertRefused(tarball)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [])
    }

    func testNothingIsWrittenThroughASymlink() throws {
        // `dir -> /tmp`, then `dir/NAME`: extracting naively would create /tmp/NAME.
        let name = "pkglayer-evil-\(UUID().uuidString)"
        try scratch.makeDirectory("src/a")
        try scratch.symlink("src/a/dir", to: "/tmp")
        try scratch.write("src/b/dir/\(name)", "evil\n")
        let tarball = scratch.path("through.tar")
        try tar(["-cf", tarball, "-C", scratch.path("src/a"), "dir", "-C", scratch.path("src/b"), "dir/\(name)"])
        XCTAssertEqual(try listing(tarball), ["dir", "dir/\(name)"])
        assertRefused(tarball, outside: ["/tmp/\(name)"])

        // Spelled relatively, the link is refused as soon as it is seen.
        try FileManager.default.removeItem(atPath: root)
        try FileManager.default.removeItem(atPath: scratch.path("src/a/dir"))
        try scratch.symlink("src/a/dir", to: "../../../tmp")
        let relative = scratch.path("through-relative.tar")
        try tar(["-cf", relative, "-C", scratch.path("src/a"), "dir", "-C", scratch.path("src/b"), "dir/\(name)"])
        assertRefused(relative, outside: ["/tmp/\(name)"])
    }

    func testAHardlinkOutOfTheRootIsRefused() throws {
        // GNU tar will not write a hardlink member naming a path outside the tree; Python's tarfile will.
        let tarball = scratch.path("hardlink.tar")
        let script = """
        import sys, tarfile
        with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
            m = tarfile.TarInfo("passwd"); m.type = tarfile.LNKTYPE; m.linkname = sys.argv[2]; t.addfile(m)
        """
        for target in ["../../etc/passwd", "/etc/passwd"] {
            try TestProcess.runChecked("python3", ["-c", script, tarball, target])
            assertRefused(tarball)
            XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/passwd"))
        }
        // A hardlink to something that is not an extracted regular file is refused too.
        try TestProcess.runChecked("python3", ["-c", script, tarball, "etc/shadow"])
        XCTAssertThrowsPkgLayerError(try extractAll(tarball), code: .invalidInput)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/passwd"))
    }

    private func listing(_ tarball: String) throws -> [String] {
        try TestProcess.runChecked("tar", ["-tPf", tarball]).stdoutText.split(separator: "\n").map(String.init)
    }
}
