import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// The dpkg database written without dpkg, checked against what the real dpkg writes for the same
/// packages and read back by the real dpkg-query and dpkg.
final class DpkgDatabaseTests: XCTestCase {
    private var keep: [AnyObject] = []

    private func nativeArchitecture() throws -> Architecture {
        Architecture(parsing: try Tool.check(["dpkg", "--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// Three packages: two from DebWriter (one with a conffile, scripts, hardlinks, odd names; one that
    /// depends on it) and one from dpkg-deb itself, Multi-Arch: same, without md5sums.
    private func makeDebs(in dir: String) throws -> [String] {
        let arch = try nativeArchitecture()
        let a = try Fixture()
        try a.populateStandard(marker: "one")
        var specA = a.spec()
        specA.architecture = arch
        specA.scripts = [.afterInstall: "echo configured\n", .beforeRemove: "echo removing\n"]
        let debA = "\(dir)/\(DebWriter().fileName(for: specA))"
        try DebWriter().write(spec: specA, manifest: try a.manifest(), to: debA)

        let b = try Fixture()
        try b.file("/usr/bin/tool-pkglayer", "#!/bin/sh\necho tool\n", mode: 0o755)
        try b.file("/usr/share/doc/tool-pkglayer/README", "read me\n")
        var specB = b.spec(name: "tool-pkglayer", version: "2.5", release: nil)
        specB.architecture = .noarch
        specB.epoch = 3
        specB.depends = [try Dependency(parsing: "hello-pkglayer (>= 1.0)", field: "depends")]
        let debB = "\(dir)/\(DebWriter().fileName(for: specB))"
        try DebWriter().write(spec: specB, manifest: try b.manifest(), to: debB)
        keep += [a, b]

        // A third-party style package: dpkg-deb's member order (symlinks last), no md5sums member,
        // Multi-Arch: same, fields pkglayer never writes.
        let tree = "\(dir)/libfoo-tree"
        for sub in ["DEBIAN", "etc/libfoo", "usr/lib/libfoo", "usr/share/doc/libfoo1"] {
            try FileManager.default.createDirectory(atPath: "\(tree)/\(sub)", withIntermediateDirectories: true)
        }
        try """
        Package: libfoo1
        Source: libfoo
        Version: 1.2-3
        Architecture: \(arch.deb)
        Maintainer: Foo Maintainers <foo@example.org>
        Installed-Size: 10
        Depends: hello-pkglayer
        Section: libs
        Priority: optional
        Multi-Arch: same
        Homepage: https://foo.example.org/
        Description: a library for tests
         It is a library.
         .
         Really.

        """.write(toFile: "\(tree)/DEBIAN/control", atomically: false, encoding: .utf8)
        try "/etc/libfoo/foo.conf\n".write(toFile: "\(tree)/DEBIAN/conffiles", atomically: false, encoding: .utf8)
        try "activate-noawait ldconfig\n".write(toFile: "\(tree)/DEBIAN/triggers", atomically: false, encoding: .utf8)
        try "foo = 1\n".write(toFile: "\(tree)/etc/libfoo/foo.conf", atomically: false, encoding: .utf8)
        try "library bytes\n".write(toFile: "\(tree)/usr/lib/libfoo/libfoo.so.1.2", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/usr/lib/libfoo/libfoo.so.1", withDestinationPath: "libfoo.so.1.2")
        try "copyright\n".write(toFile: "\(tree)/usr/share/doc/libfoo1/copyright", atomically: false, encoding: .utf8)
        let debC = "\(dir)/libfoo1.deb"
        try Tool.check(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, debC], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        return [debA, debB, debC]
    }

    private func makeAdminRoot(_ root: String) throws {
        for sub in ["info", "updates"] {
            try FileManager.default.createDirectory(atPath: "\(root)/var/lib/dpkg/\(sub)", withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: "\(root)/var/lib/dpkg/status", contents: Data())
    }

    private func dpkg(_ root: String, _ args: [String]) throws -> Tool.Output {
        try Tool.check(["dpkg", "--root=\(root)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                        "--no-debsig", "--log=/dev/null"] + args)
    }

    private func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// Writes our database for `debs` into `root`, where the debs are (or are not) unpacked.
    private func writeDatabase(_ debs: [String], into root: String, epoch: Int64 = 1_700_000_000) throws -> [DpkgInstalledPackage] {
        let packages = try debs.map { try DpkgInstalledPackage(deb: $0) }
        let db = DpkgDatabase()
        for package in packages {
            try db.writePackageFiles(for: package, under: root, epoch: SourceDateEpoch(epoch))
        }
        try db.writeAdminFiles(for: packages, under: root, epoch: SourceDateEpoch(epoch))
        return packages
    }

    func testDatabaseMatchesWhatDpkgWritesAndDpkgReadsIt() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-dpkgdb")
        let debs = try makeDebs(in: work.path)
        let arch = try nativeArchitecture().deb

        // The reference: the real dpkg installs the same debs.
        let reference = "\(work.path)/reference"
        try makeAdminRoot(reference)
        try dpkg(reference, ["-i"] + debs)

        // Ours: the files unpacked by dpkg-deb (as layers would put them), the database by DpkgDatabase.
        let ours = "\(work.path)/ours"
        try FileManager.default.createDirectory(atPath: ours, withIntermediateDirectories: true)
        for deb in debs { try Tool.check(["dpkg-deb", "-x", deb, ours]) }
        let packages = try writeDatabase(debs, into: ours)
        XCTAssertEqual(packages.map(\.infoName), ["hello-pkglayer", "tool-pkglayer", "libfoo1:\(arch)"])

        // The status file is the one dpkg writes, byte for byte (field order, Conffiles, blank lines).
        let refAdmin = "\(reference)/var/lib/dpkg"
        let ourAdmin = "\(ours)/var/lib/dpkg"
        XCTAssertEqual(try text("\(ourAdmin)/status"), try text("\(refAdmin)/status"))

        // Every info file dpkg wrote, we wrote, with the same bytes and mode: the lists (symlinks last),
        // the md5sums dpkg generated for libfoo1 (which has none), the scripts, the triggers.
        let refInfo = try FileManager.default.contentsOfDirectory(atPath: "\(refAdmin)/info").sorted()
        let ourInfo = try FileManager.default.contentsOfDirectory(atPath: "\(ourAdmin)/info").sorted()
        XCTAssertEqual(ourInfo, refInfo)
        for name in refInfo {
            let mine = try text("\(ourAdmin)/info/\(name)")
            let theirs = try text("\(refAdmin)/info/\(name)")
            XCTAssertEqual(mine, theirs, name)
            XCTAssertEqual(lstatOf("\(ourAdmin)/info/\(name)")!.st_mode & 0o7777, lstatOf("\(refAdmin)/info/\(name)")!.st_mode & 0o7777, name)
        }
        XCTAssertTrue(ourInfo.contains("hello-pkglayer.postinst"))
        XCTAssertTrue(ourInfo.contains("libfoo1:\(arch).triggers"))

        // status.d: one fragment per package, each the package's own paragraph.
        let fragments = try FileManager.default.contentsOfDirectory(atPath: "\(ourAdmin)/status.d").sorted()
        XCTAssertEqual(fragments, ["hello-pkglayer", "libfoo1:\(arch)", "tool-pkglayer"])
        let joined = try ["hello-pkglayer", "libfoo1:\(arch)", "tool-pkglayer"].map { try text("\(ourAdmin)/status.d/\($0)") + "\n" }.joined()
        XCTAssertEqual(joined, try text("\(ourAdmin)/status"))

        // dpkg-query reads it.
        let listed = try Tool.check(["dpkg-query", "--admindir=\(ourAdmin)", "-W", "-f", "${Package} ${Version} ${Status}\n"]).stdout
        XCTAssertEqual(listed, "hello-pkglayer 1.0-1 install ok installed\nlibfoo1 1.2-3 install ok installed\ntool-pkglayer 3:2.5 install ok installed\n")
        let files = try Tool.check(["dpkg-query", "--admindir=\(ourAdmin)", "-L", "hello-pkglayer"]).stdout
        XCTAssertEqual(files, try Tool.check(["dpkg-query", "--admindir=\(refAdmin)", "-L", "hello-pkglayer"]).stdout)
        XCTAssertTrue(files.hasPrefix("/.\n/etc\n/etc/hello-pkglayer.conf\n"), files)
        XCTAssertTrue(files.contains("/usr/bin/zz-hello-link\n"))
        let owner = try Tool.check(["dpkg-query", "--admindir=\(ourAdmin)", "-S", "/usr/lib/libfoo/libfoo.so.1"]).stdout
        XCTAssertEqual(owner, "libfoo1:\(arch): /usr/lib/libfoo/libfoo.so.1\n")

        // dpkg --verify checks every file's md5 and every conffile's: nothing to report.
        XCTAssertEqual(try dpkg(ours, ["--verify"]).stdout, "")
        // …and it does see a change, so the silence means something.
        try "changed\n".write(toFile: "\(ours)/usr/share/doc/tool-pkglayer/README", atomically: false, encoding: .utf8)
        try "changed\n".write(toFile: "\(ours)/etc/libfoo/foo.conf", atomically: false, encoding: .utf8)
        let changed = try dpkg(ours, ["--verify"]).stdout
        XCTAssertTrue(changed.contains("??5??????   /usr/share/doc/tool-pkglayer/README"), changed)
        XCTAssertTrue(changed.contains("??5?????? c /etc/libfoo/foo.conf"), changed)

        // The database is good enough for dpkg to work on: remove a package.
        try dpkg(ours, ["-r", "tool-pkglayer"])
        XCTAssertNil(lstatOf("\(ours)/usr/bin/tool-pkglayer"))
        XCTAssertNotNil(lstatOf("\(ours)/usr/bin/hello-pkglayer"))
        let after = try Tool.run(["dpkg-query", "--admindir=\(ourAdmin)", "-W", "-f", "${Package} ${Status}\n"]).stdout
        XCTAssertFalse(after.contains("tool-pkglayer install ok installed"), after)
    }

    func testTwoWritesAreByteIdentical() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-dpkgdb")
        let debs = try makeDebs(in: work.path)
        var trees: [[String: (bytes: [UInt8], mode: mode_t, mtime: Int)]] = []
        for n in 0..<2 {
            let root = "\(work.path)/root\(n)"
            // The second run reads the debs in another order and another working directory.
            _ = try writeDatabase(n == 0 ? debs : debs.reversed(), into: root)
            var tree: [String: (bytes: [UInt8], mode: mode_t, mtime: Int)] = [:]
            let walker = FileManager.default.enumerator(atPath: root)!
            while let rel = walker.nextObject() as? String {
                let st = lstatOf("\(root)/\(rel)")!
                let content = st.st_mode & S_IFMT == S_IFREG ? try bytes(of: "\(root)/\(rel)") : []
                tree[rel] = (content, st.st_mode, st.st_mtim.tv_sec)
            }
            trees.append(tree)
            if n == 0 { sleep(1) }
        }
        XCTAssertEqual(trees[0].keys.sorted(), trees[1].keys.sorted())
        for (path, a) in trees[0] {
            let b = trees[1][path]!
            XCTAssertEqual(a.bytes, b.bytes, path)
            XCTAssertEqual(a.mode, b.mode, path)
            XCTAssertEqual(a.mtime, 1_700_000_000, path)
            XCTAssertEqual(b.mtime, 1_700_000_000, path)
        }
    }

    /// With the files staged by DebReader, the md5s come from the staged copies instead of a second
    /// pass over data.tar: the records are the same. A file that is not a .deb is a clear error.
    func testStagedReadGivesTheSameRecords() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-dpkgdb")
        let debs = try makeDebs(in: work.path)
        let db = DpkgDatabase()
        for (n, deb) in debs.enumerated() {
            let staged = try DebReader().readPackage(path: deb, extractTo: "\(work.path)/staged\(n)")
            let fromStaged = try DpkgInstalledPackage(deb: deb, read: staged)
            let fromDeb = try DpkgInstalledPackage(deb: deb)
            XCTAssertEqual(db.packageFiles(for: fromStaged), db.packageFiles(for: fromDeb), deb)
            XCTAssertFalse(fromStaged.conffiles.isEmpty && deb.hasSuffix("libfoo1.deb"))
        }
        let bogus = "\(work.path)/bogus.deb"
        try Data("not an ar archive".utf8).write(to: URL(fileURLWithPath: bogus))
        XCTAssertThrowsError(try DpkgInstalledPackage(deb: bogus)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .deb)
            XCTAssertEqual((error as? PkgLayerError)?.location, bogus)
        }
    }

    /// The records as manifest entries, for the layer writer: every file, staged with its bytes.
    func testManifestEntriesForLayers() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-dpkgdb")
        let debs = try makeDebs(in: work.path)
        let packages = try debs.map { try DpkgInstalledPackage(deb: $0) }
        let db = DpkgDatabase()
        let epoch = SourceDateEpoch(1_700_000_000)
        let layer = try DpkgDatabase.manifestEntries(db.packageFiles(for: packages[0]), stagingRoot: "\(work.path)/layer0", epoch: epoch)
        let top = try DpkgDatabase.manifestEntries(db.adminFiles(for: packages), stagingRoot: "\(work.path)/top", epoch: epoch)
        let manifest = try FileManifest(entries: layer, implicitDirectoryMtime: epoch.seconds)
        XCTAssertNotNil(manifest["/var/lib/dpkg/info/hello-pkglayer.list"])
        XCTAssertEqual(manifest["/var/lib/dpkg/info/hello-pkglayer.postinst"]?.mode, 0o755)
        XCTAssertEqual(manifest["/var/lib/dpkg/status.d/hello-pkglayer"]?.mode, 0o644)
        XCTAssertEqual(top.map(\.path), ["/var/lib/dpkg/info/format", "/var/lib/dpkg/status"])
        for entry in layer + top {
            XCTAssertEqual(try FileDigest.sha256Hex(path: entry.sourcePath!), entry.sha256, entry.path)
            XCTAssertEqual(entry.mtime, 1_700_000_000)
        }
    }

    /// Names become file names and paths become lines: anything that would escape `info/` or break a
    /// line-based file is refused.
    func testHostileNamesAreRefused() throws {
        func package(_ control: String, paths: [String] = ["/usr"], members: [String: [UInt8]] = [:],
                     conffiles: [(path: String, md5: String)] = []) throws -> DpkgInstalledPackage {
            try DpkgInstalledPackage(control: try ControlParagraph(parsing: control, location: "test"), paths: paths,
                                     controlMembers: members, conffiles: conffiles)
        }
        let good = "Package: ok\nVersion: 1\nArchitecture: amd64\n"
        XCTAssertNoThrow(try package(good))
        for control in ["Package: ../../etc/passwd\nVersion: 1\nArchitecture: amd64\n",
                        "Package: ok\nVersion: 1\nArchitecture: ../x\n",
                        "Version: 1\nArchitecture: amd64\n"] {
            XCTAssertThrowsError(try package(control), control) { XCTAssertEqual(($0 as? PkgLayerError)?.code, .deb) }
        }
        XCTAssertThrowsError(try package(good, paths: ["/usr/bin/evil\n/etc/shadow"]))
        XCTAssertThrowsError(try package(good, paths: ["/usr/../etc"]))
        XCTAssertThrowsError(try package(good, paths: ["usr/bin"]))
        XCTAssertThrowsError(try package(good, members: ["../../../etc/cron.d/x": []]))
        XCTAssertThrowsError(try package(good, conffiles: [("/etc/x", "not-an-md5")]))
    }

    func testStatusParagraphFollowsDpkgsFieldOrder() throws {
        let control = try ControlParagraph(parsing: """
        Package: zed
        Version: 1.0
        Architecture: amd64
        Essential: no
        X-Custom: kept
        Maintainer: M <m@example.org>
        Depends: a
        Pre-Depends: b
        Description: z
         more
        Section: misc
        Protected: yes
        """, location: "test")
        let package = try DpkgInstalledPackage(control: control, paths: ["/usr", "/usr/bin", "/usr/bin/zed", "/etc/zed.conf"],
                                           controlMembers: ["control": Array("ignored".utf8)],
                                           conffiles: [("/etc/zed.conf", "0123456789abcdef0123456789abcdef")])
        let db = DpkgDatabase()
        XCTAssertEqual(DpkgDatabase.render(db.statusParagraph(for: package)), """
        Package: zed
        Protected: yes
        Status: install ok installed
        Section: misc
        Maintainer: M <m@example.org>
        Architecture: amd64
        Version: 1.0
        Depends: a
        Pre-Depends: b
        Conffiles:
         /etc/zed.conf 0123456789abcdef0123456789abcdef
        Description: z
         more
        X-Custom: kept

        """)
        XCTAssertEqual(package.infoName, "zed")
        XCTAssertEqual(db.packageFiles(for: package).map(\.path), ["/var/lib/dpkg/info/zed.list", "/var/lib/dpkg/status.d/zed"])
        XCTAssertEqual(String(decoding: db.packageFiles(for: package)[0].contents, as: UTF8.self),
                       "/.\n/usr\n/usr/bin\n/usr/bin/zed\n/etc/zed.conf\n")
        // The same package twice is refused; the combined status sorts by name.
        XCTAssertThrowsError(try db.status(for: [package, package]))
        let other = try DpkgInstalledPackage(control: try ControlParagraph(parsing: "Package: alpha\nVersion: 2\nArchitecture: all\n", location: "test"),
                                             paths: [], controlMembers: [:], conffiles: [])
        XCTAssertTrue(try db.status(for: [package, other]).hasPrefix("Package: alpha\nStatus: install ok installed\n"))
    }
}
