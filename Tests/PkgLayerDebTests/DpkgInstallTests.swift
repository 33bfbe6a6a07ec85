import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// Installs, upgrades, removes and purges the writer's packages with the real dpkg in a test root,
/// checking the files on disk and the order in which the maintainer scripts run.
final class DpkgInstallTests: XCTestCase {
    /// A dpkg root: `var/lib/dpkg/{status,info,updates}` with an empty status file.
    final class DpkgRoot {
        let dir: TemporaryDirectory
        var root: String { dir.path + "/root" }
        var admin: String { root + "/var/lib/dpkg" }
        var log: String { dir.path + "/scripts.log" }

        init() throws {
            dir = try TemporaryDirectory(prefix: "pkglayer-dpkgroot")
            for sub in ["info", "updates"] {
                try FileManager.default.createDirectory(atPath: "\(dir.path)/root/var/lib/dpkg/\(sub)", withIntermediateDirectories: true)
            }
            _ = FileManager.default.createFile(atPath: "\(dir.path)/root/var/lib/dpkg/status", contents: Data())
            _ = FileManager.default.createFile(atPath: log, contents: Data())
        }

        @discardableResult
        func dpkg(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Tool.Output {
            try Tool.check(["dpkg", "--root=\(root)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                            "--force-confdef", "--force-confold", "--no-debsig", "--log=\(dir.path)/dpkg.log"] + args,
                           file: file, line: line)
        }

        func logLines() throws -> [String] {
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        }

        func query(_ package: String) throws -> String {
            try Tool.run(["dpkg-query", "--admindir=\(admin)", "-W", "-f=${Package} ${Version} ${Status}", package]).stdout
        }
    }

    /// Every hook appends "version hook [$1] [$2]" to the log.
    private func scripts(version: String, log: String, hooks: [ScriptHook] = [.beforeInstall, .afterInstall, .beforeUpgrade,
                                                                              .afterUpgrade, .beforeRemove, .afterRemove]) -> [ScriptHook: String] {
        var out: [ScriptHook: String] = [:]
        for hook in hooks {
            out[hook] = "echo \"\(version) \(hook.rawValue) [$1] [$2]\" >> '\(log)'\n"
        }
        return out
    }

    private func package(version: String, marker: String, root: DpkgRoot, compression: Compression = .gzip(level: 6),
                         hooks: [ScriptHook]? = nil) throws -> String {
        let fx = try Fixture()
        try fx.populateStandard(marker: marker)
        var spec = fx.spec(version: version)
        spec.architecture = Architecture(parsing: try Tool.check(["dpkg", "--print-architecture"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        spec.scripts = hooks.map { scripts(version: "v\(version)", log: root.log, hooks: $0) } ?? scripts(version: "v\(version)", log: root.log)
        let out = root.dir.path + "/" + DebWriter().fileName(for: spec)
        _ = try DebWriter(dataCompression: compression).write(spec: spec, manifest: try fx.manifest(), to: out)
        fixtures.append(fx)
        return out
    }

    private var fixtures: [Fixture] = []

    func testInstallUpgradeRemovePurge() throws {
        let root = try DpkgRoot()
        let v1 = try package(version: "1.0", marker: "one", root: root)
        let v2 = try package(version: "2.0", marker: "two", root: root, compression: .xz(level: 6))
        let r = root.root

        try root.dpkg(["-i", v1])
        XCTAssertEqual(try root.logLines(), ["v1.0 before-install [install] []", "v1.0 after-install [configure] []"])
        XCTAssertEqual(try root.query("hello-pkglayer"), "hello-pkglayer 1.0-1 install ok installed")

        // Files on disk: content, modes, owners, links.
        XCTAssertEqual(try String(contentsOfFile: r + "/usr/bin/hello-pkglayer", encoding: .utf8), "#!/bin/sh\necho hello one\n")
        let bin = try XCTUnwrap(lstatOf(r + "/usr/bin/hello-pkglayer"))
        XCTAssertEqual(bin.st_mode & 0o7777, 0o755)
        XCTAssertEqual(bin.st_mode & S_IFMT, S_IFREG)
        let link = try XCTUnwrap(lstatOf(r + "/usr/bin/zz-hello-link"))
        XCTAssertEqual(link.st_ino, bin.st_ino, "hardlink installed as a hardlink")
        XCTAssertEqual(bin.st_nlink, 2)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: r + "/usr/bin/hello-alias"), "hello-pkglayer")
        XCTAssertEqual(try XCTUnwrap(lstatOf(r + "/usr/bin/suid-tool")).st_mode & 0o7777, 0o4755)
        XCTAssertEqual(try XCTUnwrap(lstatOf(r + "/usr/bin/sgid-tool")).st_mode & 0o7777, 0o2755)
        let spool = try XCTUnwrap(lstatOf(r + "/var/lib/hello-pkglayer/spool"))
        XCTAssertEqual(spool.st_mode & 0o7777, 0o1777)
        XCTAssertEqual(spool.st_mode & S_IFMT, S_IFDIR)
        let foreign = try XCTUnwrap(lstatOf(r + "/usr/share/hello-pkglayer/owned-by-1234"))
        XCTAssertEqual(foreign.st_uid, 1234, "unknown user name: dpkg falls back to the numeric id")
        XCTAssertEqual(foreign.st_gid, 2345)
        XCTAssertEqual(foreign.st_mode & 0o7777, 0o640)
        XCTAssertEqual(bin.st_uid, 0)
        XCTAssertEqual(bin.st_mtim.tv_sec, 1_700_000_000)
        XCTAssertNotNil(lstatOf(r + "/usr/share/hello-pkglayer/with space.txt"))
        XCTAssertNotNil(lstatOf(r + "/usr/share/hello-pkglayer/naïve-ünïcode.txt"))
        XCTAssertNotNil(lstatOf(r + "/usr/share/hello-pkglayer/" + String(repeating: "long-name-", count: 12) + "end.txt"))

        // dpkg's own view: file list and conffile hashes.
        let listed = try Tool.check(["dpkg-query", "--admindir=\(root.admin)", "-L", "hello-pkglayer"]).stdout
        XCTAssertTrue(listed.contains("/usr/bin/zz-hello-link\n"), listed)
        let conffiles = try Tool.check(["dpkg-query", "--admindir=\(root.admin)", "-W", "-f=${Conffiles}", "hello-pkglayer"]).stdout
        XCTAssertTrue(conffiles.contains("/etc/hello-pkglayer.conf "), conffiles)
        // dpkg --verify checks every installed file against md5sums and conffile hashes.
        XCTAssertEqual(try Tool.run(["dpkg", "--root=\(r)", "--verify", "hello-pkglayer"]).stdout, "")

        // A local edit of the conffile survives the upgrade (the new one lands beside it as .dpkg-dist).
        try "local edit\n".write(toFile: r + "/etc/hello-pkglayer.conf", atomically: false, encoding: .utf8)

        // Upgrade: the old package's removal hooks stay silent; only the new upgrade hooks run.
        try root.dpkg(["-i", v2])
        XCTAssertEqual(Array(try root.logLines().dropFirst(2)),
                       ["v2.0 before-upgrade [upgrade] [1.0-1]", "v2.0 after-upgrade [configure] [1.0-1]"])
        XCTAssertEqual(try root.query("hello-pkglayer"), "hello-pkglayer 2.0-1 install ok installed")
        XCTAssertEqual(try String(contentsOfFile: r + "/usr/bin/hello-pkglayer", encoding: .utf8), "#!/bin/sh\necho hello two\n")
        XCTAssertEqual(try String(contentsOfFile: r + "/etc/hello-pkglayer.conf", encoding: .utf8), "local edit\n")
        XCTAssertEqual(try String(contentsOfFile: r + "/etc/hello-pkglayer.conf.dpkg-dist", encoding: .utf8), "setting = two\n")
        // A symlink target over 100 bytes (a GNU 'K' long-link member) installs intact.
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: r + "/usr/share/hello-pkglayer/long-link"),
                       String(repeating: "long-name-", count: 12) + "end.txt")

        // Remove: the removal hooks run, the conffile stays.
        try root.dpkg(["-r", "hello-pkglayer"])
        XCTAssertEqual(Array(try root.logLines().dropFirst(4)), ["v2.0 before-remove [remove] []", "v2.0 after-remove [remove] []"])
        XCTAssertNil(lstatOf(r + "/usr/bin/hello-pkglayer"))
        XCTAssertNotNil(lstatOf(r + "/etc/hello-pkglayer.conf"))
        XCTAssertEqual(try root.query("hello-pkglayer"), "hello-pkglayer 2.0-1 deinstall ok config-files")

        // Purge: postrm runs with `purge`, which maps to no hook; the conffile goes.
        try root.dpkg(["-P", "hello-pkglayer"])
        XCTAssertEqual(try root.logLines().count, 6)
        XCTAssertNil(lstatOf(r + "/etc/hello-pkglayer.conf"))
        XCTAssertEqual(try root.query("hello-pkglayer").trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "a purged package is gone from dpkg's status")
    }

