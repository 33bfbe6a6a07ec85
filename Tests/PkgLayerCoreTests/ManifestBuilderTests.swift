import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// ManifestBuilder against real trees on disk: what lands in the manifest must be what the tree holds.
final class ManifestBuilderTests: XCTestCase {
    static let epoch: Int64 = 1_000_000
    static let future: Int64 = 2_000_000
    static let past: Int64 = 500_000

    private var scratch: ScratchDirectory!
    private var stage: String { scratch.path("stage") }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-manifest")
    }

    override func tearDown() { scratch = nil }

    /// A staged tree with every kind of entry the builder handles.
    private func makeStagedTree() throws {
        try scratch.write("stage/opt/app/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try scratch.write("stage/opt/app/data.txt", "data\n", mode: 0o644)
        try scratch.write("stage/opt/app/ünï côdé.txt", "unicode name\n", mode: 0o640)
        try scratch.write("stage/opt/app/with space/file name.txt", "spaces\n", mode: 0o600)
        try scratch.write("stage/opt/app/a/x", "under a\n")
        try scratch.write("stage/opt/app/a-b", "a dash b\n")
        try scratch.makeDirectory("stage/opt/app/spool", mode: 0o1777)
        try scratch.symlink("stage/opt/app/link", to: "bin/tool")
        try scratch.symlink("stage/opt/app/dangling", to: "/nonexistent/target")
        try scratch.symlink("stage/opt/app/dirlink", to: "../../usr/bin")
        // Three names for one inode; "c" is created first, but "a" sorts first.
        let c = try scratch.write("stage/opt/app/h/c", "hardlinked content\n", mode: 0o755)
        XCTAssertEqual(link(c, scratch.path("stage/opt/app/h/a")), 0)
        XCTAssertEqual(link(c, scratch.path("stage/opt/app/h/b")), 0)
        try scratch.write("stage/usr/bin/x", "x\n", mode: 0o755)
        try scratch.write("stage/usr/bin/su", "su\n", mode: 0o4755)
        try scratch.write("stage/usr/bin/sg", "sg\n", mode: 0o2755)
        try scratch.write("stage/etc/app.conf", "key=value\n")
        try scratch.write("stage/etc/app.d/sub.conf", "sub=1\n")
        try scratch.symlink("stage/etc/app-link.conf", to: "app.conf")
        try scratch.write("stage/usr/share/doc/app/README", "read me\n")
        try scratch.write("stage/usr/share/man/man1/app.1", ".TH APP 1\n")
        try scratch.write("stage/usr/share/licenses/app/LICENSE", "MIT\n")
        // Every file is newer than the epoch except data.txt, which is older.
        for path in listTree(stage) { setModificationTime(scratch.path("stage/\(path)"), Self.future) }
        setModificationTime(scratch.path("stage/opt/app/data.txt"), Self.past)
    }

    private func build(_ configure: (inout ManifestBuilder) throws -> Void = { _ in }) throws -> FileManifest {
        var builder = ManifestBuilder(inputs: [.init(source: stage, destination: "/")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        try configure(&builder)
        return try builder.build().manifest
    }

    private func entry(_ manifest: FileManifest, _ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> ManifestEntry {
        try XCTUnwrap(manifest[path], "no entry for \(path); have \(manifest.entries.map(\.path))", file: file, line: line)
    }

    // MARK: - Kinds

    func testRegularFilesDirectoriesAndSymlinks() throws {
        try makeStagedTree()
        let manifest = try build()

        let tool = try entry(manifest, "/opt/app/bin/tool")
        XCTAssertEqual(tool.kind, .file)
        XCTAssertEqual(tool.mode, 0o755)
        XCTAssertEqual(tool.size, UInt64("#!/bin/sh\necho tool\n".utf8.count))
        XCTAssertEqual(tool.sourcePath, scratch.path("stage/opt/app/bin/tool"))
        XCTAssertNil(tool.linkTarget)

        let bin = try entry(manifest, "/opt/app/bin")
        XCTAssertEqual(bin.kind, .directory)
        XCTAssertNil(bin.sha256)

        let link = try entry(manifest, "/opt/app/link")
        XCTAssertEqual(link.kind, .symlink)
        XCTAssertEqual(link.linkTarget, "bin/tool")
        XCTAssertEqual(link.mode, 0o777)
        XCTAssertNil(link.sha256)
        XCTAssertNil(link.sourcePath)

        // Symlinks are never followed: a dangling one is kept, a link to a directory is not descended.
        XCTAssertEqual(try entry(manifest, "/opt/app/dangling").linkTarget, "/nonexistent/target")
        XCTAssertEqual(try entry(manifest, "/opt/app/dirlink").kind, .symlink)
        XCTAssertFalse(manifest.entries.contains { $0.path.hasPrefix("/opt/app/dirlink/") })
        XCTAssertEqual(link.fullMode, 0o120777)
        XCTAssertEqual(tool.fullMode, 0o100755)
        XCTAssertEqual(bin.fullMode & 0o170000, 0o040000)
    }

    func testHardlinksBecomeOneFileAndLinksToTheFirstPathInSortOrder() throws {
        try makeStagedTree()
        let manifest = try build()
        let a = try entry(manifest, "/opt/app/h/a")
        let b = try entry(manifest, "/opt/app/h/b")
        let c = try entry(manifest, "/opt/app/h/c")
        XCTAssertEqual(a.kind, .file)
        XCTAssertNil(a.linkTarget)
        for member in [b, c] {
            XCTAssertEqual(member.kind, .hardlink, member.path)
            XCTAssertEqual(member.linkTarget, "/opt/app/h/a", member.path)
            XCTAssertEqual(member.sha256, a.sha256, member.path)
            XCTAssertEqual(member.size, a.size, member.path)
            XCTAssertEqual(member.mode, 0o755, member.path)
            XCTAssertEqual(member.fullMode, 0o100755, member.path)
        }
        XCTAssertEqual(a.size, UInt64("hardlinked content\n".utf8.count))
        XCTAssertEqual(a.sha256, try sha256sum(scratch.path("stage/opt/app/h/c")))
        XCTAssertEqual(manifest.hardlinkGroups, ["/opt/app/h/a": ["/opt/app/h/b", "/opt/app/h/c"]])
        // Content is counted once.
        let plainFiles = manifest.entries.filter { $0.kind == .file }.map(\.size).reduce(0, +)
        let symlinkText = manifest.entries.filter { $0.kind == .symlink }.map { UInt64($0.linkTarget!.utf8.count) }.reduce(0, +)
        XCTAssertEqual(manifest.installedSize, plainFiles + symlinkText)
    }

    func testSpecialModeBitsAreKept() throws {
        try makeStagedTree()
        let manifest = try build()
        XCTAssertEqual(try entry(manifest, "/usr/bin/su").mode, 0o4755)
        XCTAssertEqual(try entry(manifest, "/usr/bin/sg").mode, 0o2755)
        XCTAssertEqual(try entry(manifest, "/opt/app/spool").mode, 0o1777)
        XCTAssertEqual(try entry(manifest, "/opt/app/spool").fullMode, 0o041777)
        XCTAssertEqual(try entry(manifest, "/opt/app/with space/file name.txt").mode, 0o600)
        XCTAssertEqual(try entry(manifest, "/opt/app/ünï côdé.txt").mode, 0o640)
    }

    func testNamesWithSpacesAndNonASCIIAreKeptExactly() throws {
        try makeStagedTree()
        let manifest = try build()
        let unicode = try entry(manifest, "/opt/app/ünï côdé.txt")
        XCTAssertEqual(Array(unicode.path.utf8), Array("/opt/app/ünï côdé.txt".utf8))
        XCTAssertEqual(unicode.sha256, try sha256sum(scratch.path("stage/opt/app/ünï côdé.txt")))
        XCTAssertEqual(unicode.relativePath, "opt/app/ünï côdé.txt")
        XCTAssertEqual(try entry(manifest, "/opt/app/with space").kind, .directory)
        XCTAssertEqual(try entry(manifest, "/opt/app/with space/file name.txt").kind, .file)
    }

    func testSha256AndSizeMatchTheRealSha256sum() throws {
        try makeStagedTree()
        // One file bigger than the builder's 1 MiB read block, with content that is not all one byte.
        let big = (0..<((1 << 20) * 3 + 12345)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        try scratch.write("stage/opt/app/big.bin", Data(big))
        try scratch.write("stage/opt/app/empty", "")
        let manifest = try build()
        let files = manifest.entries.filter { $0.kind == .file }
        XCTAssertGreaterThan(files.count, 10)
        for file in files {
            let source = try XCTUnwrap(file.sourcePath)
            XCTAssertEqual(file.sha256, try sha256sum(source), file.path)
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: source)[.size] as? NSNumber)
            XCTAssertEqual(file.size, size.uint64Value, file.path)
        }
        XCTAssertEqual(try entry(manifest, "/opt/app/empty").sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try entry(manifest, "/opt/app/big.bin").size, UInt64(big.count))
    }

    // MARK: - Parents, ownership, flags

    func testImplicitParentsAreAddedRootOwnedAtTheEpoch() throws {
        let file = try scratch.write("one.txt", "one\n")
        setModificationTime(file, Self.past)
        var builder = ManifestBuilder(inputs: [.init(source: file, destination: "/opt/other/deep/one.txt")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        let manifest = try builder.build().manifest
        XCTAssertEqual(manifest.entries.map(\.path), ["/opt", "/opt/other", "/opt/other/deep", "/opt/other/deep/one.txt"])
        for path in ["/opt", "/opt/other", "/opt/other/deep"] {
            let dir = try entry(manifest, path)
            XCTAssertEqual(dir.kind, .directory, path)
            XCTAssertTrue(dir.isImplicitDirectory, path)
            XCTAssertEqual(dir.mode, 0o755, path)
            XCTAssertEqual(dir.uid, 0, path)
            XCTAssertEqual(dir.gid, 0, path)
            XCTAssertEqual(dir.user, "root", path)
            XCTAssertEqual(dir.group, "root", path)
            XCTAssertEqual(dir.mtime, Self.epoch, path)
        }
        XCTAssertEqual(try entry(manifest, "/opt/other/deep/one.txt").mtime, Self.past)
    }

    func testStandardDirectoriesAreImplicitAndOwnDirectoriesAreNot() throws {
        try makeStagedTree()
        let manifest = try build()
        for path in ["/usr", "/usr/bin", "/etc", "/opt", "/usr/share", "/usr/share/doc", "/usr/share/man/man1"] {
            XCTAssertTrue(try entry(manifest, path).isImplicitDirectory, "\(path) is a standard directory")
        }
        for path in ["/opt/app", "/opt/app/bin", "/opt/app/spool", "/etc/app.d", "/usr/share/doc/app"] {
            XCTAssertFalse(try entry(manifest, path).isImplicitDirectory, "\(path) belongs to the package")
        }
        // Directories from disk keep their own modes, even when implicit.
        XCTAssertEqual(try entry(manifest, "/opt/app/spool").mode, 0o1777)
    }

    func testDirectoriesGlobClaimsAStandardDirectory() throws {
        try makeStagedTree()
        let manifest = try build { $0.directories = [Glob("/usr/bin")] }
        XCTAssertFalse(try entry(manifest, "/usr/bin").isImplicitDirectory)
        XCTAssertTrue(try entry(manifest, "/usr").isImplicitDirectory)
        XCTAssertTrue(try entry(manifest, "/etc").isImplicitDirectory)
    }

    func testDirectoriesGlobClaimsAParentThatIsOnlyImplied() throws {
        // `--directories /opt/app` must own /opt/app even when only files below it were staged.
        let file = try scratch.write("tool", "tool\n", mode: 0o755)
        var builder = ManifestBuilder(inputs: [.init(source: file, destination: "/opt/app/bin/tool")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        builder.directories = [Glob("/opt/app")]
        builder.attributes = [try AttributeRule(parsingRPMAttr: "0750,daemon,daemon:/opt/app")]
        let manifest = try builder.build().manifest
        let app = try entry(manifest, "/opt/app")
        XCTAssertFalse(app.isImplicitDirectory, "claimed by --directories")
        XCTAssertEqual(app.mode, 0o750)
        XCTAssertEqual(app.user, "daemon")
        XCTAssertFalse(try entry(manifest, "/opt/app/bin").isImplicitDirectory, "--directories claims recursively")
        XCTAssertTrue(try entry(manifest, "/opt").isImplicitDirectory)
        XCTAssertEqual(try entry(manifest, "/opt").user, "root")
    }

    func testOwnersAreRootByDefaultAndRulesOverrideThem() throws {
        try makeStagedTree()
        let plain = try build()
        for e in plain.entries {
            XCTAssertEqual([e.uid, e.gid], [0, 0], e.path)
            XCTAssertEqual([e.user, e.group], ["root", "root"], e.path)
        }

        let ruled = try build {
            $0.attributes = [
                try AttributeRule(parsingRPMAttr: "4755,daemon,daemon:/usr/bin/x"),
                try AttributeRule(parsingRPMAttr: "0700,-,adm:/opt/app/bin"),
                try AttributeRule(parsingRPMAttr: "-,nobody,-:/opt/app/link"),
                // A later rule wins over an earlier one.
                try AttributeRule(parsingRPMAttr: "0600,-,-:/etc/app.conf"),
                try AttributeRule(parsingRPMAttr: "0640,-,-:/etc/app.conf"),
            ]
        }
        let x = try entry(ruled, "/usr/bin/x")
        XCTAssertEqual(x.mode, 0o4755)
        XCTAssertEqual(x.user, "daemon")
        XCTAssertEqual(x.group, "daemon")
        // Anchored rules also reach below a matched directory; "-" keeps a field.
        for path in ["/opt/app/bin", "/opt/app/bin/tool"] {
            let e = try entry(ruled, path)
            XCTAssertEqual(e.mode, 0o700, path)
            XCTAssertEqual(e.user, "root", path)
            XCTAssertEqual(e.group, "adm", path)
        }
        let link = try entry(ruled, "/opt/app/link")
        XCTAssertEqual(link.user, "nobody")
        XCTAssertEqual(link.mode, 0o777, "modes never apply to symlinks")
        XCTAssertEqual(try entry(ruled, "/etc/app.conf").mode, 0o640)
        // Untouched entries keep their defaults.
        let su = try entry(ruled, "/usr/bin/su")
        XCTAssertEqual([su.user, su.group], ["root", "root"])

        let numeric = try build {
            $0.defaultUser = Owner(name: "app", id: 1000)
            $0.defaultGroup = try Owner(parsing: "1001", field: "--group")
        }
        let data = try entry(numeric, "/opt/app/data.txt")
        XCTAssertEqual([data.uid, data.gid], [1000, 1001])
        XCTAssertEqual(data.user, "app")
        XCTAssertEqual(data.group, "1001")
    }

    func testAttributeRuleParsing() throws {
        let rule = try AttributeRule(parsingRPMAttr: "4755,daemon,daemon:/usr/bin/x")
        XCTAssertEqual(rule.mode, 0o4755)
        XCTAssertEqual(rule.user?.name, "daemon")
        XCTAssertEqual(rule.group?.name, "daemon")
        XCTAssertTrue(rule.glob.matches("/usr/bin/x"))
        let keep = try AttributeRule(parsingRPMAttr: "-,-,-:/opt")
        XCTAssertNil(keep.mode)
        XCTAssertNil(keep.user)
        XCTAssertNil(keep.group)
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try AttributeRule(parsingRPMAttr: "4755,root,root"), code: .usage)?.location, "--rpm-attr")
        XCTAssertThrowsPkgLayerError(try AttributeRule(parsingRPMAttr: "0999,root,root:/x"), code: .usage)
        XCTAssertThrowsPkgLayerError(try AttributeRule(parsingRPMAttr: "17777,root,root:/x"), code: .usage)
        XCTAssertThrowsPkgLayerError(try AttributeRule(parsingRPMAttr: "0755,root:/x"), code: .usage)
        XCTAssertThrowsPkgLayerError(try AttributeRule(parsingRPMAttr: "0755,bad user,root:/x"), code: .invalidInput)
    }

    func testFilesUnderEtcAreConfigNoReplace() throws {
        try makeStagedTree()
        let manifest = try build()
        for path in ["/etc/app.conf", "/etc/app.d/sub.conf"] {
            XCTAssertEqual(try entry(manifest, path).flags, [.config, .noReplace], path)
        }
        XCTAssertEqual(try entry(manifest, "/etc/app-link.conf").flags, [], "symlinks are not config files")
        XCTAssertEqual(try entry(manifest, "/etc/app.d").flags, [], "directories are not config files")
        XCTAssertEqual(try entry(manifest, "/opt/app/data.txt").flags, [])

        let off = try build { $0.autoConfigUnderEtc = false }
        XCTAssertEqual(try entry(off, "/etc/app.conf").flags, [])
        XCTAssertEqual(try entry(off, "/etc/app.d/sub.conf").flags, [])

        let explicit = try build {
            $0.autoConfigUnderEtc = false
            $0.configFiles = [Glob("/opt/app/data.txt"), Glob("sub.conf")]
        }
        XCTAssertEqual(try entry(explicit, "/opt/app/data.txt").flags, [.config, .noReplace])
        XCTAssertEqual(try entry(explicit, "/etc/app.d/sub.conf").flags, [.config, .noReplace])
        XCTAssertEqual(try entry(explicit, "/etc/app.conf").flags, [])
    }

    func testDocAndLicenseFlags() throws {
        try makeStagedTree()
        let manifest = try build()
        XCTAssertEqual(try entry(manifest, "/usr/share/doc/app/README").flags, [.doc])
        XCTAssertEqual(try entry(manifest, "/usr/share/man/man1/app.1").flags, [.doc])
        XCTAssertEqual(try entry(manifest, "/usr/share/licenses/app/LICENSE").flags, [.license])
        XCTAssertEqual(try entry(manifest, "/usr/share/doc/app").flags, [])
        XCTAssertEqual(try entry(manifest, "/usr/bin/x").flags, [])
    }

    // MARK: - Clock and order

    func testMtimesAreClampedToTheSourceDateEpoch() throws {
        try makeStagedTree()
        let result = try {
            var builder = ManifestBuilder(inputs: [.init(source: stage, destination: "/")])
            builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
            return try builder.build()
        }()
        XCTAssertEqual(result.sourceDateEpoch, SourceDateEpoch(Self.epoch))
        XCTAssertEqual(try entry(result.manifest, "/opt/app/data.txt").mtime, Self.past, "older files keep their mtime")
        for e in result.manifest.entries where e.path != "/opt/app/data.txt" {
            XCTAssertEqual(e.mtime, Self.epoch, e.path)
        }
    }

    func testWithoutAnEpochTheClockIsTheNewestInputMtime() throws {
        try scratch.write("stage/a", "a\n")
        try scratch.write("stage/d/b", "b\n")
        setModificationTime(scratch.path("stage/a"), 1_234_567)
        setModificationTime(scratch.path("stage/d/b"), 1_000)
        setModificationTime(scratch.path("stage/d"), 2_000)
        setModificationTime(stage, 3_000)
        let result = try ManifestBuilder(inputs: [.init(source: stage, destination: "/srv/x")]).build()
        XCTAssertEqual(result.sourceDateEpoch.seconds, 1_234_567)
        XCTAssertEqual(try entry(result.manifest, "/srv/x/a").mtime, 1_234_567)
        XCTAssertEqual(try entry(result.manifest, "/srv/x/d/b").mtime, 1_000)
        XCTAssertEqual(try entry(result.manifest, "/srv").mtime, 1_234_567, "implicit parents get the clock")
    }

    func testManifestIsSortedBytewise() throws {
        try makeStagedTree()
        let manifest = try build()
        let paths = manifest.entries.map(\.path)
        XCTAssertEqual(paths, paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(Set(paths).count, paths.count)
        // '-' (0x2d) sorts before '/' (0x2f): a-b comes between the directory a and its children.
        let around = paths.filter { $0.hasPrefix("/opt/app/a") }
        XCTAssertEqual(around, ["/opt/app/a", "/opt/app/a-b", "/opt/app/a/x"])
        // Non-ASCII (UTF-8 bytes >= 0x80) sorts after every ASCII name.
        XCTAssertEqual(paths.filter { $0.hasPrefix("/opt/app/") && !$0.dropFirst(9).contains("/") }.last, "/opt/app/ünï côdé.txt")
    }

    func testBuildingTwiceGivesTheSameManifest() throws {
        try makeStagedTree()
        XCTAssertEqual(try build(), try build())
    }

    // MARK: - Inputs

    func testInputFromArgument() {
        typealias Input = ManifestBuilder.Input
        XCTAssertEqual(Input.fromArgument("usr/bin/x", chdir: "/stage", prefix: nil),
                       Input(source: "/stage/usr/bin/x", destination: "/usr/bin/x"))
        XCTAssertEqual(Input.fromArgument("usr/bin/x", chdir: "/stage", prefix: "/opt/p"),
                       Input(source: "/stage/usr/bin/x", destination: "/opt/p/usr/bin/x"))
        XCTAssertEqual(Input.fromArgument("/abs/file", chdir: "/stage", prefix: nil).source, "/abs/file")
        XCTAssertEqual(Input.fromArgument("build/out=/usr/bin/tool", chdir: "/stage", prefix: nil),
                       Input(source: "/stage/build/out", destination: "/usr/bin/tool"))
        XCTAssertEqual(Input.fromArgument("build/out=/usr/bin/", chdir: "/stage", prefix: nil),
                       Input(source: "/stage/build/out", destination: "/usr/bin/out"))
        XCTAssertEqual(Input.fromArgument("build/lib/=/usr/lib/", chdir: "/stage", prefix: nil),
                       Input(source: "/stage/build/lib/", destination: "/usr/lib/lib"))
        XCTAssertEqual(Input.fromArgument("/abs/src=etc/app.conf", chdir: "/stage", prefix: "/opt/p"),
                       Input(source: "/abs/src", destination: "/opt/p/etc/app.conf"))
        XCTAssertEqual(Input.fromArgument("/abs/src=/etc/app.conf", chdir: "/stage", prefix: "/opt/p"),
                       Input(source: "/abs/src", destination: "/etc/app.conf"), "an absolute destination ignores the prefix")
        XCTAssertEqual(Input.fromArgument("./=/srv/www/", chdir: "/stage", prefix: nil).destination, "/srv/www/")
        XCTAssertEqual(Input.fromArgument("=odd", chdir: "/stage", prefix: nil).source, "/stage/=odd",
                       "a leading '=' is part of the name, not a mapping")
    }

    func testArgumentsWithChdirBuildTheExpectedPaths() throws {
        try makeStagedTree()
        let inputs = ["opt/app/bin=/usr/libexec/app/", "etc/app.conf", "opt/app/data.txt=share/app/data"].map {
            ManifestBuilder.Input.fromArgument($0, chdir: stage, prefix: "/usr/local")
        }
        var builder = ManifestBuilder(inputs: inputs)
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        let manifest = try builder.build().manifest
        XCTAssertEqual(manifest.entries.map(\.path), [
            "/usr", "/usr/libexec", "/usr/libexec/app", "/usr/libexec/app/bin", "/usr/libexec/app/bin/tool",
            "/usr/local", "/usr/local/etc", "/usr/local/etc/app.conf", "/usr/local/share", "/usr/local/share/app",
            "/usr/local/share/app/data",
        ])
        XCTAssertEqual(manifest.entries.filter { !$0.isImplicitDirectory }.map(\.path), [
            "/usr/libexec/app/bin", "/usr/libexec/app/bin/tool", "/usr/local/etc/app.conf", "/usr/local/share/app/data",
        ])
        XCTAssertEqual(try entry(manifest, "/usr/local/share/app/data").sha256, try sha256sum(scratch.path("stage/opt/app/data.txt")))
        XCTAssertFalse(try entry(manifest, "/usr/local/etc/app.conf").flags.contains(.config), "not under /etc")
    }

    func testExcludesDropAWholeSubtree() throws {
        try makeStagedTree()
        let manifest = try build { $0.excludes = [Glob("/opt/app/with space"), Glob("*.1"), Glob("/opt/app/h/b")] }
        XCTAssertFalse(manifest.entries.contains { $0.path.hasPrefix("/opt/app/with space") })
        XCTAssertNil(manifest["/usr/share/man/man1/app.1"])
        XCTAssertNotNil(manifest["/usr/share/man/man1"])
        // Excluding one hardlink leaves the rest of the group linked to the first remaining path.
        XCTAssertNil(manifest["/opt/app/h/b"])
        XCTAssertEqual(manifest.hardlinkGroups, ["/opt/app/h/a": ["/opt/app/h/c"]])
        XCTAssertNotNil(manifest["/opt/app/data.txt"])

        let noApp = try build { $0.excludes = [Glob("/opt/app")] }
        XCTAssertNil(noApp["/opt/app"])
        XCTAssertFalse(noApp.entries.contains { $0.path.hasPrefix("/opt/app") })
        XCTAssertNotNil(noApp["/opt"])
    }

    func testDirectoriesFromTwoInputsMerge() throws {
        try scratch.write("one/share/a", "a\n")
        try scratch.write("two/share/b", "b\n")
        var builder = ManifestBuilder(inputs: [.init(source: scratch.path("one"), destination: "/srv/m"),
                                               .init(source: scratch.path("two"), destination: "/srv/m")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        let manifest = try builder.build().manifest
        XCTAssertEqual(manifest.entries.map(\.path), ["/srv", "/srv/m", "/srv/m/share", "/srv/m/share/a", "/srv/m/share/b"])
    }

    // MARK: - Refusals

    func testAFifoIsRefusedNamingItsPath() throws {
        try makeStagedTree()
        let fifo = scratch.path("stage/opt/app/pipe")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let error = XCTAssertThrowsPkgLayerError(try build(), code: .unsupportedFileType)
        XCTAssertEqual(error?.location, fifo)
        XCTAssertTrue(error?.description.contains(fifo) ?? false)
        XCTAssertTrue(error?.message.contains("fifo") ?? false, error?.message ?? "")
        // Excluding it is the documented way out.
        XCTAssertNoThrow(try build { $0.excludes = [Glob("/opt/app/pipe")] })
    }

    func testTwoInputsOnOnePathAreADuplicateNamingBoth() throws {
        let a = try scratch.write("a.txt", "a\n")
        let b = try scratch.write("b.txt", "b\n")
        let builder = ManifestBuilder(inputs: [.init(source: a, destination: "/opt/x"), .init(source: b, destination: "/opt/x")])
        let error = XCTAssertThrowsPkgLayerError(try builder.build(), code: .duplicatePath)
        XCTAssertEqual(error?.location, "/opt/x")
        XCTAssertTrue(error?.message.contains(a) ?? false, error?.description ?? "")
        XCTAssertTrue(error?.message.contains(b) ?? false, error?.description ?? "")

        // A file mapped onto a path a directory input already fills is a duplicate too.
        try scratch.write("tree/f", "f\n")
        let overlap = ManifestBuilder(inputs: [.init(source: scratch.path("tree"), destination: "/opt/t"),
                                               .init(source: a, destination: "/opt/t/f")])
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try overlap.build(), code: .duplicatePath)?.location, "/opt/t/f")
        // And a file where a directory input wants to be.
        let fileThenDir = ManifestBuilder(inputs: [.init(source: a, destination: "/opt/t"),
                                                   .init(source: scratch.path("tree"), destination: "/opt/t")])
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try fileThenDir.build(), code: .duplicatePath)?.location, "/opt/t")
    }

    func testADestinationWithDotDotEscapesTheRoot() throws {
        let a = try scratch.write("a.txt", "a\n")
        let builder = ManifestBuilder(inputs: [.init(source: a, destination: "/opt/../../etc/passwd")])
        let error = XCTAssertThrowsPkgLayerError(try builder.build(), code: .pathEscapesRoot)
        XCTAssertEqual(error?.location, a)
        let argument = ManifestBuilder.Input.fromArgument("a.txt=../evil", chdir: scratch.path, prefix: "/opt")
        XCTAssertThrowsPkgLayerError(try ManifestBuilder(inputs: [argument]).build(), code: .pathEscapesRoot)
    }

    func testAMissingSourceIsReported() throws {
        let missing = scratch.path("does-not-exist")
        let error = XCTAssertThrowsPkgLayerError(try ManifestBuilder(inputs: [.init(source: missing, destination: "/x")]).build(),
                                                 code: .invalidInput)
        XCTAssertEqual(error?.location, missing)
    }

    // MARK: - Capabilities

    func testFileCapabilitiesAreRead() throws {
        try makeStagedTree()
        let ping = try scratch.write("stage/usr/bin/ping", "ping\n", mode: 0o755)
        try requireTool("setcap")
        let setcap = try TestProcess.run("setcap", ["cap_net_bind_service=ep", ping])
        try requireCondition(setcap.succeeded, "setcap does not work here (needs root and a filesystem with security xattrs): \(setcap.stderrText)")
        let manifest = try build()
        XCTAssertEqual(try entry(manifest, "/usr/bin/ping").capabilities, "cap_net_bind_service=ep")
        XCTAssertNil(try entry(manifest, "/usr/bin/x").capabilities)
        XCTAssertTrue(manifest.entries.filter { $0.path != "/usr/bin/ping" }.allSatisfy { $0.capabilities == nil })
    }

    // MARK: - Large files

    func testAFileLargerThan4GiB() throws {
        let size: UInt64 = 4_831_838_208  // 4.5 GiB: sizes must not wrap at 32 bits
        let big = try scratch.write("big/huge.img", "")
        try TestProcess.runChecked("truncate", ["-s", String(size), big])
        // A marker past the 4 GiB boundary, so the digest depends on reading all of it.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: big))
        handle.seek(toFileOffset: (1 << 32) + 7)
        handle.write(Data("past four gigabytes".utf8))
        handle.closeFile()
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: big)[.size] as? NSNumber, NSNumber(value: size))

        var builder = ManifestBuilder(inputs: [.init(source: scratch.path("big"), destination: "/srv/big")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        let manifest = try builder.build().manifest
        let e = try entry(manifest, "/srv/big/huge.img")
        XCTAssertEqual(e.size, size)
        XCTAssertEqual(e.sha256, try sha256sum(big))
        XCTAssertEqual(manifest.installedSize, size)
    }
}

/// The digest the real `sha256sum` prints for a file.
func sha256sum(_ path: String) throws -> String {
    let output = try TestProcess.runChecked("sha256sum", ["-b", path])
    return String(output.stdoutText.prefix(64))
}
