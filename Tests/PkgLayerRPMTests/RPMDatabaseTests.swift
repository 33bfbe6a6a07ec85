import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

/// The rpm database written through librpm, read back by the real rpm.
final class RPMDatabaseTests: XCTestCase {
    private var keep: [AnyObject] = []
    private let epoch = SourceDateEpoch(1_700_000_000)

    /// Two packages: the standard hello (epoch 2, every kind of entry) and a small noarch tool.
    private func makeRPMs(in dir: String) throws -> [String] {
        let hello = try Fixture.standard()
        let a = try writePackage(Specs.hello(), try hello.manifest(), in: dir)
        let tool = try Fixture()
        try tool.file("/usr/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try tool.file("/usr/share/doc/tool/README", "read me\n")
        var spec = PackageSpec(name: "tool", version: "0.9", release: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        spec.summary = "A tool"
        spec.description = "A tool for tests."
        spec.license = "MIT"
        spec.depends = [try Dependency(parsing: "hello >= 1", field: "t")]
        let b = try writePackage(spec, try tool.manifest(), in: dir)
        keep += [hello, tool]
        return [a, b]
    }

    private func rpm(_ root: String, _ dbPath: String, _ args: [String]) throws -> String {
        try Tool.check(["rpm", "--root", root, "--dbpath", dbPath] + args).stdout
    }

    func testRpmListsAndQueriesThePackages() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let root = work.path + "/root"
        let result = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: root)

        XCTAssertEqual(result.directory, root + "/var/lib/rpm")
        XCTAssertEqual(result.files, ["rpmdb.sqlite"], "no -wal, -shm or .rpm.lock left")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: result.directory), ["rpmdb.sqlite"])
        XCTAssertEqual(result.packages, ["hello-2:1.2.3-4.x86_64", "tool-0.9-1.noarch"])
        // librpm keeps the WAL file (persistent WAL) after checkpointing it into rpmdb.sqlite on close;
        // `write` found it empty and removed it with the shared-memory index and the lock.
        XCTAssertEqual(result.removed, [".rpm.lock", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"])

        let expected = try rpms.map { try Tool.query($0, "%{NEVRA}\n") }.sorted().joined()
        let listed = try rpm(root, "/var/lib/rpm", ["-qa", "--qf", "%{NEVRA}\n"])
        XCTAssertEqual(listed.split(separator: "\n").sorted().map { $0 + "\n" }.joined(), expected)
        XCTAssertEqual(expected, "hello-2:1.2.3-4.x86_64\ntool-0.9-1.noarch\n")

        let info = try rpm(root, "/var/lib/rpm", ["-qi", "hello"])
        XCTAssertTrue(info.contains("Name        : hello"), info)
        XCTAssertTrue(info.contains("Epoch       : 2"), info)
        XCTAssertTrue(info.contains("Version     : 1.2.3"), info)
        XCTAssertTrue(info.contains("Release     : 4"), info)
        XCTAssertTrue(info.contains("Install Date:"), info)
        // SOURCE_DATE_EPOCH, not the clock, is the transaction id; rpm 4.18 adds one second per package
        // to INSTALLTIME (rpmtsGetTime steps the override time), so install order stays visible.
        XCTAssertEqual(try rpm(root, "/var/lib/rpm", ["-q", "--qf", "%{INSTALLTIME} %{INSTALLTID}\n", "hello", "tool"]),
                       "1700000000 1700000000\n1700000001 1700000000\n")
        // The file list and the reverse lookup work, as after a real install.
        let files = try rpm(root, "/var/lib/rpm", ["-ql", "hello"])
        XCTAssertTrue(files.contains("/usr/bin/hello\n"), files)
        XCTAssertEqual(try rpm(root, "/var/lib/rpm", ["-qf", "/usr/bin/tool"]), "tool-0.9-1.noarch\n")
        XCTAssertEqual(try rpm(root, "/var/lib/rpm", ["-q", "--whatprovides", "greeter"]), "hello-1.2.3-4.x86_64\n")
        // The environment is as it was.
        XCTAssertEqual(ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], nil)
    }

    /// With the files really unpacked under the root (as the layers put them), `rpm -V` finds every
    /// file as the database describes it; the database also becomes the top layer's manifest entry.
    func testRpmVerifyAgainstUnpackedFiles() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let root = work.path + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let cpio = work.path + "/tool.cpio"
        let archive = try Tool.check(["rpm2cpio", rpms[1]]).stdout
        XCTAssertFalse(archive.isEmpty)
        try Tool.check(["sh", "-c", "rpm2cpio \"$1\" > \"$2\" && cd \"$3\" && cpio -idmu --quiet < \"$2\"", "sh", rpms[1], cpio, root])
        let result = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: root)
        let verify = try Tool.run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-V", "tool"])
        XCTAssertEqual(verify.stdout, "", verify.stderr)
        XCTAssertEqual(verify.status, 0, verify.stderr)
        // …and it notices a change.
        try "changed\n".write(toFile: root + "/usr/share/doc/tool/README", atomically: false, encoding: .utf8)
        XCTAssertTrue(try Tool.run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-V", "tool"]).stdout
            .contains("/usr/share/doc/tool/README"))

        let entries = try result.manifestEntries()
        XCTAssertEqual(entries.map(\.path), ["/var/lib/rpm/rpmdb.sqlite"])
        XCTAssertEqual(entries[0].sha256, try FileDigest.sha256Hex(path: result.directory + "/rpmdb.sqlite"))
        XCTAssertEqual(entries[0].mtime, epoch.seconds)
    }

    func testSysimageDatabasePath() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let root = work.path + "/root"
        let result = try RPMDatabase(dbPath: RPMDatabase.sysimagePath, sourceDateEpoch: epoch).write(packages: rpms, root: root)
        XCTAssertEqual(result.directory, root + "/usr/lib/sysimage/rpm")
        XCTAssertEqual(result.files, ["rpmdb.sqlite"])
        XCTAssertNil(rpmdbLstat(root + "/var/lib/rpm"), "nothing written at the default path")
        XCTAssertEqual(try rpm(root, "/usr/lib/sysimage/rpm", ["-qa", "--qf", "%{NAME}\n"]).split(separator: "\n").sorted(),
                       ["hello", "tool"])
    }

    func testTwoWritesAreByteIdentical() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let first = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: work.path + "/one")
        sleep(1)
        // Another directory, another second, the packages in the other order.
        let second = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms.reversed(), root: work.path + "/elsewhere/two")
        let a = try Data(contentsOf: URL(fileURLWithPath: first.directory + "/rpmdb.sqlite"))
        let b = try Data(contentsOf: URL(fileURLWithPath: second.directory + "/rpmdb.sqlite"))
        XCTAssertGreaterThan(a.count, 0)
        XCTAssertEqual(a, b, "rpmdb.sqlite differs between two writes")
        XCTAssertEqual(rpmdbLstat(first.directory + "/rpmdb.sqlite")?.st_mtim.tv_sec, 1_700_000_000)
        // Another epoch gives another database: the time really is recorded.
        let third = try RPMDatabase(sourceDateEpoch: SourceDateEpoch(1_700_000_001)).write(packages: rpms, root: work.path + "/three")
        XCTAssertNotEqual(a, try Data(contentsOf: URL(fileURLWithPath: third.directory + "/rpmdb.sqlite")))
    }

    /// The rpm command line, given the same packages in the same order and SOURCE_DATE_EPOCH, writes
    /// the same database bytes: what librpm does in-process is what `rpm -i --justdb` does.
    func testSameBytesAsRpmJustdb() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let ours = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: work.path + "/ours")
        let cliRoot = work.path + "/cli"
        try FileManager.default.createDirectory(atPath: cliRoot + "/var/lib/rpm", withIntermediateDirectories: true)
        try Tool.check(["rpm", "--root", cliRoot, "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite", "-i", "--justdb",
                        "--nodeps", "--noscripts", "--notriggers", "--noplugins", "--nosignature", "--ignorearch", "--ignoreos",
                        "--force-debian"] + rpms, environment: ["SOURCE_DATE_EPOCH": String(epoch.seconds)])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cliRoot + "/var/lib/rpm").sorted(),
                       [".rpm.lock", "rpmdb.sqlite", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"], "the command line leaves the side files")
        let a = try Data(contentsOf: URL(fileURLWithPath: ours.directory + "/rpmdb.sqlite"))
        let b = try Data(contentsOf: URL(fileURLWithPath: cliRoot + "/var/lib/rpm/rpmdb.sqlite"))
        XCTAssertEqual(a, b, "librpm in-process and rpm --justdb disagree")
    }

    func testRefusesExistingDatabaseAndBrokenPackages() throws {
        let work = try TemporaryDirectory(prefix: "pkglayer-rpmdb")
        let rpms = try makeRPMs(in: work.path)
        let root = work.path + "/root"
        _ = try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: root)
        XCTAssertThrowsError(try RPMDatabase(sourceDateEpoch: epoch).write(packages: rpms, root: root)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .fileExists)
        }

        let bogus = work.path + "/bogus.rpm"
        try Data("this is not an rpm".utf8).write(to: URL(fileURLWithPath: bogus))
        let other = work.path + "/other"
        XCTAssertThrowsError(try RPMDatabase(sourceDateEpoch: epoch).write(packages: [rpms[0], bogus], root: other)) { error in
            let e = error as? PkgLayerError
            XCTAssertEqual(e?.code, .rpm)
            XCTAssertEqual(e?.location, bogus)
        }
        XCTAssertNil(rpmdbLstat(other + "/var/lib/rpm/rpmdb.sqlite"), "a failed write leaves no database")

        XCTAssertThrowsError(try RPMDatabase(sourceDateEpoch: epoch).write(packages: [rpms[0], rpms[0]], root: work.path + "/dup"))
    }
}

private func rpmdbLstat(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}
