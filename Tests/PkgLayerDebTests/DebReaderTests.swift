import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

final class DebReaderTests: XCTestCase {
    // MARK: - Round trip

    private func fullSpec(_ fx: Fixture) throws -> PackageSpec {
        var spec = fx.spec()
        spec.epoch = 3
        spec.vendor = "Pkglayer Test Vendor"
        spec.depends = [try Dependency(parsing: "libc6 (>= 2.36)", field: "t"), try Dependency(parsing: "awk | mawk (>= 1.3)", field: "t")]
        spec.preDepends = [Dependency(name: "dpkg", versionOperator: .greaterOrEqual, version: "1.17.6")]
        spec.recommends = [Dependency(name: "curl")]
        spec.suggests = [Dependency(name: "wget", versionOperator: .greaterThan, version: "1.0")]
        spec.conflicts = [Dependency(name: "hello-conflict")]
        spec.breaks = [Dependency(name: "hello-broken", versionOperator: .lessOrEqual, version: "0.9")]
        spec.replaces = [Dependency(name: "hello-replaced")]
        spec.provides = [Dependency(name: "hello-virtual", versionOperator: .equal, version: "1.0")]
        spec.scripts = [.beforeInstall: "echo bi\n", .beforeUpgrade: "#!/bin/bash\necho bu \"$@\"\n", .afterInstall: "echo ai\n",
                        .beforeRemove: "echo br\n", .afterRemove: "echo ar\n"]
        return spec
    }

    func testRoundTripEveryCompression() throws {
        for compression in DpkgDebTests.compressions {
            let fx = try Fixture()
            try fx.populateStandard()
            try fx.file("/usr/share/doc/hello-pkglayer/README", "doc\n", flags: [.doc])
            let spec = try fullSpec(fx)
            let manifest = try fx.manifest()
            let deb = fx.path("rt.deb")
            _ = try DebWriter(dataCompression: compression).write(spec: spec, manifest: manifest, to: deb)

            let staging = fx.path("staging")
            let read = try DebReader().readPackage(path: deb, extractTo: staging)
            XCTAssertEqual(read.warnings, [])
            let got = read.package
            var expectedSpec = spec
            expectedSpec.license = nil
            XCTAssertEqual(got.spec, expectedSpec, "\(compression)")

            XCTAssertEqual(got.manifest.entries.map(\.path), manifest.entries.map(\.path))
            for (a, b) in zip(got.manifest.entries, manifest.entries) {
                XCTAssertEqual(a.kind, b.kind, a.path)
                XCTAssertEqual(a.mode, b.mode, a.path)
                XCTAssertEqual(a.uid, b.uid, a.path)
                XCTAssertEqual(a.gid, b.gid, a.path)
                XCTAssertEqual(a.user, b.user, a.path)
                XCTAssertEqual(a.group, b.group, a.path)
                XCTAssertEqual(a.mtime, b.mtime, a.path)
                XCTAssertEqual(a.linkTarget, b.linkTarget, a.path)
                XCTAssertEqual(a.flags, b.flags, a.path)
                if a.kind != .directory {
                    XCTAssertEqual(a.size, b.size, a.path)
                    XCTAssertEqual(a.sha256, b.sha256, a.path)
                }
                XCTAssertEqual(a.isImplicitDirectory, StandardDirectories.all.contains(a.path), a.path)
                if a.kind == .file {
                    let source = try XCTUnwrap(a.sourcePath, a.path)
                    XCTAssertEqual(try FileDigest.sha256Hex(path: source), b.sha256, "staged content of \(a.path)")
                    XCTAssertEqual(lstatOf(source)!.st_mode & 0o7000, 0, "staged files carry no setuid/setgid/sticky bits")
                }
            }
            // The staged hardlink is a hardlink, and the staged symlink a symlink.
            XCTAssertEqual(lstatOf(staging + "/usr/bin/zz-hello-link")?.st_ino, lstatOf(staging + "/usr/bin/hello-pkglayer")?.st_ino)
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: staging + "/usr/bin/hello-alias"), "hello-pkglayer")

