import Foundation
import PkgLayerTestSupport
import XCTest

/// fpm's `--rpm-*` and `--deb-*` options for the control area, checked with rpm and dpkg-deb.
final class FpmFormatOptionsTests: XCTestCase {
    func testRPMOptionsReachTheHeader() throws {
        try requireTool("rpm")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        _ = try scratch.write("root/opt/app/lib/data", "x\n", mode: 0o600)
        _ = try scratch.write("cl", "* Tue Nov 14 2023 Jane Doe <jane@example.org> - 1.0-1\n- First change\n- Second change\n")
        _ = try scratch.write("verify.sh", "#!/bin/sh\necho verifying\n")
        _ = try scratch.write("trigger.sh", "#!/bin/sh\necho triggered\n")
        _ = try scratch.write("app.init", "#!/bin/sh\necho init\n")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", "app", "-v", "1.0", "--iteration", "1", "--rpm-dist", "el7", "-C", root,
                    "--rpm-changelog", "cl", "--rpm-verifyscript", "verify.sh", "--rpm-trigger-after-install", "bash, coreutils >= 8: trigger.sh",
                    "--rpm-digest", "md5", "--rpm-os", "linux", "--rpm-tag", "Packager: App Team <team@example.org>",
                    "--rpm-defattrfile", "0644", "--rpm-auto-add-directories", "--rpm-auto-add-exclude-directories", "/opt/app/lib",
                    "--rpm-init", "app.init", "--source-date-epoch-from-changelog", "."],
                   in: scratch.path)
        let rpm = scratch.path("app-1.0-1.el7.x86_64.rpm")
        let q = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{RELEASE}|%{FILEDIGESTALGO}|%{OS}|%{PACKAGER}|%{BUILDTIME}", rpm]).stdoutText
        XCTAssertEqual(q, "1.el7|1|linux|App Team <team@example.org>|1699920000")  // the changelog entry's day
        let changelog = try TestProcess.runChecked("rpm", ["-qp", "--changelog", rpm]).stdoutText
        XCTAssertTrue(changelog.contains("Jane Doe <jane@example.org> - 1.0-1") && changelog.contains("- Second change"), changelog)
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", rpm]).stdoutText
        XCTAssertTrue(scripts.contains("verify scriptlet") && scripts.contains("echo verifying"), scripts)
        let triggers = try TestProcess.runChecked("rpm", ["-qp", "--triggers", rpm]).stdoutText
        XCTAssertTrue(triggers.contains("triggerin scriptlet") && triggers.contains("bash, coreutils >= 8") && triggers.contains("echo triggered"), triggers)
        let files = try TestProcess.runChecked("rpm", ["-qplv", rpm]).stdoutText
        XCTAssertTrue(files.contains("-rw-r--r--") && files.contains("/opt/app/lib/data"), files)
        XCTAssertTrue(files.contains(" /opt/app\n") || files.hasSuffix(" /opt/app"), "auto-added directory: \(files)")
        XCTAssertFalse(files.contains(" /opt/app/lib\n"), "excluded directory: \(files)")
        XCTAssertTrue(files.contains("/etc/init.d/app"), files)
    }

    func testDebOptionsReachTheControlArea() throws {
        try requireTool("dpkg-deb", "tar")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        _ = try scratch.write("root/usr/bin/app", "#!/bin/sh\n", mode: 0o755)
        _ = try scratch.write("config.sh", "#!/bin/sh\necho config\n")
        _ = try scratch.write("templates", "Template: app/q\nType: boolean\nDefault: true\nDescription: Q?\n")
        _ = try scratch.write("purge.sh", "#!/bin/sh\necho purging\n")
        _ = try scratch.write("debian.changelog", "app (1.0-1) stable; urgency=medium\n\n  * First\n\n -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n")
        _ = try scratch.write("upstream.changelog", "1.0: first\n")
        _ = try scratch.write("app.service", "[Service]\nExecStart=/usr/bin/app\n")
        _ = try scratch.write("app.default", "OPTS=\n")
        _ = try scratch.write("extra/app-extra", "meta\n")
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "--iteration", "1", "-a", "amd64", "-C", root, "-p", out + "/",
                    "--deb-field", "X-App: yes", "--deb-build-depends", "make (>= 4), gcc", "--deb-installed-size", "42",
                    "--deb-config", "config.sh", "--deb-templates", "templates", "--deb-shlibs", "libapp 1 app", "--deb-interest", "app-trigger",
                    "--deb-activate-noawait", "ldconfig", "--deb-after-purge", "purge.sh", "--deb-changelog", "debian.changelog",
                    "--deb-upstream-changelog", "upstream.changelog", "--deb-systemd", "app.service", "--deb-systemd-enable",
                    "--deb-systemd-auto-start", "--deb-default", "app.default", "--deb-generate-changes", "--deb-dist", "stable",
                    "--deb-meta-file", "extra/app-extra", "--deb-maintainerscripts-force-errorchecks", "."],
                   in: scratch.path, environment: fixedEpoch)
        let deb = out + "/app_1.0-1_amd64.deb"
        func field(_ name: String) throws -> String { try TestProcess.runChecked("dpkg-deb", ["-f", deb, name]).stdoutText }
        XCTAssertEqual(try field("X-App"), "yes\n")
        XCTAssertEqual(try field("Build-Depends"), "make (>= 4), gcc\n")
        XCTAssertEqual(try field("Installed-Size"), "42\n")
        let control = try TestProcess.runChecked("/bin/sh", ["-c", "dpkg-deb --ctrl-tarfile '\(deb)' | tar t"]).stdoutText
        for member in ["./config", "./templates", "./shlibs", "./triggers", "./postinst", "./postrm", "./app-extra"] {
            XCTAssertTrue(control.split(separator: "\n").contains(Substring(member)), "\(member) in \(control)")
        }
        let ctrl = try scratch.makeDirectory("ctrl")
        try TestProcess.runChecked("dpkg-deb", ["-e", deb, ctrl])
        let triggers = try String(contentsOfFile: ctrl + "/triggers", encoding: .utf8)
        XCTAssertEqual(triggers, "interest app-trigger\nactivate-noawait ldconfig\n")
        let postrm = try String(contentsOfFile: ctrl + "/postrm", encoding: .utf8)
        XCTAssertTrue(postrm.contains("echo purging") && postrm.contains("set -e"), postrm)
        let postinst = try String(contentsOfFile: ctrl + "/postinst", encoding: .utf8)
        XCTAssertTrue(postinst.contains("deb-systemd-invoke start 'app.service'") && postinst.contains("[ -d /run/systemd/system ]"), postinst)
        let data = try TestProcess.runChecked("dpkg-deb", ["-c", deb]).stdoutText
        for path in ["./lib/systemd/system/app.service", "./etc/default/app", "./usr/share/doc/app/changelog.Debian.gz", "./usr/share/doc/app/changelog.gz"] {
            XCTAssertTrue(data.contains(path), "\(path) in \(data)")
        }
        XCTAssertEqual(try String(contentsOfFile: ctrl + "/conffiles", encoding: .utf8), "/etc/default/app\n")
        let changes = try String(contentsOfFile: out + "/app_1.0-1_amd64.changes", encoding: .utf8)
        XCTAssertTrue(changes.contains("Distribution: stable") && changes.contains("app_1.0-1_amd64.deb"), changes)
    }

    /// The seeds' kind of package with a systemd unit, installed, removed and purged by dpkg itself
    /// (`--root`, scripts chrootless): the user's scripts run, and the systemd snippets do nothing
    /// where systemd is not running (stubs on PATH record any call).
    func testDebWithSystemdUnitInstallsAndPurgesWithDpkg() throws {
        try requireTool("dpkg", "dpkg-deb")
        guard !FileManager.default.fileExists(atPath: "/run/systemd/system") else {
            throw XCTSkip("systemd runs on this host: the snippets would talk to it")
        }
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("tree")
        _ = try scratch.write("tree/usr/sbin/svc", "#!/bin/sh\n", mode: 0o755)
        _ = try scratch.write("svc.service", "[Service]\nExecStart=/usr/sbin/svc\n")
        let log = scratch.path("calls.log")
        _ = try scratch.write("post.sh", "#!/bin/sh\necho \"after-install $1\" >> \(log)\n")
        _ = try scratch.write("purge.sh", "#!/bin/sh\necho purged >> \(log)\n")
        for tool in ["systemctl", "deb-systemd-helper", "deb-systemd-invoke"] {
            _ = try scratch.write("bin/\(tool)", "#!/bin/sh\necho \"\(tool) $*\" >> \(log)\n", mode: 0o755)
        }
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "svc", "-v", "1.0", "--iteration", "1.el7", "--epoch", "0", "-a", "amd64", "-C", root,
                    "-p", out + "/", "--deb-systemd", "svc.service", "--deb-systemd-enable", "--deb-systemd-auto-start",
                    "--after-install", "post.sh", "--deb-after-purge", "purge.sh", "usr"], in: scratch.path, environment: fixedEpoch)
        let dpkgRoot = try BuildFixtures.dpkgRoot(in: scratch)
        let env = ["PATH": scratch.path("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        func dpkg(_ args: [String]) throws {
            let r = try TestProcess.run("dpkg", ["--root=\(dpkgRoot)", "--force-not-root", "--force-script-chrootless", "--no-debsig",
                                                 "--log=\(dpkgRoot)/dpkg.log"] + args, environment: env)
            XCTAssertEqual(r.status, 0, "dpkg \(args): \(r.stderrText)")
        }
        try dpkg(["-i", out + "/svc_1.0-1.el7_amd64.deb"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dpkgRoot + "/lib/systemd/system/svc.service"))
        try dpkg(["--purge", "svc"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dpkgRoot + "/lib/systemd/system/svc.service"))
        let calls = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(calls, "after-install configure\npurged\n", "no systemd call where systemd is not running")
    }
}
