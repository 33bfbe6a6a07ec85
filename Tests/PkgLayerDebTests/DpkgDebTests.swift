import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// The writer's output, checked by dpkg-deb (the program that consumes it), for every compression.
final class DpkgDebTests: XCTestCase {
    static let compressions: [Compression] = [.gzip(level: 6), .xz(level: 6), .zstd(level: 3), .none]

    private func build(_ compression: Compression, in fx: Fixture) throws -> (path: String, result: DebWriter.WriteResult, spec: PackageSpec) {
        try fx.populateStandard()
        var spec = fx.spec()
        spec.epoch = 2
        spec.vendor = "Pkglayer Test Vendor"
        spec.depends = [try Dependency(parsing: "libc6 (>= 2.36)", field: "t"), try Dependency(parsing: "awk | mawk", field: "t")]
        spec.preDepends = [Dependency(name: "dpkg", versionOperator: .greaterOrEqual, version: "1.17.6")]
        spec.recommends = [Dependency(name: "curl")]
        spec.suggests = [Dependency(name: "wget", versionOperator: .greaterThan, version: "1.0")]
        spec.conflicts = [Dependency(name: "hello-conflict")]
        spec.breaks = [Dependency(name: "hello-broken", versionOperator: .lessOrEqual, version: "0.9")]
        spec.replaces = [Dependency(name: "hello-replaced")]
        spec.provides = [Dependency(name: "hello-virtual", versionOperator: .equal, version: "1.0")]
        spec.obsoletes = [Dependency(name: "hello-old", versionOperator: .lessThan, version: "1.0")]
        spec.scripts = [.afterInstall: "echo installed\n", .beforeRemove: "echo removing\n", .beforeTransaction: "echo rpm only\n"]
        let writer = DebWriter(dataCompression: compression)
        let path = fx.path(writer.fileName(for: spec))
        let result = try writer.writePackage(spec: spec, manifest: try fx.manifest(), to: path)
        return (path, result, spec)
    }

    func testArMembersAndFields() throws {
        for compression in Self.compressions {
            let fx = try Fixture()
            let (path, result, _) = try build(compression, in: fx)
            XCTAssertEqual(ManifestPath.basename(of: path), "hello-pkglayer_1.0-1_amd64.deb", "the epoch stays out of the file name")
            let ext = compression.fileExtension.isEmpty ? "" : ".\(compression.fileExtension)"
            let members = try Tool.check(["ar", "t", path]).stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(members, ["debian-binary", "control.tar" + ext, "data.tar" + ext], "\(compression)")
            XCTAssertTrue(result.warnings.contains { $0.contains("before-transaction") }, "rpm-only hooks must produce a warning")

            let info = try Tool.check(["dpkg-deb", "-I", path]).stdout
            XCTAssertTrue(info.contains(" Package: hello-pkglayer\n"), info)
            XCTAssertTrue(info.contains(" Description: greets the world, the pkglayer way\n  This package exists"), info)

            let expected: [(String, String)] = [
                ("Package", "hello-pkglayer"),
                ("Version", "2:1.0-1"),
                ("Architecture", "amd64"),
                ("Maintainer", "Pkglayer Tests <tests@pkglayer.example.org>"),
                ("Installed-Size", String(result.installedSizeKiB)),
                ("Pre-Depends", "dpkg (>= 1.17.6)"),
                ("Depends", "libc6 (>= 2.36), awk | mawk"),
                ("Recommends", "curl"),
                ("Suggests", "wget (>> 1.0)"),
                ("Conflicts", "hello-conflict"),
                ("Breaks", "hello-broken (<= 0.9), hello-old (<< 1.0)"),
                ("Replaces", "hello-replaced, hello-old (<< 1.0)"),
                ("Provides", "hello-virtual (= 1.0)"),
                ("Section", "utils"),
                ("Priority", "optional"),
                ("Homepage", "https://pkglayer.example.org/"),
                ("Vendor", "Pkglayer Test Vendor"),
                ("Description", "greets the world, the pkglayer way\n This package exists to test pkglayer's deb writer.\n .\n It has a second paragraph, which\n spans two lines."),
            ]
            for (field, value) in expected {
                let got = try Tool.check(["dpkg-deb", "-f", path, field]).stdout
                XCTAssertEqual(got, value + "\n", "\(compression) \(field)")
            }
            // The whole control file, in order, as dpkg-deb sees it.
            let control = try Tool.check(["dpkg-deb", "-f", path]).stdout
            XCTAssertEqual(control.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map { String($0.split(separator: ":")[0]) },
                           expected.map(\.0))

            XCTAssertEqual(try Tool.check(["dpkg-deb", "-I", path, "conffiles"]).stdout, "/etc/hello-pkglayer.conf\n")
            let md5sums = try Tool.check(["dpkg-deb", "-I", path, "md5sums"]).stdout
            let binSum = try Tool.check(["md5sum", fx.entries.first { $0.path == "/usr/bin/hello-pkglayer" }!.sourcePath!]).stdout.prefix(32)
            XCTAssertTrue(md5sums.contains("\(binSum)  usr/bin/hello-pkglayer\n"), md5sums)
            XCTAssertTrue(md5sums.contains("\(binSum)  usr/bin/zz-hello-link\n"), "hardlinked paths are files on disk: \(md5sums)")
            XCTAssertTrue(md5sums.contains("  usr/share/hello-pkglayer/with space.txt\n"), md5sums)
            XCTAssertFalse(md5sums.contains("etc/hello-pkglayer.conf"), "conffiles are left out of md5sums (dpkg tracks them)")
            XCTAssertFalse(md5sums.contains("hello-alias"), "symlinks have no md5sum")
            // Every md5sums line is right: check with md5sum itself against an extracted tree.
            let x = try TemporaryDirectory(prefix: "pkglayer-x")
            try Tool.check(["dpkg-deb", "-x", path, x.path])
            try Tool.check(["sh", "-c", "cd \"$1\" && dpkg-deb -I \"$2\" md5sums | md5sum --quiet -c -", "sh", x.path, path])

            let postinst = try Tool.check(["dpkg-deb", "-I", path, "postinst"]).stdout
            XCTAssertTrue(postinst.hasPrefix("#!/bin/sh\n"), postinst)
            XCTAssertTrue(postinst.contains("set -e\n"))
            XCTAssertTrue(postinst.contains("echo installed"))
            XCTAssertTrue(try Tool.check(["dpkg-deb", "-I", path, "prerm"]).stdout.contains("echo removing"))
            XCTAssertNotEqual(try Tool.run(["dpkg-deb", "-I", path, "preinst"]).status, 0, "no preinst was asked for")
        }
    }