    /// Without upgrade hooks, the install hooks also run on upgrade (MaintainerScripts' rule), and the
    /// old package's remove hooks do not.
    func testInstallHooksAlsoRunOnUpgradeWhenNoUpgradeHooks() throws {
        let root = try DpkgRoot()
        let hooks: [ScriptHook] = [.beforeInstall, .afterInstall, .beforeRemove, .afterRemove]
        let v1 = try package(version: "1.0", marker: "one", root: root, compression: .zstd(level: 3), hooks: hooks)
        let v2 = try package(version: "2.0", marker: "two", root: root, compression: .none, hooks: hooks)
        try root.dpkg(["-i", v1])
        try root.dpkg(["-i", v2])
        try root.dpkg(["-P", "hello-pkglayer"])
        XCTAssertEqual(try root.logLines(), [
            "v1.0 before-install [install] []", "v1.0 after-install [configure] []",
            "v2.0 before-install [upgrade] [1.0-1]", "v2.0 after-install [configure] [1.0-1]",
            "v2.0 before-remove [remove] []", "v2.0 after-remove [remove] []",
        ])
    }

    func testDpkgQueryListsEveryCompression() throws {
        let root = try DpkgRoot()
        for (index, compression) in DpkgDebTests.compressions.enumerated() {
            let version = "1.\(index)"
            let deb = try package(version: version, marker: version, root: root, compression: compression, hooks: [])
            try root.dpkg(["-i", deb])
            XCTAssertEqual(try root.query("hello-pkglayer"), "hello-pkglayer \(version)-1 install ok installed", "\(compression)")
            XCTAssertEqual(try String(contentsOfFile: root.root + "/usr/bin/hello-pkglayer", encoding: .utf8),
                           "#!/bin/sh\necho hello \(version)\n")
        }
        let all = try Tool.check(["dpkg-query", "--admindir=\(root.admin)", "-W"]).stdout
        XCTAssertEqual(all, "hello-pkglayer\t1.3-1\n")
    }

