import PkgLayerCore
import XCTest

/// FileManifest's own checks, independent of any tree on disk.
final class FileManifestTests: XCTestCase {
    private func file(_ path: String, size: UInt64 = 3) -> ManifestEntry {
        ManifestEntry(path: path, kind: .file, mode: 0o644, mtime: 10, size: size, sha256: String(repeating: "a", count: 64))
    }

    private func dir(_ path: String) -> ManifestEntry { ManifestEntry(path: path, kind: .directory, mode: 0o755, mtime: 10) }

    func testSortsNormalisesAndAddsParents() throws {
        let manifest = try FileManifest(entries: [file("usr//bin/./b"), file("/usr/bin/a"), dir("/usr/bin/")], implicitDirectoryMtime: 42)
        XCTAssertEqual(manifest.entries.map(\.path), ["/usr", "/usr/bin", "/usr/bin/a", "/usr/bin/b"])
        XCTAssertTrue(manifest["/usr"]!.isImplicitDirectory)
        XCTAssertEqual(manifest["/usr"]!.mtime, 42)
        XCTAssertFalse(manifest["/usr/bin"]!.isImplicitDirectory)
        XCTAssertEqual(manifest["/usr/bin"]!.mtime, 10)
        XCTAssertEqual(manifest.count, 4)
    }

    func testTheRootItselfIsDropped() throws {
        let manifest = try FileManifest(entries: [dir("/"), file("/a")], implicitDirectoryMtime: 0)
        XCTAssertEqual(manifest.entries.map(\.path), ["/a"])
    }

    func testDuplicatesAreRejected() {
        let error = XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/etc/a"), file("/etc/a")], implicitDirectoryMtime: 0),
                                                 code: .duplicatePath)
        XCTAssertEqual(error?.location, "/etc/a")
        // Spelled differently, the same path after normalisation.
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/etc/a"), file("etc//./a")], implicitDirectoryMtime: 0),
                                     code: .duplicatePath)
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [dir("/etc/d"), dir("/etc/d/")], implicitDirectoryMtime: 0),
                                     code: .duplicatePath)
    }

    func testDotDotIsRejected() {
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/usr/../../etc/shadow")], implicitDirectoryMtime: 0),
                                     code: .pathEscapesRoot)
    }

    func testHardlinkTargetMustBeAnEarlierRegularFile() throws {
        var link = ManifestEntry(path: "/b", kind: .hardlink, mode: 0o644, mtime: 0, linkTarget: "/a")
        XCTAssertNoThrow(try FileManifest(entries: [file("/a"), link], implicitDirectoryMtime: 0))

        let missing = XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/c"), link], implicitDirectoryMtime: 0),
                                                   code: .invalidInput)
        XCTAssertEqual(missing?.location, "/b")
        XCTAssertTrue(missing?.message.contains("/a") ?? false)

        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [dir("/a"), link], implicitDirectoryMtime: 0), code: .invalidInput)
        let symlink = ManifestEntry(path: "/a", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "x")
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [symlink, link], implicitDirectoryMtime: 0), code: .invalidInput)
        let other = ManifestEntry(path: "/a", kind: .hardlink, mode: 0o644, mtime: 0, linkTarget: "/0")
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/0"), other, link], implicitDirectoryMtime: 0), code: .invalidInput,
                                     "a hardlink to a hardlink")
        link.linkTarget = nil
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/a"), link], implicitDirectoryMtime: 0), code: .invalidInput)

        // The target must be the group's first member in sort order.
        let early = ManifestEntry(path: "/a", kind: .hardlink, mode: 0o644, mtime: 0, linkTarget: "/z")
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/z"), early], implicitDirectoryMtime: 0), code: .invalidInput)
    }

    func testSymlinkWithEmptyTargetIsRejected() {
        let empty = ManifestEntry(path: "/l", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "")
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try FileManifest(entries: [empty], implicitDirectoryMtime: 0), code: .invalidInput)?.location, "/l")
        let none = ManifestEntry(path: "/l", kind: .symlink, mode: 0o777, mtime: 0)
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [none], implicitDirectoryMtime: 0), code: .invalidInput)
    }

    func testAParentThatIsNotADirectoryIsRejected() {
        let error = XCTAssertThrowsPkgLayerError(try FileManifest(entries: [file("/opt/a"), file("/opt/a/b")], implicitDirectoryMtime: 0),
                                                 code: .duplicatePath)
        XCTAssertEqual(error?.location, "/opt/a")
        XCTAssertTrue(error?.message.contains("/opt/a/b") ?? false)
        let symlink = ManifestEntry(path: "/opt/l", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "/tmp")
        XCTAssertThrowsPkgLayerError(try FileManifest(entries: [symlink, file("/opt/l/deep/x")], implicitDirectoryMtime: 0),
                                     code: .duplicatePath, "a symlink is not a directory: nothing may be placed through it")
    }

    func testInstalledSizeCountsHardlinkedContentOnce() throws {
        let link = ManifestEntry(path: "/b", kind: .hardlink, mode: 0o644, mtime: 0, size: 100, linkTarget: "/a")
        let symlink = ManifestEntry(path: "/c", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "abcd")
        let manifest = try FileManifest(entries: [file("/a", size: 100), link, symlink, dir("/d")], implicitDirectoryMtime: 0)
        XCTAssertEqual(manifest.installedSize, 104)
    }

    func testMapEntriesKeepsPathsAndOrder() throws {
        let manifest = try FileManifest(entries: [file("/x/b"), file("/x/a")], implicitDirectoryMtime: 0)
        let owned = manifest.mapEntries { $0.setOwner(user: Owner(name: "app", id: 7), group: nil) }
        XCTAssertEqual(owned.entries.map(\.path), manifest.entries.map(\.path))
        XCTAssertEqual(owned.entries.map(\.uid), [7, 7, 7])
        XCTAssertEqual(owned.entries.map(\.gid), [0, 0, 0])
    }

    func testManifestPathHelpers() throws {
        XCTAssertEqual(try ManifestPath.normalize("a//b/./c/", field: "f"), "/a/b/c")
        XCTAssertEqual(try ManifestPath.normalize("", field: "f"), "/")
        XCTAssertThrowsPkgLayerError(try ManifestPath.normalize("a/\u{0}b", field: "f"), code: .invalidInput)
        XCTAssertEqual(ManifestPath.parent(of: "/a/b"), "/a")
        XCTAssertEqual(ManifestPath.parent(of: "/a"), "/")
        XCTAssertEqual(ManifestPath.basename(of: "/a/b c"), "b c")
        XCTAssertTrue(ManifestPath.symlinkStaysInside(linkPath: "/usr/bin/x", target: "../lib/x"))
        XCTAssertTrue(ManifestPath.symlinkStaysInside(linkPath: "/usr/bin/x", target: "/etc/alternatives/x"))
        XCTAssertFalse(ManifestPath.symlinkStaysInside(linkPath: "/usr/bin/x", target: "../../../etc"))
        XCTAssertFalse(ManifestPath.symlinkStaysInside(linkPath: "/link", target: "../../.."))
        XCTAssertEqual(try ManifestPath.normalizeMember("./usr/bin/x", archive: "a.tar"), "/usr/bin/x")
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try ManifestPath.normalizeMember("/etc/passwd", archive: "a.tar"),
                                                    code: .pathEscapesRoot)?.location, "a.tar")
        let dotdot = XCTAssertThrowsPkgLayerError(try ManifestPath.normalizeMember("../evil", archive: "a.tar"), code: .pathEscapesRoot)
        XCTAssertTrue(dotdot?.message.hasPrefix("member '../evil'") ?? false)
    }
}
