import Foundation
import PkgLayerCore
import PkgLayerFetch
import XCTest
@testable import PkgLayerBuild

final class SourceTreeTests: XCTestCase {
    private var scratch: TemporaryDirectory!

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory(prefix: "pkglayer-tree-test")
    }

    override func tearDown() {
        scratch = nil
    }

    /// Writes a tarball with python's tarfile, which writes any member name it is given.
    /// Each member: (name, type, content or link target, uid).
    private func makeTarball(_ name: String, _ members: [(String, String, String, Int)]) throws -> String {
        let path = "\(scratch.path)/\(name)"
        let spec = members.map { "\($0.0)\u{1}\($0.1)\u{1}\($0.2)\u{1}\($0.3)" }.joined(separator: "\u{2}")
        try BuildFixtures.python("""
        import io, sys, tarfile
        out, spec = sys.argv[1], sys.argv[2]
        with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as tar:
            for item in spec.split("\\x02"):
                name, kind, data, uid = item.split("\\x01")
                info = tarfile.TarInfo(name)
                info.uid = int(uid); info.gid = int(uid); info.uname = "someone"; info.gname = "someone"
                info.mtime = 1234567890
                if kind == "dir":
                    info.type = tarfile.DIRTYPE; info.mode = 0o755
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type = tarfile.SYMTYPE; info.linkname = data
                    tar.addfile(info)
                else:
                    info.mode = 0o644; payload = data.encode(); info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
        """, [path, spec])
        return path
    }

    func testExtractsHelloWithStripComponents() throws {
        try BuildFixtures.requireSharedSource()
        let tree = try SourceTree(root: "\(scratch.path)/src")
        let count = try tree.extractArchive(BuildFixtures.helloPath, name: BuildFixtures.helloName, stripComponents: 1)
        XCTAssertGreaterThan(count, 100)
        let fm = FileManager.default
        XCTAssertTrue(fm.isExecutableFile(atPath: "\(tree.root)/configure"))
        XCTAssertTrue(fm.fileExists(atPath: "\(tree.root)/src/hello.c"))
        XCTAssertFalse(fm.fileExists(atPath: "\(tree.root)/hello-2.10"), "the top directory was stripped")

        // Times come from the archive (2014), not from the extraction, so make sees what the tarball shipped.
        let attributes = try fm.attributesOfItem(atPath: "\(tree.root)/configure")
        let mtime = try XCTUnwrap(attributes[.modificationDate] as? Date)
        XCTAssertLessThan(mtime.timeIntervalSince1970, 1_500_000_000)
        let dirTime = try XCTUnwrap(try fm.attributesOfItem(atPath: "\(tree.root)/src")[.modificationDate] as? Date)
        XCTAssertLessThan(dirTime.timeIntervalSince1970, 1_500_000_000, "directory times are restored after their contents")
        // Ownership is never taken from the archive: everything belongs to whoever extracted it.
        XCTAssertEqual((attributes[.ownerAccountID] as? NSNumber)?.uint32Value, getuid())
    }

    func testPopulateResolvesAndExtractsIntoSubdirectoryAndCopiesLocalFiles() throws {
        try BuildFixtures.requireSharedSource()
        let recipeDir = "\(scratch.path)/recipe"
        try BuildFixtures.write("worker_processes 1;\n", to: "\(recipeDir)/files/nginx.conf")
        try BuildFixtures.write("#!/bin/sh\necho hi\n", to: "\(recipeDir)/files/extra/run.sh", mode: 0o755)
        let resolver = SourceResolver(cache: SourceCache(root: "\(scratch.path)/cache"), mirrorDirectories: [BuildFixtures.sharedSources],
                                      allowDownload: false)
        let tree = try SourceTree(root: "\(scratch.path)/src")
        let prepared = try tree.populate([
            SourceRequest(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256, stripComponents: 1, extractTo: "hello"),
            SourceRequest(localPath: "files/nginx.conf", extractTo: "conf"),
            SourceRequest(localPath: "files/extra"),
        ], baseDirectory: recipeDir, resolver: resolver)
        XCTAssertEqual(prepared.count, 3)
        XCTAssertEqual(prepared[0].sha256, BuildFixtures.helloSHA256)
        XCTAssertEqual(prepared[1].sha256, try FileDigest.sha256Hex(path: "\(recipeDir)/files/nginx.conf"))
        XCTAssertEqual(prepared[2].sha256.count, 64, "a directory gets a tree digest")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(tree.root)/hello/configure"))
        XCTAssertEqual(BuildFixtures.read("\(tree.root)/conf/nginx.conf"), "worker_processes 1;\n")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "\(tree.root)/run.sh"), "a directory's contents are merged, modes kept")
    }

    func testLocalFileWithWrongSHA256IsRefused() throws {
        let recipeDir = "\(scratch.path)/recipe"
        try BuildFixtures.write("data", to: "\(recipeDir)/a.txt")
        let tree = try SourceTree(root: "\(scratch.path)/src")
        let error = expectPkgLayerError {
            try tree.populate([SourceRequest(localPath: "a.txt", sha256: String(repeating: "d", count: 64))], baseDirectory: recipeDir,
                              resolver: SourceResolver(cache: SourceCache(root: "\(scratch.path)/cache"), allowDownload: false))
        }
        XCTAssertTrue(error?.description.contains("sha256 mismatch") ?? false, error?.description ?? "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(tree.root)/a.txt"))
    }

    func testForeignOwnersAreNotApplied() throws {
        let tarball = try makeTarball("foreign.tar.gz", [("pkg/", "dir", "", 1001), ("pkg/a.txt", "file", "hello", 1001)])
        let tree = try SourceTree(root: "\(scratch.path)/src")
        try tree.extractArchive(tarball, name: "foreign.tar.gz", stripComponents: 1)
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(tree.root)/a.txt")
        XCTAssertEqual((attributes[.ownerAccountID] as? NSNumber)?.uint32Value, getuid())
        XCTAssertEqual(BuildFixtures.read("\(tree.root)/a.txt"), "hello")
    }

    // MARK: Hostile archives

    private func assertRefused(_ members: [(String, String, String, Int)], strip: Int = 0, mentions: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let outside = "\(scratch.path)/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let tarball = try makeTarball("hostile-\(BuildFixtures.randomToken()).tar.gz", members)
        let tree = try SourceTree(root: "\(scratch.path)/box/src")
        let error = expectPkgLayerError({ try tree.extractArchive(tarball, name: "hostile.tar.gz", stripComponents: strip) }, file: file, line: line)
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("hostile.tar.gz"), "names the archive: \(text)", file: file, line: line)
        XCTAssertTrue(text.contains(mentions), "mentions '\(mentions)': \(text)", file: file, line: line)
        XCTAssertEqual(BuildFixtures.contents(of: outside), [], "nothing was written outside the tree", file: file, line: line)
        XCTAssertEqual(BuildFixtures.contents(of: "\(scratch.path)/box").filter { !$0.hasPrefix("src") }, [], file: file, line: line)
    }

    func testRefusesDotDotMembers() throws {
        try assertRefused([("pkg/", "dir", "", 0), ("pkg/../../outside/evil.txt", "file", "x", 0)], strip: 1, mentions: "..")
    }

    func testStrippingCannotHideDotDot() throws {
        // `../outside/evil` stripped of one component would look like `outside/evil`; it is refused first.
        try assertRefused([("../outside/evil.txt", "file", "x", 0)], strip: 1, mentions: "..")
    }

    func testRefusesAbsoluteMembers() throws {
        try assertRefused([("\(scratch.path)/outside/evil.txt", "file", "x", 0)], strip: 1, mentions: "absolute")
    }

    func testRefusesEscapingSymlink() throws {
        try assertRefused([("pkg/", "dir", "", 0), ("pkg/link", "symlink", "../../outside", 0)], strip: 1, mentions: "symlink")
    }

    func testRefusesWritingThroughASymlink() throws {
        // An absolute target counts as inside the root (as once installed), so the link itself is allowed;
        // writing a later member through it is not.
        try assertRefused([("pkg/", "dir", "", 0), ("pkg/docs", "symlink", "\(scratch.path)/outside", 0),
                           ("pkg/docs/evil.txt", "file", "x", 0)], strip: 1, mentions: "docs")
    }

    func testExtractToCannotEscape() throws {
        try BuildFixtures.requireSharedSource()
        let tree = try SourceTree(root: "\(scratch.path)/src")
        XCTAssertNotNil(expectPkgLayerError { try tree.extractArchive(BuildFixtures.helloPath, name: "h", stripComponents: 1, into: "../x") })
        XCTAssertNotNil(expectPkgLayerError { try tree.extractArchive(BuildFixtures.helloPath, name: "h", stripComponents: 1, into: "/tmp/x") })
        // A symlink planted in the tree is not followed by extract-to or by a copy.
        try FileManager.default.createDirectory(atPath: "\(scratch.path)/outside", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(tree.root)/planted", withDestinationPath: "\(scratch.path)/outside")
        XCTAssertNotNil(expectPkgLayerError { try tree.extractArchive(BuildFixtures.helloPath, name: "h", stripComponents: 1, into: "planted") })
        try BuildFixtures.write("x", to: "\(scratch.path)/file.txt")
        XCTAssertNotNil(expectPkgLayerError { try tree.copy("\(scratch.path)/file.txt", into: "planted") })
        XCTAssertEqual(BuildFixtures.contents(of: "\(scratch.path)/outside"), [])
    }

    // MARK: Patches

    private func patchFixture() throws -> (SourceTree, String) {
        let tree = try SourceTree(root: "\(scratch.path)/src")
        try BuildFixtures.write("line one\nline two\nline three\n", to: "\(tree.root)/greeting.txt")
        let patches = "\(scratch.path)/patches"
        try BuildFixtures.write("""
        --- a/greeting.txt
        +++ b/greeting.txt
        @@ -1,3 +1,3 @@
         line one
        -line two
        +line 2, patched
         line three

        """, to: "\(patches)/0001-fix-greeting.patch")
        try BuildFixtures.write("""
        --- a/greeting.txt
        +++ b/greeting.txt
        @@ -1,3 +1,3 @@
         line one
        -this line is not there
        +something else
         line three

        """, to: "\(patches)/0002-does-not-apply.patch")
        try BuildFixtures.write("""
        --- a/new-file.txt
        +++ b/new-file.txt
        @@ -0,0 +1 @@
        +created by a patch

        """, to: "\(patches)/0003-new-file.patch")
        return (tree, patches)
    }

    func testPatchesApplyInOrder() throws {
        try BuildFixtures.requireSandbox()
        let (tree, patches) = try patchFixture()
        try tree.applyPatches(["\(patches)/0001-fix-greeting.patch", "\(patches)/0003-new-file.patch"])
        XCTAssertEqual(BuildFixtures.read("\(tree.root)/greeting.txt"), "line one\nline 2, patched\nline three\n")
        XCTAssertEqual(BuildFixtures.read("\(tree.root)/new-file.txt"), "created by a patch\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(tree.root)/greeting.txt.orig"))
    }

    func testFailingPatchNamesThePatchAndShowsPatchOutput() throws {
        try BuildFixtures.requireSandbox()
        let (tree, patches) = try patchFixture()
        let bad = "\(patches)/0002-does-not-apply.patch"
        let error = expectPkgLayerError { try tree.applyPatches(["\(patches)/0001-fix-greeting.patch", bad]) }
        let text = error?.description ?? ""
        XCTAssertEqual(error?.location, bad)
        XCTAssertTrue(text.contains("patch 2 of 2"), text)
        XCTAssertTrue(text.contains("FAILED"), "shows patch's own output: \(text)")
        XCTAssertTrue(text.contains("greeting.txt"), text)
    }

    func testAlreadyAppliedPatchIsAnError() throws {
        try BuildFixtures.requireSandbox()
        let (tree, patches) = try patchFixture()
        let good = "\(patches)/0001-fix-greeting.patch"
        try tree.applyPatches([good])
        let error = expectPkgLayerError { try tree.applyPatches([good]) }
        XCTAssertTrue(error?.description.contains("previously applied") ?? false, error?.description ?? "")
        XCTAssertEqual(BuildFixtures.read("\(tree.root)/greeting.txt"), "line one\nline 2, patched\nline three\n", "not reverted")
    }

    func testPatchCannotWriteThroughASymlinkToTheHost() throws {
        try BuildFixtures.requireSandbox()
        let tree = try SourceTree(root: "\(scratch.path)/src")
        let outside = "\(scratch.path)/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(tree.root)/docs", withDestinationPath: outside)
        try BuildFixtures.write("""
        --- a/docs/evil.txt
        +++ b/docs/evil.txt
        @@ -0,0 +1 @@
        +written outside

        """, to: "\(scratch.path)/evil.patch")
        // Whether patch refuses or writes into the sandbox's own /tmp, the host directory stays empty.
        _ = try? tree.applyPatches(["\(scratch.path)/evil.patch"])
        XCTAssertEqual(BuildFixtures.contents(of: outside), [], "patch ran in the sandbox, where the host path does not exist")
    }
}