    /// The tar edge cases dpkg's own unpacker must read in a deb's data member (written as GNU tar,
    /// see `ArchiveFormat.tarGNU`): names and link targets around the 100-byte field, ids that need
    /// base-256, non-ASCII names, deep paths. Checked by GNU tar, by `dpkg -i` and by our reader.
    func testEdgeCasesInstallWithDpkg() throws {
        let fx = try Fixture()
        let dir = "/opt/edge/"
        let base = dir.utf8.count + 1 // "./" prefix minus the leading "/" of the path
        // Member names ("./opt/edge/…") of 99, 100 and 101 bytes.
        func fileName(_ length: Int) -> String { String(repeating: "n", count: length - base - String(length).count) + "\(length)" }
        func target(_ length: Int) -> String { String(repeating: "t", count: length - String(length).count) + "\(length)" }
        for length in [99, 100, 101] {
            XCTAssertEqual(("./opt/edge/" + fileName(length)).utf8.count, length)
            try fx.file(dir + fileName(length), "\(length)\n")
        }
        // Symlink targets of 99, 100 and 101 bytes.
        for length in [99, 100, 101] {
            XCTAssertEqual(target(length).utf8.count, length)
            fx.symlink("/opt/edge/link-\(length)", to: target(length))
        }
        try fx.file("/opt/edge/big-uid", "big\n", uid: 3_000_000, gid: 4_000_000, user: "pkglayer-nobody", group: "pkglayer-nogroup")
        try fx.file("/opt/edge/ünïcödé-名前", "utf8\n")
        let deep = "/opt/edge/" + (0..<30).map { "d\($0)" }.joined(separator: "/") + "/deep-file"
        try fx.file(deep, "deep\n")
        var spec = fx.spec(name: "edge-cases")
        spec.architecture = .noarch
        let deb = fx.path("edge.deb")
        _ = try DebWriter().write(spec: spec, manifest: try fx.manifest(), to: deb)

        let numeric = try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -tv --numeric-owner", "sh", deb]).stdout
        XCTAssertTrue(numeric.contains(" 3000000/4000000 "), numeric)
        for length in [99, 100, 101] {
            XCTAssertTrue(numeric.contains("./opt/edge/" + fileName(length) + "\n"), numeric)
            XCTAssertTrue(numeric.contains("link-\(length) -> " + target(length) + "\n"), numeric)
        }

        let root = try DpkgInstallTests.DpkgRoot()
        try root.dpkg(["-i", deb])
        let r = root.root
        for length in [99, 100, 101] {
            XCTAssertEqual(try String(contentsOfFile: r + dir + fileName(length), encoding: .utf8), "\(length)\n")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: r + "/opt/edge/link-\(length)"), target(length))
        }
        XCTAssertEqual(lstatOf(r + "/opt/edge/big-uid")?.st_uid, 3_000_000)
        XCTAssertEqual(lstatOf(r + "/opt/edge/big-uid")?.st_gid, 4_000_000)
        XCTAssertEqual(try String(contentsOfFile: r + "/opt/edge/ünïcödé-名前", encoding: .utf8), "utf8\n")
        XCTAssertEqual(try String(contentsOfFile: r + deep, encoding: .utf8), "deep\n")

        let read = try DebReader().read(path: deb, extractTo: nil)
        XCTAssertEqual(read.manifest["/opt/edge/big-uid"]?.uid, 3_000_000)
        XCTAssertEqual(read.manifest["/opt/edge/link-101"]?.linkTarget, target(101))
        XCTAssertEqual(read.manifest.entries.map(\.path), try fx.manifest().entries.map(\.path))
    }
}
