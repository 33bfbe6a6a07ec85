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

    // MARK: - Content from elsewhere, staging modes, cleanup

    private func header(_ path: String, _ mode: UInt32, symlink: String? = nil, hardlink: String? = nil) -> ArchiveEntryHeader {
        var h = ArchiveEntryHeader(path: path, mode: mode)
        h.symlinkTarget = symlink
        h.hardlinkTarget = hardlink
        return h
    }

    private func mode(_ path: String) -> mode_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    func testContentFromAClosureOrASink() throws {
        let extractor = try ArchiveExtractor(root: root, archiveName: "pushed")
        var calls = 0
        let path = try extractor.extract(header("./usr/bin/tool", 0o100755)) { write in
            calls += 1
            for part in ["#!/bin/sh\n", "echo ", "hi\n"] { try Array(part.utf8).withUnsafeBytes { try write($0) } }
        }
        XCTAssertEqual(path, "/usr/bin/tool")
        XCTAssertEqual(calls, 1)
        XCTAssertEqual(try String(contentsOfFile: root + "/usr/bin/tool", encoding: .utf8), "#!/bin/sh\necho hi\n")
        XCTAssertEqual(mode(root + "/usr/bin/tool"), 0o755)

        // Only regular files ask for content.
        try extractor.extract(header("./usr/bin/alias", 0o120777, symlink: "tool")) { _ in XCTFail("a symlink has no content") }
        try extractor.extract(header("./usr/bin/again", 0o100755, hardlink: "./usr/bin/tool")) { _ in XCTFail("a hardlink has no content") }

        // A parser that is pushed its data writes through a sink; the mode comes with finish().
        let file = try extractor.createFile(header("./etc/pushed.conf", 0o100640))
        XCTAssertEqual(file.packagePath, "/etc/pushed.conf")
        XCTAssertEqual(file.extractedPath, root + "/etc/pushed.conf")
        try Array("k=".utf8).withUnsafeBytes { try file.write($0) }
        try Array("v\n".utf8).withUnsafeBytes { try file.write($0) }
        XCTAssertEqual(file.size, 4)
        XCTAssertEqual(mode(root + "/etc/pushed.conf"), 0o600, "private until finished")
        try file.finish()
        XCTAssertEqual(mode(root + "/etc/pushed.conf"), 0o640)
        XCTAssertEqual(try String(contentsOfFile: root + "/etc/pushed.conf", encoding: .utf8), "k=v\n")

        // The sink is as careful as the rest: no second member on the same path, no write through a link.
        XCTAssertThrowsPkgLayerError(try extractor.createFile(header("./etc/pushed.conf", 0o100644)), code: .invalidInput)
        XCTAssertThrowsPkgLayerError(try extractor.createFile(header("./usr/bin/alias/x", 0o100644)), code: .pathEscapesRoot)
    }

    func testSpecialBitsAreKeptUnlessTheTreeIsForReading() throws {
        for keep in [true, false] {
            let dir = root + (keep ? "-keep" : "-staging")
            let extractor = try ArchiveExtractor(root: dir, archiveName: "modes", keepSpecialBits: keep)
            for (path, bits) in [("./suid", UInt32(0o4755)), ("./sgid", 0o2711), ("./none", 0o000), ("./write-only", 0o200)] {
                try extractor.extract(header(path, 0o100000 | bits)) { _ in }
            }
            try extractor.extract(header("./spool/", 0o041777)) { _ in }
            try extractor.extract(header("./private/", 0o040500)) { _ in }
            if keep {
                XCTAssertEqual([mode(dir + "/suid"), mode(dir + "/sgid"), mode(dir + "/none"), mode(dir + "/write-only")],
                               [0o4755, 0o2711, 0o000, 0o200], "exact modes for a tree whose modes are the truth")
                XCTAssertEqual(mode(dir + "/spool"), 0o1777)
            } else {
                XCTAssertEqual([mode(dir + "/suid"), mode(dir + "/sgid"), mode(dir + "/none"), mode(dir + "/write-only")],
                               [0o755, 0o711, 0o400, 0o600], "no special bits, and the owner can read what was staged")
                XCTAssertEqual(mode(dir + "/spool"), 0o777)
            }
            XCTAssertEqual(mode(dir + "/private"), 0o700, "directories stay usable by their owner either way")
        }
    }

    func testRemoveAllTakesAwayExactlyWhatItCreated() throws {
        // A root that exists and holds the caller's files: only the extractor's own go.
        try scratch.write("out/root/keep", "mine\n")
        try scratch.makeDirectory("out/root/usr/local")
        let extractor = try ArchiveExtractor(root: root, archiveName: "cleanup")
        try extractor.extract(header("./usr/", 0o040755)) { _ in }
        try extractor.extract(header("./usr/local/bin/tool", 0o100755)) { write in try Array("x".utf8).withUnsafeBytes { try write($0) } }
        try extractor.extract(header("./usr/share/doc/a/b", 0o100444)) { _ in }
        try extractor.extract(header("./usr/share/doc/link", 0o120777, symlink: "a/b")) { _ in }
        try extractor.extract(header("./etc/hard", 0o100644, hardlink: "./usr/local/bin/tool")) { _ in }
        let unfinished = try extractor.createFile(header("./var/half", 0o100644))
        try Array("half".utf8).withUnsafeBytes { try unfinished.write($0) }
        extractor.removeAll()
        XCTAssertEqual(listTree(root), ["keep", "usr", "usr/local"])
        XCTAssertEqual(try String(contentsOfFile: root + "/keep", encoding: .utf8), "mine\n")
        XCTAssertThrowsPkgLayerError(try extractor.extract(header("./late", 0o100644)) { _ in }, code: .archive,
                                     "a discarded extractor makes nothing more")

        // A root the extractor made (with a missing parent) goes entirely, parent included.
        let fresh = scratch.path("out/new/deeper/root")
        let second = try ArchiveExtractor(root: fresh, archiveName: "cleanup")
        try second.extract(header("./a/b/c", 0o100644)) { _ in }
        second.removeAll()
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out/new")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path("out")).sorted(), ["root"])
    }

    /// Symlinks that each stay inside the root lexically can still lead out when resolved
    /// (`s/a -> ..` is the root, `s/b -> a/..` is then the root's parent). A hardlink's target is
    /// looked up without following any of them, so it cannot pull in a file from outside.
    func testAHardlinkTargetIsNotLookedUpThroughSymlinks() throws {
        try scratch.write("out/secret", "outside\n")
        let extractor = try ArchiveExtractor(root: root, archiveName: "chain")
        try extractor.extract(header("./s/", 0o040755)) { _ in }
        try extractor.extract(header("./s/a", 0o120777, symlink: "..")) { _ in }
        try extractor.extract(header("./s/b", 0o120777, symlink: "a/..")) { _ in }
        XCTAssertEqual(try String(contentsOfFile: root + "/s/b/secret", encoding: .utf8), "outside\n",
                       "the chain does lead outside the root")
        XCTAssertThrowsPkgLayerError(try extractor.extract(header("./stolen", 0o100644, hardlink: "./s/b/secret")) { _ in },
                                     code: .invalidInput)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/stolen"))

        // Even a link inside the root is not followed to find a target.
        try extractor.extract(header("./real/f", 0o100644)) { _ in }
        try extractor.extract(header("./alias", 0o120777, symlink: "real")) { _ in }
        XCTAssertThrowsPkgLayerError(try extractor.extract(header("./h", 0o100644, hardlink: "./alias/f")) { _ in }, code: .invalidInput)
        try extractor.extract(header("./h", 0o100644, hardlink: "./real/f")) { _ in }
    }

    private func listing(_ tarball: String) throws -> [String] {
        try TestProcess.runChecked("tar", ["-tPf", tarball]).stdoutText.split(separator: "\n").map(String.init)
    }
}
