import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

/// The rpm half of `spec.extras` and `spec.changelog`, checked with rpm itself: `--changelog`,
/// `--triggers`, `--scripts`, `--queryformat`, `-K`, and `-V` of an installed package.
final class RPMControlTagsTests: XCTestCase {
    /// Fixtures stay alive for the test: the manifest points at their files.
    private var fixtures: [Fixture] = []

    private var outputs: [TemporaryDirectory] = []

    private func write(_ spec: PackageSpec, _ manifest: FileManifest) throws -> String {
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-extras")
        outputs.append(out)
        let path = out.path + "/" + RPMWriter().fileName(for: spec)
        _ = try RPMWriter().write(spec: spec, manifest: manifest, to: path)
        return path
    }

    private func spec(_ name: String = "extras") -> PackageSpec {
        var s = PackageSpec(name: name, version: "1.2", release: "3", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        s.summary = "control tags"
        return s
    }

    private func fixture() throws -> Fixture {
        let f = try Fixture()
        fixtures.append(f)
        try f.file("/usr/share/extras/a.txt", "alpha\n")
        try f.file("/usr/bin/extras-tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try f.file("/usr/share/extras/empty", "")
        return f
    }

    func testChangelog() throws {
        var s = spec()
        s.changelog = [
            ChangelogEntry(date: 1_600_000_000, author: "John Roe <john@example.org>", version: "1.0-1", text: "Initial release"),
            ChangelogEntry(date: 1_700_000_000, author: "Jane Doe <jane@example.org>", text: "- Fixed the greeting\nAdded a flag"),
        ]
        let pkg = try write(s, try fixture().manifest())
        let log = try Tool.check(["rpm", "-qp", "--nosignature", "--changelog", pkg]).stdout
        XCTAssertEqual(log, """
            * Tue Nov 14 2023 Jane Doe <jane@example.org> - 1.2-3
            - Fixed the greeting
            - Added a flag

            * Sun Sep 13 2020 John Roe <john@example.org> - 1.0-1
            - Initial release


            """)
    }

    func testTriggersAndVerifyScript() throws {
        var s = spec()
        s.extras.rpmTriggers = [
            RPMTrigger(kind: .afterInstall, targets: [Dependency(name: "nginx", versionOperator: .greaterOrEqual, version: "1.0"),
                                                      Dependency(name: "httpd")], script: "echo \"nginx or httpd arrived $1 $2\" >> /trigger.log\n"),
            RPMTrigger(kind: .beforeUninstall, targets: [Dependency(name: "nginx")], script: "echo nginx leaving\n"),
            RPMTrigger(kind: .beforeInstall, targets: [Dependency(name: "bash")], script: "echo before bash\n"),
            RPMTrigger(kind: .afterTargetUninstall, targets: [Dependency(name: "bash")], script: "echo bash gone\n"),
        ]
        s.extras.rpmVerifyScript = "test -e /usr/share/extras/a.txt\n"
        let pkg = try write(s, try fixture().manifest())
        let triggers = try Tool.check(["rpm", "-qp", "--nosignature", "--triggers", pkg]).stdout
        for expected in ["triggerin scriptlet (using /bin/sh) -- nginx >= 1.0, httpd\necho \"nginx or httpd arrived $1 $2\" >> /trigger.log",
                         "triggerun scriptlet (using /bin/sh) -- nginx\necho nginx leaving",
                         "triggerprein scriptlet (using /bin/sh) -- bash\necho before bash",
                         "triggerpostun scriptlet (using /bin/sh) -- bash\necho bash gone"] {
            XCTAssertTrue(triggers.contains(expected), "missing \(expected) in:\n\(triggers)")
        }
        let scripts = try Tool.check(["rpm", "-qp", "--nosignature", "--scripts", pkg]).stdout
        XCTAssertTrue(scripts.contains("verify scriptlet (using /bin/sh):\ntest -e /usr/share/extras/a.txt"), scripts)
        XCTAssertTrue(try Tool.check(["rpm", "-K", "--nosignature", pkg]).stdout.contains("digests OK"))

        // rpm runs the verify script: it passes while the file is there.
        let root = try InstallRoot()
        try root.rpm(["-i", "--nodeps", pkg])
        XCTAssertEqual(try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "extras"]).status, 0)
        // Installing a target package fires the trigger with rpm's arguments (1 instance of each).
        let target = try Fixture()
        fixtures.append(target)
        try target.file("/usr/share/nginx-target/index.html", "hi\n")
        var nginx = PackageSpec(name: "nginx", version: "1.5", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        nginx.summary = "trigger target"
        try root.rpm(["-i", "--nodeps", try write(nginx, try target.manifest())])
        XCTAssertEqual(try root.read("/trigger.log"), "nginx or httpd arrived 1 1\n")
        try FileManager.default.removeItem(atPath: root.path + "/usr/share/extras/a.txt")
        XCTAssertNotEqual(try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "--nofiles", "extras"]).status, 0,
                          "the verify script fails once the file is gone")
    }

    func testFileDigestAlgorithms() throws {
        let expected: [(FileDigestAlgorithm?, Int, Int)] = [(nil, 8, 64), (.md5, 1, 32), (.sha1, 2, 40), (.sha256, 8, 64), (.sha384, 9, 96), (.sha512, 10, 128)]
        for (algorithm, number, length) in expected {
            var s = spec()
            s.extras.rpmFileDigest = algorithm
            let pkg = try write(s, try fixture().manifest())
            XCTAssertEqual(try Tool.query(pkg, "%{FILEDIGESTALGO}"), String(number))
            let digests = try Tool.query(pkg, "[%{FILEDIGESTS}\n]").split(separator: "\n")
            XCTAssertEqual(digests.count, 3)
            XCTAssertTrue(digests.allSatisfy { $0.count == length }, "\(digests)")
            let check = try Tool.check(["rpm", "-K", "--nosignature", pkg]).stdout
            XCTAssertTrue(check.contains("digests OK"), check)
            let root = try InstallRoot()
            try root.rpm(["-i", "--nodeps", pkg])
            let verify = try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "extras"])
            XCTAssertEqual(verify.status, 0, "\(String(describing: algorithm)): \(verify.text)")
            XCTAssertEqual(verify.stdout, "")
            // A changed file is caught with that algorithm.
            try "ALPHA\n".write(toFile: root.path + "/usr/share/extras/a.txt", atomically: false, encoding: .utf8)
            let changed = try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "extras"])
            XCTAssertTrue(changed.stdout.contains("5") && changed.stdout.contains("/usr/share/extras/a.txt"), changed.text)
        }
    }

    func testOSAndUserTags() throws {
        var s = spec()
        s.vendor = "Generated Vendor"
        s.extras.rpmOS = "linux"
        s.extras.rpmTags = [("Packager", "Pat Packager <pat@example.org>"), ("Distribution", "Pkglayer Linux"), ("Vendor", "Override Inc."),
                            ("group", "System/Daemons"), ("BuildHost", "builder.example.org"), ("BugURL", "https://bugs.example.org/"),
                            ("Requires(post)", "coreutils, grep >= 3"), ("Provides", "extras-api = 2"),
                            ("Summary", "an overridden summary")]
        let pkg = try write(s, try fixture().manifest())
        XCTAssertEqual(try Tool.query(pkg, "%{OS}|%{PACKAGER}|%{DISTRIBUTION}|%{VENDOR}|%{GROUP}|%{BUILDHOST}|%{BUGURL}|%{SUMMARY}"),
                       "linux|Pat Packager <pat@example.org>|Pkglayer Linux|Override Inc.|System/Daemons|builder.example.org|https://bugs.example.org/|an overridden summary")
        let requires = try Tool.check(["rpm", "-qp", "--nosignature", "--requires", pkg]).stdout
        XCTAssertTrue(requires.contains("coreutils\n") && requires.contains("grep >= 3\n"), requires)
        XCTAssertTrue(try Tool.query(pkg, "[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]").contains("coreutils post"))
        XCTAssertTrue(try Tool.check(["rpm", "-qp", "--nosignature", "--provides", pkg]).stdout.contains("extras-api = 2\n"))
        XCTAssertTrue(try Tool.check(["rpm", "-K", "--nosignature", pkg]).stdout.contains("digests OK"))

        var other = spec()
        other.extras.rpmOS = "freebsd"
        XCTAssertEqual(try Tool.query(try write(other, try fixture().manifest()), "%{OS} %{PLATFORM}"), "freebsd noarch-pc-freebsd")

        var bad = spec()
        bad.extras.rpmTags = [("Frobnicate", "yes")]
        XCTAssertThrowsError(try write(bad, try fixture().manifest())) { error in
            XCTAssertTrue("\(error)".contains("'Frobnicate'"), "\(error)")
        }
    }

    /// systemd snippets in an rpm: run by `rpm -i/-U/-e --root` (scriptlets run chrooted there) against a
    /// `systemctl` stub in the root; the guard is the root's /run/systemd/system.
    func testSystemdScriptletsWithAndWithoutSystemd() throws {
        for systemd in [true, false] {
            let root = try InstallRoot()
            try FileManager.default.createDirectory(atPath: root.path + "/usr/bin", withIntermediateDirectories: true)
            try "#!/bin/sh\necho \"systemctl $*\" >> /calls.log\n".write(toFile: root.path + "/usr/bin/systemctl", atomically: false, encoding: .utf8)
            chmod(root.path + "/usr/bin/systemctl", 0o755)
            // The snippets redirect to /dev/null, which a bare root lacks (a real system has it).
            try FileManager.default.createDirectory(atPath: root.path + "/dev", withIntermediateDirectories: true)
            if systemd { try FileManager.default.createDirectory(atPath: root.path + "/run/systemd/system", withIntermediateDirectories: true) }
            let f = try fixture()
            let unit = f.path + "/hellod.service"
            try "[Service]\nExecStart=/bin/true\n".write(toFile: unit, atomically: false, encoding: .utf8)
            var v1 = spec("hellod")
            let m1 = try ServiceIntegration.apply([ServiceUnit(kind: .systemd, source: unit)], format: .rpm, to: &v1, manifest: try f.manifest())
            var v2 = spec("hellod")
            v2.version = "2.0"
            let m2 = try ServiceIntegration.apply([ServiceUnit(kind: .systemd, source: unit)], format: .rpm, to: &v2, manifest: try f.manifest())
            let p1 = try write(v1, m1)
            let p2 = try write(v2, m2)
            func calls() -> [String] {
                ((try? root.read("/calls.log")) ?? "").split(separator: "\n").map(String.init)
            }
            try root.rpm(["-i", "--nodeps", p1])
            XCTAssertTrue(root.exists("/usr/lib/systemd/system/hellod.service"))
            try root.rpm(["-U", "--nodeps", p2])
            try root.rpm(["-e", "--nodeps", "hellod"])
            if systemd {
                XCTAssertEqual(calls(), [
                    "systemctl --system daemon-reload", "systemctl --no-reload enable hellod.service", "systemctl start hellod.service",
                    "systemctl --system daemon-reload", "systemctl restart hellod.service",
                    "systemctl --no-reload disable --now hellod.service", "systemctl --system daemon-reload",
                ])
            } else {
                XCTAssertEqual(calls(), [], "nothing runs where systemd is not running")
            }
        }
    }

    /// `--rpm-init`: the script goes to /etc/init.d as a 0755 conffile; chkconfig registers it, and
    /// `service` starts and stops it only where an init system runs.
    func testSysVInitScriptlets() throws {
        let root = try InstallRoot()
        try FileManager.default.createDirectory(atPath: root.path + "/usr/sbin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/dev", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/run/systemd/system", withIntermediateDirectories: true)
        for tool in ["chkconfig", "service"] {
            try "#!/bin/sh\necho \"\(tool) $*\" >> /calls.log\n".write(toFile: root.path + "/usr/sbin/" + tool, atomically: false, encoding: .utf8)
            chmod(root.path + "/usr/sbin/" + tool, 0o755)
        }
        let f = try fixture()
        let script = f.path + "/hellod.init"
        try "#!/bin/sh\necho init \"$@\"\n".write(toFile: script, atomically: false, encoding: .utf8)
        var s = spec("hellod")
        let manifest = try ServiceIntegration.apply([ServiceUnit(kind: .sysvInit, source: script)], format: .rpm, to: &s, manifest: try f.manifest())
        let pkg = try write(s, manifest)
        XCTAssertEqual(try Tool.query(pkg, "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms}\n]").split(separator: "\n").first { $0.hasPrefix("/etc/init.d/") },
                       "/etc/init.d/hellod cn -rwxr-xr-x")
        try root.rpm(["-i", "--nodeps", pkg])
        try root.rpm(["-e", "--nodeps", "hellod"])
        XCTAssertEqual(try root.read("/calls.log").split(separator: "\n"), [
            "chkconfig --add hellod", "service hellod start", "service hellod stop", "chkconfig --del hellod",
        ])
    }
}