    func testDataMembersAsDpkgListsThem() throws {
        for compression in Self.compressions {
            let fx = try Fixture()
            let (path, _, _) = try build(compression, in: fx)
            let listing = try Tool.check(["dpkg-deb", "-c", path], environment: ["TZ": "UTC"]).stdout
            let lines = listing.split(separator: "\n").map(String.init)
            // perms owner size date time name...
            let rows: [(perm: String, owner: String, size: String, stamp: String, name: String)] = lines.map { line in
                let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true).map(String.init)
                return (f[0], f[1], f[2], f[3] + " " + f[4], f[5])
            }
            XCTAssertEqual(rows.first?.name, "./", "the root directory comes first")
            XCTAssertEqual(rows.first?.perm, "drwxr-xr-x")
            let names = rows.map(\.name)
            func row(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> (perm: String, owner: String, size: String, stamp: String, name: String)? {
                let r = rows.first { $0.name == name }
                XCTAssertNotNil(r, "\(name) missing in:\n\(listing)", file: file, line: line)
                return r
            }
            // Every parent directory is listed, with a trailing slash, before its children.
            for dir in ["./etc/", "./usr/", "./usr/bin/", "./usr/share/", "./usr/share/hello-pkglayer/", "./var/", "./var/lib/",
                        "./var/lib/hello-pkglayer/", "./var/lib/hello-pkglayer/spool/"] {
                XCTAssertEqual(row(dir)?.perm.first, "d", dir)
            }
            XCTAssertEqual(names.firstIndex(of: "./usr/bin/")!, names.firstIndex(of: "./usr/")! + 1)
            XCTAssertEqual(row("./usr/bin/hello-pkglayer")?.perm, "-rwxr-xr-x")
            XCTAssertEqual(row("./usr/bin/hello-pkglayer")?.owner, "root/root")
            XCTAssertEqual(row("./usr/bin/hello-pkglayer")?.stamp, "2023-11-14 22:13")
            XCTAssertEqual(row("./usr/bin/suid-tool")?.perm, "-rwsr-xr-x")
            XCTAssertEqual(row("./usr/bin/sgid-tool")?.perm, "-rwxr-sr-x")
            XCTAssertEqual(row("./var/lib/hello-pkglayer/spool/")?.perm, "drwxrwxrwt")
            XCTAssertEqual(row("./usr/bin/hello-alias -> hello-pkglayer")?.perm, "lrwxrwxrwx")
            XCTAssertEqual(row("./usr/bin/zz-hello-link link to ./usr/bin/hello-pkglayer")?.perm, "hrwxr-xr-x")
            XCTAssertEqual(row("./usr/share/hello-pkglayer/owned-by-1234")?.owner, "pkglayer-no-such-user/pkglayer-no-such-group")
            XCTAssertEqual(row("./usr/share/hello-pkglayer/owned-by-1234")?.perm, "-rw-r-----")
            XCTAssertEqual(row("./usr/share/hello-pkglayer/with space.txt")?.size, "7")
            XCTAssertNotNil(row("./usr/share/hello-pkglayer/naïve-ünïcode.txt"))
            XCTAssertNotNil(row("./usr/share/hello-pkglayer/" + String(repeating: "long-name-", count: 12) + "end.txt"))
            XCTAssertEqual(row("./etc/hello-pkglayer.conf")?.perm, "-rw-r--r--")
            XCTAssertNotNil(row("./usr/share/hello-pkglayer/long-link -> " + String(repeating: "long-name-", count: 12) + "end.txt"))

            // Numeric ids survive alongside the names.
            let numeric = try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -tv --numeric-owner", "sh", path]).stdout
            XCTAssertTrue(numeric.contains(" 1234/2345 "), numeric)

            // The control tarball: root-owned members, 0644 files and 0755 scripts.
            let ctrl = try Tool.check(["sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar -tv --numeric-owner", "sh", path],
                                      environment: ["TZ": "UTC"]).stdout
            let ctrlRows = ctrl.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            XCTAssertEqual(ctrlRows.map { $0[5] }, ["./", "./conffiles", "./control", "./md5sums", "./postinst", "./prerm"])
            for r in ctrlRows {
                XCTAssertEqual(r[1], "0/0", ctrl)
                XCTAssertEqual(r[3] + " " + r[4], "2023-11-14 22:13", ctrl)
                let expectedPerm = r[5] == "./" ? "drwxr-xr-x" : (["./postinst", "./prerm"].contains(r[5]) ? "-rwxr-xr-x" : "-rw-r--r--")
                XCTAssertEqual(r[0], expectedPerm, r[5])
            }
        }
    }

