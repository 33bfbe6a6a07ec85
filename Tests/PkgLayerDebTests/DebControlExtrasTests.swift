import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// The Debian half of `spec.extras` and `spec.changelog`, checked with dpkg-deb, dpkg and
/// dpkg-parsechangelog.
final class DebControlExtrasTests: XCTestCase {
    private func write(_ spec: PackageSpec, _ fx: Fixture, name: String = "extras.deb") throws -> String {
        let out = fx.path(name)
        _ = try DebWriter(overwrite: true).write(spec: spec, manifest: try fx.manifest(), to: out)
        return out
    }

    private func controlMembers(_ deb: String) throws -> String {
        try Tool.check(["sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar tv", "sh", deb]).stdout
    }

    private func controlMember(_ deb: String, _ member: String) throws -> String {
        try Tool.check(["sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar xO \"./$2\"", "sh", deb, member]).stdout
    }

    func testFieldsAppendAndReplaceAndInstalledSizeOverride() throws {
        let fx = try Fixture()
        try fx.file("/usr/bin/tool", "#!/bin/sh\n", mode: 0o755)
        var spec = fx.spec()
        spec.extras.debFields = [("X-Origin", "pkglayer tests"), ("Section", "net"), ("X-Multi", "first\nsecond line\n\nafter blank")]
        spec.extras.debInstalledSizeKiB = 4242
        let deb = try write(spec, fx)
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "X-Origin"]).stdout, "pkglayer tests\n")
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "Section"]).stdout, "net\n", "a field that clashes replaces the generated one")
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "Installed-Size"]).stdout, "4242\n")
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "X-Multi"]).stdout, "first\n second line\n .\n after blank\n")
        let control = try controlMember(deb, "control")
        XCTAssertEqual(control.components(separatedBy: "Section:").count, 2, control)
        // dpkg accepts the result.
        XCTAssertEqual(try Tool.run(["dpkg-deb", "--info", deb]).status, 0)

        spec.extras.debFields = [("Bad Name", "x")]
        XCTAssertThrowsError(try write(spec, fx, name: "bad.deb")) { XCTAssertTrue("\($0)".contains("Bad Name"), "\($0)") }
    }

    func testCustomControlReplacesTheGeneratedOneAndIsValidated() throws {
        let fx = try Fixture()
        try fx.file("/usr/share/custom/file", "x\n")
        var spec = fx.spec()
        spec.extras.debCustomControl = """
            Package: hello-pkglayer
            Version: 9.9-1
            Architecture: amd64
            Maintainer: Custom <custom@example.org>
            X-Custom: yes
            Description: a hand-written control file
             with a second line

            """
        let deb = try write(spec, fx)
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "Version"]).stdout, "9.9-1\n")
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "X-Custom"]).stdout, "yes\n")
        XCTAssertEqual(try Tool.check(["dpkg-deb", "-f", deb, "Installed-Size"]).stdout, "\n", "the custom file is used as written")

        spec.extras.debCustomControl = "Package: hello-pkglayer\nVersion: 1\nArchitecture: amd64\n"
        XCTAssertThrowsError(try write(spec, fx, name: "bad.deb")) { error in
            XCTAssertTrue("\(error)".contains("Maintainer, Description"), "\(error)")
        }
    }

    func testDebconfShlibsTriggersMembers() throws {
        let fx = try Fixture()
        try fx.file("/usr/lib/libhello.so.1", "not really\n")
        var spec = fx.spec()
        spec.extras.debConfig = "#!/bin/sh\n. /usr/share/debconf/confmodule\ndb_input medium hello/question || true\n"
        spec.extras.debTemplates = "Template: hello/question\nType: boolean\nDefault: true\nDescription: Say hello?\n"
        spec.extras.debShlibs = "libhello 1 hello-pkglayer (>= 1.0)"
        spec.extras.debTriggers = ["interest /usr/share/hello-plugins", "activate-noawait ldconfig"]
        spec.extras.debMetaFiles = [("symbols", "libhello.so.1 hello-pkglayer #MINVER#\n hello@Base 1.0\n")]
        let deb = try write(spec, fx)
        let listing = try controlMembers(deb)
        let names = listing.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        XCTAssertEqual(names, ["./", "./config", "./control", "./md5sums", "./shlibs", "./symbols", "./templates", "./triggers"])
        XCTAssertEqual(try controlMember(deb, "symbols"), "libhello.so.1 hello-pkglayer #MINVER#\n hello@Base 1.0\n")
        XCTAssertTrue(listing.contains("-rwxr-xr-x root/root") && listing.split(separator: "\n").first { $0.hasSuffix("./config") }!
                        .hasPrefix("-rwxr-xr-x"), listing)
        XCTAssertEqual(try controlMember(deb, "shlibs"), "libhello 1 hello-pkglayer (>= 1.0)\n")
        XCTAssertEqual(try controlMember(deb, "triggers"), "interest /usr/share/hello-plugins\nactivate-noawait ldconfig\n")
        XCTAssertEqual(try controlMember(deb, "templates"), spec.extras.debTemplates)
        XCTAssertEqual(try controlMember(deb, "config"), spec.extras.debConfig)

        spec.extras.debMetaFiles = [("control", "x")]
        XCTAssertThrowsError(try write(spec, fx, name: "clash.deb")) { XCTAssertTrue("\($0)".contains("'control'"), "\($0)") }
        spec.extras.debMetaFiles = []
        spec.extras.debTriggers = ["wake-up everything"]
        XCTAssertThrowsError(try write(spec, fx, name: "bad.deb")) { XCTAssertTrue("\($0)".contains("wake-up everything"), "\($0)") }
    }

    func testForceErrorChecksPutsSetEAtTheTop() throws {
        let fx = try Fixture()
        try fx.file("/usr/share/x/file", "x\n")
        var spec = fx.spec()
        spec.scripts = [.afterInstall: "echo installed\n"]
        spec.extras.debForceErrorChecks = true
        spec.extras.debAfterPurge = "echo purged\n"
        let deb = try write(spec, fx)
        for script in ["postinst", "postrm"] {
            let text = try controlMember(deb, script)
            XCTAssertTrue(text.hasPrefix("#!/bin/sh\nset -e\n"), "\(script):\n\(text)")
        }
        // Without the flag the scripts are as before.
        spec.extras.debForceErrorChecks = false
        spec.extras.debAfterPurge = nil
        let plain = try controlMember(try write(spec, fx, name: "plain.deb"), "postinst")
        XCTAssertEqual(plain, MaintainerScripts.deb(spec.scripts)[.postinst])
    }

    /// The purge script runs on `dpkg -P` and not on `dpkg -r`.
    func testAfterPurgeRunsOnPurgeOnly() throws {
        let root = try DpkgInstallTests.DpkgRoot()
        let fx = try Fixture()
        try fx.file("/usr/share/purge-me/file", "x\n")
        var spec = fx.spec(name: "purge-me")
        spec.architecture = .noarch
        spec.scripts = [.afterRemove: "echo \"after-remove $1\" >> '\(root.log)'\n"]
        spec.extras.debAfterPurge = "echo \"after-purge $1\" >> '\(root.log)'\n"
        let deb = try write(spec, fx)
        try root.dpkg(["-i", deb])
        try root.dpkg(["-r", "purge-me"])
        XCTAssertEqual(try root.logLines(), ["after-remove remove"])
        try root.dpkg(["-P", "purge-me"])
        XCTAssertEqual(try root.logLines(), ["after-remove remove", "after-purge purge"])
    }

    func testChangelogDebianGz() throws {
        let fx = try Fixture()
        try fx.file("/usr/share/hello/file", "x\n")
        var spec = fx.spec()
        spec.changelog = [
            ChangelogEntry(date: 1_700_000_000, author: "Jane Doe <jane@example.org>", text: "- Fixed the greeting\n- Added a flag"),
            ChangelogEntry(date: 1_600_000_000, author: "John Roe <john@example.org>", version: "0.9-1", text: "Initial release"),
        ]
        let deb = try write(spec, fx)
        let listing = try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar t", "sh", deb]).stdout
        XCTAssertTrue(listing.contains("./usr/share/doc/hello-pkglayer/changelog.Debian.gz\n"), listing)
        let gz = fx.path("changelog.Debian.gz")
        try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar xO ./usr/share/doc/hello-pkglayer/changelog.Debian.gz > \"$2\"",
                        "sh", deb, gz])
        let raw = try bytes(of: gz)
        XCTAssertEqual(Array(raw[0..<4]), [0x1F, 0x8B, 8, 0], "gzip without a file name")
        XCTAssertEqual(Array(raw[4..<8]), [0, 0, 0, 0], "gzip mtime 0")
        let text = try Tool.check(["gzip", "-dc", gz]).stdout
        XCTAssertEqual(text, """
            hello-pkglayer (1.0-1) UNRELEASED; urgency=medium

              * Fixed the greeting
              * Added a flag

             -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000

            hello-pkglayer (0.9-1) UNRELEASED; urgency=medium

              * Initial release

             -- John Roe <john@example.org>  Sun, 13 Sep 2020 12:26:40 +0000

            """)
        let plain = fx.path("changelog")
        try text.write(toFile: plain, atomically: false, encoding: .utf8)
        let parsed = try Tool.check(["dpkg-parsechangelog", "-l", plain, "--show-field", "Version"]).stdout
        XCTAssertEqual(parsed, "1.0-1\n")
        let all = try Tool.check(["dpkg-parsechangelog", "-l", plain, "--format", "rfc822", "--all"]).stdout
        XCTAssertEqual(all.split(separator: "\n").filter { $0.hasPrefix("Version:") }, ["Version: 1.0-1", "Version: 0.9-1"])
        XCTAssertEqual(try Tool.check(["dpkg-parsechangelog", "-l", plain, "--show-field", "Date"]).stdout, "Tue, 14 Nov 2023 22:13:20 +0000\n")

        // The package's own changelog wins.
        try fx.file("/usr/share/doc/hello-pkglayer/changelog.Debian.gz", "mine\n")
        let own = try write(spec, fx, name: "own.deb")
        let content = try Tool.check(["sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar xO ./usr/share/doc/hello-pkglayer/changelog.Debian.gz",
                                      "sh", own]).stdout
        XCTAssertEqual(content, "mine\n")
    }

    /// None of the new fields: the bytes are exactly what the writer wrote before they existed.
    func testNoExtrasKeepsTheBytes() throws {
        let fx = try Fixture()
        try fx.populateStandard()
        let spec = fx.spec()
        let a = try write(spec, fx, name: "a.deb")
        var withEmpty = spec
        withEmpty.extras = FormatExtras()
        withEmpty.changelog = []
        let b = try write(withEmpty, fx, name: "b.deb")
        XCTAssertEqual(try bytes(of: a), try bytes(of: b))
        XCTAssertEqual(try controlMembers(a).split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) },
                       ["./", "./conffiles", "./control", "./md5sums"])
    }

    /// A complete package whose changelog and systemd integration pkglayer generated draws no lintian
    /// error or warning (but the one about the input's changelog text).
    func testLintianAcceptsGeneratedChangelogAndService() throws {
        let fx = try Fixture()
        try fx.file("/usr/sbin/hellod", "#!/bin/sh\necho hello\n", mode: 0o755)
        try fx.file("/usr/share/doc/hellod/copyright",
                    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: hellod\n\nFiles: *\nCopyright: 2024 Pkglayer Tests\nLicense: MIT\n Permission is hereby granted, free of charge, to any person.\n")
        let manpage = fx.path("hellod.8")
        try ".TH HELLOD 8\n.SH NAME\nhellod \\- greets the world\n.SH SYNOPSIS\n.B hellod\n.SH DESCRIPTION\nGreets.\n"
            .write(toFile: manpage, atomically: false, encoding: .utf8)
        try Tool.check(["gzip", "-9n", manpage])
        let gz = try bytes(of: manpage + ".gz")
        fx.entries.append(ManifestEntry(path: "/usr/share/man/man8/hellod.8.gz", kind: .file, mode: 0o644, mtime: fx.epoch, size: UInt64(gz.count),
                                        sourcePath: manpage + ".gz"))
        let unit = fx.path("hellod.service")
        try "[Unit]\nDescription=hello daemon\n\n[Service]\nExecStart=/usr/sbin/hellod\n\n[Install]\nWantedBy=multi-user.target\n"
            .write(toFile: unit, atomically: false, encoding: .utf8)
        var spec = fx.spec(name: "hellod")
        spec.architecture = .noarch
        spec.changelog = [ChangelogEntry(date: 1_700_000_000, author: "Pkglayer Tests <tests@pkglayer.example.org>", text: "Initial release.")]
        let manifest = try ServiceIntegration.apply([ServiceUnit(kind: .systemd, source: unit)], format: .deb, to: &spec, manifest: try fx.manifest())
        let deb = fx.path("hellod.deb")
        _ = try DebWriter().write(spec: spec, manifest: manifest, to: deb)
        let out = try Tool.run(["lintian", "--allow-root", "--no-tag-display-limit", "--display-info", deb]).stdout
        // initial-upload-closes-no-bugs is about the input: Debian wants a first upload to close its ITP bug.
        let findings = out.split(separator: "\n").filter { ($0.hasPrefix("E: ") || $0.hasPrefix("W: ")) && !$0.contains("initial-upload-closes-no-bugs") }
        XCTAssertEqual(findings, [], out)
        print(out)
    }
}