            // Writing what was read gives the same bytes again.
            let again = fx.path("again.deb")
            _ = try DebWriter(dataCompression: compression).write(spec: got.spec, manifest: got.manifest, to: again)
            XCTAssertTrue(try bytes(of: deb) == bytes(of: again), "\(compression): read → write is not byte-identical")
        }
    }

    func testReadWithoutExtracting() throws {
        let fx = try Fixture()
        try fx.populateStandard()
        let deb = fx.path("x.deb")
        _ = try DebWriter().write(spec: try fullSpec(fx), manifest: try fx.manifest(), to: deb)
        let read = try DebReader().read(path: deb, extractTo: nil)
        XCTAssertTrue(read.manifest.entries.allSatisfy { $0.sourcePath == nil })
        XCTAssertEqual(read.manifest["/usr/bin/hello-pkglayer"]?.sha256, fx.entries[0].sha256)
        XCTAssertEqual(read.spec.epoch, 3)
        XCTAssertEqual(read.spec.version, "1.0")
        XCTAssertEqual(read.spec.release, "1")
        XCTAssertEqual(read.spec.sourceDateEpoch, SourceDateEpoch(fx.epoch))
    }

    /// A package made by dpkg-deb itself (GNU tar, dpkg's own layout), read back.
    func testReadsPackageBuiltByDpkgDeb() throws {
        let dir = try TemporaryDirectory(prefix: "pkglayer-dpkgdeb")
        let tree = dir.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/DEBIAN", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree + "/usr/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tree + "/usr/share/man/man1", withIntermediateDirectories: true)
        try "Package: third-party\nVersion: 1:2.3-4\nArchitecture: all\nMaintainer: Someone <someone@example.org>\nInstalled-Size: 12\nDepends: libc6 (>= 2.36), awk | mawk\nDescription: a third-party package\n made with dpkg-deb\n .\n really\n"
            .write(toFile: tree + "/DEBIAN/control", atomically: false, encoding: .utf8)
        try "/etc/third.conf\n".write(toFile: tree + "/DEBIAN/conffiles", atomically: false, encoding: .utf8)
        try "#!/bin/sh\nset -e\necho third-party postinst\n".write(toFile: tree + "/DEBIAN/postinst", atomically: false, encoding: .utf8)
        chmod(tree + "/DEBIAN/postinst", 0o755)
        try "interest-noawait /usr/share/third-party\n".write(toFile: tree + "/DEBIAN/triggers", atomically: false, encoding: .utf8)
        try "#!/bin/sh\necho tool\n".write(toFile: tree + "/usr/bin/tool", atomically: false, encoding: .utf8)
        chmod(tree + "/usr/bin/tool", 0o4755)
        link(tree + "/usr/bin/tool", tree + "/usr/bin/a-tool-link")
        symlink("tool", tree + "/usr/bin/tool-alias")
        try "conf\n".write(toFile: tree + "/etc/third.conf", atomically: false, encoding: .utf8)
        try "man\n".write(toFile: tree + "/usr/share/man/man1/tool.1", atomically: false, encoding: .utf8)
        let deb = dir.path + "/third.deb"
        try Tool.check(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", tree, deb], environment: ["SOURCE_DATE_EPOCH": "1600000000"])

        let staging = dir.path + "/staging"
        let read = try DebReader().readPackage(path: deb, extractTo: staging)
        let spec = read.package.spec
        XCTAssertEqual(spec.name, "third-party")
        XCTAssertEqual(spec.epoch, 1)
        XCTAssertEqual(spec.version, "2.3")
        XCTAssertEqual(spec.release, "4")
        XCTAssertEqual(spec.architecture, .noarch)
        XCTAssertEqual(spec.summary, "a third-party package")
        XCTAssertEqual(spec.description, "made with dpkg-deb\n\nreally")
        XCTAssertEqual(spec.depends.map(\.description), ["libc6 >= 2.36", "awk | mawk"])
        XCTAssertEqual(spec.scripts, [.afterInstall: "#!/bin/sh\nset -e\necho third-party postinst\n"])
        XCTAssertEqual(spec.sourceDateEpoch, SourceDateEpoch(1_600_000_000))
        XCTAssertEqual(spec.extras.debTriggers, ["interest-noawait /usr/share/third-party"], "the triggers file is carried, not dropped")
        XCTAssertFalse(read.warnings.contains { $0.contains("triggers") }, "\(read.warnings)")

        let m = read.package.manifest
        XCTAssertEqual(m["/etc/third.conf"]?.flags, [.config, .noReplace])
        XCTAssertEqual(m["/usr/share/man/man1/tool.1"]?.flags, [.doc])
        XCTAssertEqual(m["/usr/bin/tool"]?.mode, 0o4755)
        XCTAssertEqual(m["/usr/bin/tool-alias"]?.linkTarget, "tool")
        // dpkg-deb archived one of the pair first; the manifest makes the smaller path the file.
        XCTAssertEqual(m["/usr/bin/a-tool-link"]?.kind, .file)
        XCTAssertEqual(m["/usr/bin/tool"]?.kind, .hardlink)
        XCTAssertEqual(m["/usr/bin/tool"]?.linkTarget, "/usr/bin/a-tool-link")
        XCTAssertEqual(try String(contentsOfFile: try XCTUnwrap(m["/usr/bin/a-tool-link"]?.sourcePath), encoding: .utf8), "#!/bin/sh\necho tool\n")
        XCTAssertEqual(m["/usr/bin"]?.isImplicitDirectory, true)
        XCTAssertEqual(m["/usr/bin/tool"]?.user, "root")

        // And it converts back into a deb dpkg accepts.
        let out = dir.path + "/rewritten.deb"
        _ = try DebWriter().write(spec: spec, manifest: m, to: out)
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", out, "Version"]).stdout, "1:2.3-4\n")
    }

    // MARK: - Hostile and malformed packages

    /// Builds a deb with the ar and tar command-line tools from a data tree, with a hook to craft names.
    private final class Crafted {
        let dir: TemporaryDirectory
        var tree: String { dir.path + "/tree" }
        var deb: String { dir.path + "/hostile.deb" }

        init() throws {
            dir = try TemporaryDirectory(prefix: "pkglayer-hostile")
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir.path + "/ctrl", withIntermediateDirectories: true)
            try "Package: hostile\nVersion: 1.0\nArchitecture: all\nMaintainer: X <x@example.org>\nDescription: hostile\n"
                .write(toFile: dir.path + "/ctrl/control", atomically: false, encoding: .utf8)
            try "2.0\n".write(toFile: dir.path + "/debian-binary", atomically: false, encoding: .utf8)
            try Tool.check(["tar", "-czf", dir.path + "/control.tar.gz", "-C", dir.path + "/ctrl", "./control"])
        }

        /// `tar` arguments after `-czf data.tar.gz`, run in the tree.
        func data(_ args: [String]) throws {
            try Tool.check(["tar", "-czf", dir.path + "/data.tar.gz"] + args, cwd: tree)
        }

        func assemble(_ members: [String] = ["debian-binary", "control.tar.gz", "data.tar.gz"]) throws {
            try Tool.check(["ar", "rc", deb] + members, cwd: dir.path)
        }
    }

    private func assertRefused(_ crafted: Crafted, code: PkgLayerError.Code, mentioning words: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        let staging = crafted.dir.path + "/staging"
        XCTAssertThrowsError(try DebReader().read(path: crafted.deb, extractTo: staging), file: file, line: line) { error in
            guard let e = error as? PkgLayerError else { return XCTFail("\(error)", file: file, line: line) }
            print("refused as expected: \(e)")
            XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
            XCTAssertEqual(e.location, crafted.deb, "the error names the deb", file: file, line: line)
            for word in words { XCTAssertTrue(e.description.contains(word), "'\(word)' not in: \(e)", file: file, line: line) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging), "nothing is left behind", file: file, line: line)
    }

    func testRefusesDotDotMember() throws {
        let c = try Crafted()
        try "evil\n".write(toFile: c.tree + "/x", atomically: false, encoding: .utf8)
        try c.data(["-P", "--transform=s,^x$,../x,", "x"])
        XCTAssertTrue(try Tool.check(["tar", "-tzf", c.dir.path + "/data.tar.gz"]).stdout.contains("../x"))
        try c.assemble()
        assertRefused(c, code: .pathEscapesRoot, mentioning: ["'../x'"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.dir.path + "/x"))
    }

    func testRefusesAbsoluteMember() throws {
        let c = try Crafted()
        try "evil\n".write(toFile: c.tree + "/x", atomically: false, encoding: .utf8)
        try c.data(["-P", "--transform=s,^x$,/etc/x,", "x"])
        try c.assemble()
        assertRefused(c, code: .pathEscapesRoot, mentioning: ["'/etc/x'", "absolute"])
    }

    func testRefusesEscapingSymlink() throws {
        let c = try Crafted()
        try FileManager.default.createDirectory(atPath: c.tree + "/usr/lib", withIntermediateDirectories: true)
        symlink("../../..", c.tree + "/usr/lib/escape")
        try c.data(["./usr/lib/escape"])
        try c.assemble()
        assertRefused(c, code: .pathEscapesRoot, mentioning: ["./usr/lib/escape", "../../.."])
    }

    /// A symlink that stays inside (absolute targets resolve against the package root) followed by a
    /// file beneath it: extraction must not write through the link.
    func testNeverWritesThroughSymlink() throws {
        let c = try Crafted()
        let outside = c.dir.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        symlink(outside, c.tree + "/lib")
        try c.data(["./lib"])
        // Append a member "./lib/planted" that tar takes from a real directory.
        let other = c.dir.path + "/other"
        try FileManager.default.createDirectory(atPath: other + "/lib", withIntermediateDirectories: true)
        try "planted\n".write(toFile: other + "/lib/planted", atomically: false, encoding: .utf8)
        try Tool.check(["sh", "-c", "gunzip data.tar.gz && tar -rf data.tar -C other ./lib/planted && gzip -n data.tar", "sh"], cwd: c.dir.path)
        try c.assemble()
        let staging = c.dir.path + "/staging"
        XCTAssertThrowsError(try DebReader().read(path: c.deb, extractTo: staging)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .pathEscapesRoot, "\(error)")
            XCTAssertTrue("\(error)".contains("./lib/planted"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside + "/planted"), "wrote through the symlink")
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging))
        // Without extraction the manifest itself refuses a file beneath a symlink.
        XCTAssertThrowsError(try DebReader().read(path: c.deb, extractTo: nil))
    }

    /// Other producers write pax tar (with non-ASCII names in pax headers) and may archive a hardlink
    /// group's later-sorting path first; the reader accepts both and hands the manifest a group whose
    /// smallest path is the file.
    func testPaxDataAndHardlinkOrder() throws {
        let c = try Crafted()
        try FileManager.default.createDirectory(atPath: c.tree + "/usr/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho zed\n".write(toFile: c.tree + "/usr/bin/zed", atomically: false, encoding: .utf8)
        link(c.tree + "/usr/bin/zed", c.tree + "/usr/bin/alpha")
        try "ü\n".write(toFile: c.tree + "/usr/bin/ünï", atomically: false, encoding: .utf8)
        try c.data(["--format=pax", "--no-recursion", "./", "./usr/", "./usr/bin/", "./usr/bin/zed", "./usr/bin/alpha", "./usr/bin/ünï"])
        let listing = try Tool.check(["tar", "-tvzf", c.dir.path + "/data.tar.gz"]).stdout
        XCTAssertTrue(listing.contains("./usr/bin/alpha link to ./usr/bin/zed"), listing)
        try c.assemble()

        let staging = c.dir.path + "/staging"
        let read = try DebReader().read(path: c.deb, extractTo: staging)
        let m = read.manifest
        XCTAssertEqual(m["/usr/bin/alpha"]?.kind, .file)
        XCTAssertEqual(m["/usr/bin/zed"]?.kind, .hardlink)
        XCTAssertEqual(m["/usr/bin/zed"]?.linkTarget, "/usr/bin/alpha")
        XCTAssertEqual(try String(contentsOfFile: try XCTUnwrap(m["/usr/bin/alpha"]?.sourcePath), encoding: .utf8), "#!/bin/sh\necho zed\n")
        XCTAssertEqual(m["/usr/bin/ünï"]?.size, 3)

        let out = c.dir.path + "/rewritten.deb"
        _ = try DebWriter().write(spec: read.spec, manifest: m, to: out)
        XCTAssertTrue(try Tool.check(["dpkg-deb", "-c", out]).stdout.contains("./usr/bin/zed link to ./usr/bin/alpha"))
    }

    func testMissingDataMember() throws {
        let c = try Crafted()
        try c.assemble(["debian-binary", "control.tar.gz"])
        assertRefused(c, code: .deb, mentioning: ["no data.tar member"])
    }

    func testMissingControlMember() throws {
        let c = try Crafted()
        try "x\n".write(toFile: c.tree + "/x", atomically: false, encoding: .utf8)
        try c.data(["./x"])
        try c.assemble(["debian-binary", "data.tar.gz"])
        assertRefused(c, code: .deb, mentioning: ["data.tar.gz", "before the control member"])
    }

    func testDebianBinaryMustComeFirstAndBe2x() throws {
        let c = try Crafted()
        try "x\n".write(toFile: c.tree + "/x", atomically: false, encoding: .utf8)
        try c.data(["./x"])
        try c.assemble(["control.tar.gz", "debian-binary", "data.tar.gz"])
        assertRefused(c, code: .deb, mentioning: ["not 'debian-binary'"])

        let d = try Crafted()
        try "x\n".write(toFile: d.tree + "/x", atomically: false, encoding: .utf8)
        try d.data(["./x"])
        try "3.0\n".write(toFile: d.dir.path + "/debian-binary", atomically: false, encoding: .utf8)
        try d.assemble()
        assertRefused(d, code: .deb, mentioning: ["3.0", "2.x"])
    }

    func testNotAnArchive() throws {
        let c = try Crafted()
        try "this is not an ar archive at all\n".write(toFile: c.deb, atomically: false, encoding: .utf8)
        assertRefused(c, code: .deb, mentioning: ["not a readable .deb"])
    }

    func testTruncatedDeb() throws {
        let fx = try Fixture()
        try fx.populateStandard()
        let deb = fx.path("t.deb")
        _ = try DebWriter().write(spec: fx.spec(), manifest: try fx.manifest(), to: deb)
        let all = try bytes(of: deb)
        let truncated = fx.path("truncated.deb")
        _ = FileManager.default.createFile(atPath: truncated, contents: Data(all.prefix(all.count - 200)))
        let staging = fx.path("staging-t")
        XCTAssertThrowsError(try DebReader().read(path: truncated, extractTo: staging)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .deb, "\(error)")
            XCTAssertEqual((error as? PkgLayerError)?.location, truncated)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging))
    }

    func testMd5sumsMismatchIsCorruption() throws {
        let c = try Crafted()
        try "content\n".write(toFile: c.tree + "/x", atomically: false, encoding: .utf8)
        try c.data(["./x"])
        try "00000000000000000000000000000000  x\n".write(toFile: c.dir.path + "/ctrl/md5sums", atomically: false, encoding: .utf8)
        try Tool.check(["tar", "-czf", c.dir.path + "/control.tar.gz", "-C", c.dir.path + "/ctrl", "./control", "./md5sums"])
        try c.assemble()
        assertRefused(c, code: .deb, mentioning: ["/x", "md5sums"])
    }

    func testStagingMustBeEmpty() throws {
        let fx = try Fixture()
        try fx.file("/usr/bin/x", "x")
        let deb = fx.path("s.deb")
        _ = try DebWriter().write(spec: fx.spec(), manifest: try fx.manifest(), to: deb)
        let staging = fx.path("busy")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try "mine\n".write(toFile: staging + "/keep", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try DebReader().read(path: deb, extractTo: staging))
        XCTAssertEqual(try String(contentsOfFile: staging + "/keep", encoding: .utf8), "mine\n")
    }
}