    func testArHeadersAreFixed() throws {
        let fx = try Fixture()
        let (path, _, _) = try build(.gzip(level: 6), in: fx)
        let verbose = try Tool.check(["ar", "tv", path], environment: ["TZ": "UTC"]).stdout
        for line in verbose.split(separator: "\n") {
            XCTAssertTrue(line.hasPrefix("rw-r--r-- 0/0 "), String(line))
            XCTAssertTrue(line.contains("Nov 14 22:13 2023"), String(line))
        }
        let raw = try bytes(of: path)
        XCTAssertEqual(Array(raw.prefix(8)), Array("!<arch>\n".utf8))
    }

    func testOverwriteAndAtomicity() throws {
        let fx = try Fixture()
        let (path, _, spec) = try build(.gzip(level: 6), in: fx)
        let before = try bytes(of: path)
        XCTAssertThrowsError(try DebWriter().write(spec: spec, manifest: try fx.manifest(), to: path)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .fileExists)
        }
        XCTAssertEqual(try bytes(of: path), before)
        // A failing write (a source vanished) leaves no partial file behind.
        let out = fx.path("broken.deb")
        var broken = try fx.manifest().mapEntries { if $0.path == "/usr/bin/suid-tool" { $0.sourcePath = fx.path("does-not-exist") } }
        broken = try FileManifest(entries: broken.entries, implicitDirectoryMtime: fx.epoch)
        XCTAssertThrowsError(try DebWriter().write(spec: spec, manifest: broken, to: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fx.root).filter { $0.hasPrefix(".broken.deb") }
        XCTAssertEqual(leftovers, [])
        // With overwrite, the file is replaced.
        XCTAssertNoThrow(try DebWriter(overwrite: true).write(spec: spec, manifest: try fx.manifest(), to: path))
    }

    func testChangedSourceIsAnError() throws {
        let fx = try Fixture()
        try fx.file("/usr/bin/tool", "12345\n")
        let spec = fx.spec()
        let manifest = try fx.manifest()
        try "123456789\n".write(toFile: fx.entries[0].sourcePath!, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try DebWriter().write(spec: spec, manifest: manifest, to: fx.path("x.deb"))) { error in
            XCTAssertTrue("\(error)".contains("grew"), "\(error)")
        }
    }

    func testCapabilitiesAndGhostsWarn() throws {
        let fx = try Fixture()
        var e = try fx.file("/usr/bin/ping-ish", "x", mode: 0o755)
        e.capabilities = "cap_net_raw=ep"
        fx.entries[0] = e
        fx.entries.append(ManifestEntry(path: "/var/log/ghost.log", kind: .file, mode: 0o644, mtime: fx.epoch, flags: [.ghost]))
        let result = try DebWriter().writePackage(spec: fx.spec(), manifest: try fx.manifest(), to: fx.path("c.deb"))
        XCTAssertTrue(result.warnings.contains { $0.contains("capabilities") && $0.contains("/usr/bin/ping-ish") }, "\(result.warnings)")
        XCTAssertTrue(result.warnings.contains { $0.contains("ghost") && $0.contains("/var/log/ghost.log") }, "\(result.warnings)")
        let listing = try Tool.check(["dpkg-deb", "-c", fx.path("c.deb")]).stdout
        XCTAssertFalse(listing.contains("ghost.log"))
    }
}
