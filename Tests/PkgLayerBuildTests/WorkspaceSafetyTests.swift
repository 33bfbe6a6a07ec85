import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerBuild

/// Issue 21, at the room's level: the build workspace is private, the source tree holds no setuid
/// files, and what pkglayer writes into trees that packages shaped (the dependency sysroot, an image
/// root) never goes through a link in them. A canary directory beside the trees must not change.
final class WorkspaceSafetyTests: XCTestCase {
    private var scratch: TemporaryDirectory!
    private var canary = ""
    private var canaryBefore: [String: String] = [:]

    override func setUpWithError() throws {
        scratch = try TemporaryDirectory(prefix: "pkglayer-workspace-safety")
        canary = "\(scratch.path)/canary"
        try BuildFixtures.write("ORIGINAL\n", to: "\(canary)/victim", mode: 0o600)
        try BuildFixtures.write("a\n", to: "\(canary)/tree/a")
        try BuildFixtures.write("b\n", to: "\(canary)/tree/sub/b", mode: 0o640)
        canaryBefore = try canarySnapshot(canary)
    }

    override func tearDownWithError() throws {
        XCTAssertEqual(try canarySnapshot(canary), canaryBefore, "the canary beside the trees changed")
        scratch = nil
    }


    private func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o17777
    }

    private func kind(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    // MARK: - The workspace

    func testAWorkspaceIsPrivateToItsUserAtEveryLevel() throws {
        let workspace = try BuildWorkspace(parent: "\(scratch.path)/work")
        for dir in [workspace.root, workspace.sourceDirectory, workspace.destdir, workspace.home] {
            XCTAssertEqual(mode(dir), 0o700, dir)
        }
        var kept = ""
        do {
            let workspace = try BuildWorkspace(parent: "\(scratch.path)/work")
            workspace.keep = true
            kept = workspace.root
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(kept)/src"))
        XCTAssertEqual(mode(kept), 0o700, "a kept (or a killed build's) directory stays private")
    }

    func testTheSourceTreeHasNoSetuidSetgidOrStickyBits() throws {
        let tarball = "\(scratch.path)/special.tar.gz"
        try BuildFixtures.python("""
        import io, sys, tarfile
        with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as tar:
            for name, mode, kind in [("top", 0o2775, "dir"), ("top/shared", 0o1777, "dir"), ("top/su", 0o4755, "file"), ("top/sg", 0o2711, "file")]:
                info = tarfile.TarInfo(name); info.mode = mode; info.mtime = 1234567890
                if kind == "dir":
                    info.type = tarfile.DIRTYPE; tar.addfile(info)
                else:
                    data = b"#!/bin/sh\\n"; info.size = len(data); tar.addfile(info, io.BytesIO(data))
        """, [tarball])
        let tree = try SourceTree(root: "\(scratch.path)/src")
        try tree.extractArchive(tarball, name: "special.tar.gz", stripComponents: 1)
        XCTAssertEqual(mode("\(tree.root)/su"), 0o755)
        XCTAssertEqual(mode("\(tree.root)/sg"), 0o711)
        XCTAssertEqual(mode("\(tree.root)/shared"), 0o777)

        // A local directory copied in loses them too.
        try BuildFixtures.write("#!/bin/sh\n", to: "\(scratch.path)/local/helper", mode: 0o6755)
        try tree.copy("\(scratch.path)/local", into: "extra")
        XCTAssertEqual(mode("\(tree.root)/extra/helper"), 0o755)
    }

    func testDestdirKeepsTheSpecialBitsAStepInstalls() throws {
        try BuildFixtures.requireSandbox()
        let workspace = try BuildWorkspace(parent: "\(scratch.path)/work")
        let runner = BuildRunner(sandbox: workspace.sandbox(sourceDateEpoch: BuildFixtures.epoch), logPath: workspace.logPath)
        try runner.run([BuildStep(name: "install", script: "install -D -m 4755 /dev/null /build/destdir/usr/bin/helper")])
        XCTAssertEqual(mode("\(workspace.destdir)/usr/bin/helper"), 0o4755)
        let manifest = try ManifestBuilder.snapshot(of: workspace.destdir)
        XCTAssertEqual(manifest.entries.first { $0.path == "/usr/bin/helper" }?.mode, 0o4755, "the package declares what the install made")
    }

    // MARK: - The dependency sysroot

    /// A staged package tree, as a reader leaves one.
    private func stage(_ name: String, _ build: (String) throws -> Void) throws -> String {
        let root = "\(scratch.path)/staging/\(name)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try build(root)
        return root
    }

    func testMergeReplacesAPackagesLinkInsteadOfWritingThroughIt() throws {
        let sysroot = "\(scratch.path)/deps"
        let a = try stage("a") { root in
            try FileManager.default.createDirectory(atPath: "\(root)/usr/share/x", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/usr/share/x/conf", withDestinationPath: "\(self.canary)/victim")
            try BuildFixtures.write("lib-a\n", to: "\(root)/usr/lib/liba.so.1", mode: 0o4755)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/usr/lib/liba.so", withDestinationPath: "/usr/lib/liba.so.1")
            try FileManager.default.createSymbolicLink(atPath: "\(root)/usr/lib/top", withDestinationPath: "/")
            try FileManager.default.linkItem(atPath: "\(root)/usr/lib/liba.so.1", toPath: "\(root)/usr/lib/liba-hard.so.1")
        }
        let b = try stage("b") { root in
            try BuildFixtures.write("from-b\n", to: "\(root)/usr/share/x/conf")
        }
        try BuildDependencySysroot.merge(a, into: sysroot, package: "a.rpm")
        try BuildDependencySysroot.merge(b, into: sysroot, package: "b.rpm")
        XCTAssertEqual(kind("\(sysroot)/usr/share/x/conf"), S_IFREG, "b's file replaced a's link")
        XCTAssertEqual(BuildFixtures.read("\(sysroot)/usr/share/x/conf"), "from-b\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(sysroot)/usr/lib/liba.so"), "liba.so.1",
                       "an absolute link resolves inside the sysroot")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(sysroot)/usr/lib/top"), "../..")
        XCTAssertEqual(mode("\(sysroot)/usr/lib/liba.so.1"), 0o755, "no setuid in the sysroot")
        var one = stat(), two = stat()
        XCTAssertEqual(lstat("\(sysroot)/usr/lib/liba.so.1", &one), 0)
        XCTAssertEqual(lstat("\(sysroot)/usr/lib/liba-hard.so.1", &two), 0)
        XCTAssertEqual(one.st_ino, two.st_ino, "hardlinks stay hardlinks")
    }

    func testMergeRefusesADirectoryOverALinkAndAnEscapingLink() throws {
        let sysroot = "\(scratch.path)/deps"
        let linker = try stage("linker") { root in
            try FileManager.default.createDirectory(atPath: "\(root)/usr/share", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/usr/share/y", withDestinationPath: "\(self.canary)/tree")
        }
        let filler = try stage("filler") { root in
            try BuildFixtures.write("planted\n", to: "\(root)/usr/share/y/planted")
            try BuildFixtures.write("over a dir\n", to: "\(root)/usr/share/y2")
        }
        try BuildDependencySysroot.merge(linker, into: sysroot, package: "linker.rpm")
        XCTAssertThrowsError(try BuildDependencySysroot.merge(filler, into: sysroot, package: "filler.rpm")) { error in
            XCTAssertTrue("\(error)".contains("filler.rpm has a directory at /usr/share/y, where a build dependency merged before it has a symlink"), "\(error)")
        }
        let climber = try stage("climber") { root in
            try FileManager.default.createDirectory(atPath: "\(root)/usr", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/usr/out", withDestinationPath: "../../../../etc")
        }
        XCTAssertThrowsError(try BuildDependencySysroot.merge(climber, into: "\(scratch.path)/deps2", package: "climber.rpm")) { error in
            XCTAssertTrue("\(error)".contains("symlink /usr/out -> '../../../../etc', which leaves the package's root"), "\(error)")
        }
        let dirs = try stage("dirs") { root in try FileManager.default.createDirectory(atPath: "\(root)/usr/share/y2", withIntermediateDirectories: true) }
        let file = try stage("file") { root in try BuildFixtures.write("x\n", to: "\(root)/usr/share/y2") }
        try BuildDependencySysroot.merge(dirs, into: "\(scratch.path)/deps3", package: "dirs.rpm")
        XCTAssertThrowsError(try BuildDependencySysroot.merge(file, into: "\(scratch.path)/deps3", package: "file.rpm")) { error in
            XCTAssertTrue("\(error)".contains("file.rpm has a file at /usr/share/y2, where a build dependency merged before it has a directory"), "\(error)")
        }
    }

    func testPkgConfigRelocationNeverWritesThroughALink() throws {
        let sysroot = "\(scratch.path)/deps"
        try BuildFixtures.write("prefix=/usr\n", to: "\(sysroot)/usr/lib/pkgconfig/real.pc")
        // A host .pc beside the canary, reached by a linked file and a linked directory.
        try BuildFixtures.write("prefix=/usr\n", to: "\(canary)/tree/sub/host.pc")
        canaryBefore = try canarySnapshot(canary)
        try FileManager.default.createSymbolicLink(atPath: "\(sysroot)/usr/lib/pkgconfig/linked.pc", withDestinationPath: "\(canary)/tree/sub/host.pc")
        try FileManager.default.createSymbolicLink(atPath: "\(sysroot)/usr/share", withDestinationPath: "\(canary)/tree")
        let changed = try BuildDependencySysroot.relocatePkgConfigFiles(hostRoot: sysroot)
        XCTAssertEqual(changed, ["\(sysroot)/usr/lib/pkgconfig/real.pc"])
        XCTAssertEqual(BuildFixtures.read("\(sysroot)/usr/lib/pkgconfig/real.pc"), "prefix=/build/deps/usr\n")
        XCTAssertEqual(kind("\(sysroot)/usr/lib/pkgconfig/linked.pc"), S_IFLNK)
    }

    // MARK: - An image root

    func testRemovalInATreeRemovesLinksNotWhatTheyPointAt() throws {
        let tree = "\(scratch.path)/rootfs"
        try BuildFixtures.write("x\n", to: "\(tree)/dir/locked/file")
        chmod("\(tree)/dir/locked", 0o555)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/dir/to-canary", withDestinationPath: canary)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/root", withDestinationPath: "/")
        let fd = open(tree, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try SafeDirectory.remove("dir", in: fd, location: tree)
        try SafeDirectory.remove("root", in: fd, location: tree)
        try SafeDirectory.remove("missing", in: fd, location: tree)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tree), [])
        XCTAssertThrowsError(try SafeDirectory.remove("../canary", in: fd, location: tree))
    }

    func testLookupsInAnImageRootResolveInsideIt() throws {
        let rootfs = "\(scratch.path)/rootfs"
        try BuildFixtures.write("#!/bin/busybox\n", to: "\(rootfs)/usr/bin/busybox", mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/bin", withDestinationPath: "usr/bin")
        try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/usr/bin/sh", withDestinationPath: "/bin/busybox")
        try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/host", withDestinationPath: "/")
        try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/up", withDestinationPath: "../../../../..")
        try FileManager.default.createSymbolicLink(atPath: "\(rootfs)/loop", withDestinationPath: "loop")
        let sandbox = RootfsSandbox(rootfs: rootfs, sourceDateEpoch: BuildFixtures.epoch)
        XCTAssertTrue(sandbox.contains("/bin/sh"))
        XCTAssertTrue(sandbox.contains("/host/usr/bin/busybox"), "/ is the rootfs")
        XCTAssertFalse(sandbox.contains("/host\(canary)/victim"), "the host's file is not in the image")
        XCTAssertFalse(sandbox.contains("/up\(canary)/victim"), ".. stops at the rootfs")
        XCTAssertFalse(sandbox.contains("/loop/x"))
        XCTAssertFalse(sandbox.contains("/bin/sh/x"))
    }
}
