import Foundation
import PkgLayerTestSupport
import XCTest

/// The seeds' fpm command lines (php, nginx, supervisor), run unchanged as `pkglayer package`:
/// epoch 0, `.el7` iterations, before/after scripts, `--workdir`, `etc usr` inputs, and the php line's
/// sixteen requirements in one `-d`.
final class FpmSeedCommandLinesTests: XCTestCase {
    static let phpDepends = "libjpeg libpng freetype libxml2 zlib glibc glib2 bzip2 curl e2fsprogs openssl make  cmake libmcrypt readline libxslt"

    /// A staged install tree with `etc` and `usr`, the scripts, and a work directory.
    private func stage(_ scratch: ScratchDirectory, _ name: String) throws -> String {
        let dir = try scratch.makeDirectory("\(name)-root")
        _ = try scratch.write("\(name)-root/etc/\(name)/\(name).conf", "# \(name)\n")
        _ = try scratch.write("\(name)-root/usr/sbin/\(name)", "#!/bin/sh\necho \(name)\n", mode: 0o755)
        _ = try scratch.write("\(name)-root/usr/share/doc/\(name)/README", "\(name)\n")
        _ = try scratch.write("pre.sh", "#!/bin/sh\ngetent group web >/dev/null || true\n")
        _ = try scratch.write("post.sh", "#!/bin/sh\necho installed\n")
        _ = try scratch.write("preun.sh", "#!/bin/sh\necho removing\n")
        _ = try scratch.write("postun.sh", "#!/bin/sh\necho removed\n")
        _ = try scratch.makeDirectory("W")
        return dir
    }

    /// The requirements the command line asked for: not rpm's own `rpmlib(…)` nor the `config(NAME)`
    /// that every package with config files requires of itself (as rpmbuild writes it).
    private func requires(_ rpm: String) throws -> [String] {
        try TestProcess.runChecked("rpm", ["-qpR", rpm]).stdoutText.split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("rpmlib(") && !$0.hasPrefix("config(") }
    }

    func testPhpLineListsSixteenSeparateRequirements() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let dir = try stage(scratch, "php")
        for target in ["rpm", "deb"] {
            try CLI.ok(["package", "-f", "-s", "dir", "-t", target, "-n", "php", "--epoch", "0", "-v", "7.1.8", "--iteration", "3.el7", "-C", dir,
                        "-d", Self.phpDepends, "--before-install", "pre.sh", "--after-install", "post.sh", "--workdir", "W", "etc", "usr"],
                       in: scratch.path, environment: fixedEpoch)
        }
        let rpm = scratch.path("php-7.1.8-3.el7.x86_64.rpm")
        let names = Self.phpDepends.split(separator: " ").map(String.init)
        XCTAssertEqual(try requires(rpm).filter { !$0.hasPrefix("/bin/sh") }.sorted(), names.sorted())
        XCTAssertEqual(names.count, 16)
        XCTAssertEqual(try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}", rpm]).stdoutText, "0:7.1.8-3.el7")
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", rpm]).stdoutText
        XCTAssertTrue(scripts.contains("getent group web") && scripts.contains("echo installed"), scripts)
        let files = try TestProcess.runChecked("rpm", ["-qpl", rpm]).stdoutText
        XCTAssertTrue(files.contains("/etc/php/php.conf") && files.contains("/usr/sbin/php"), files)

        let deb = scratch.path("php_7.1.8-3.el7_amd64.deb")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText, names.joined(separator: ", ") + "\n")
        // Debian writes no epoch 0 (dpkg reads 7.1.8-3.el7 and 0:7.1.8-3.el7 as the same version).
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Version"]).stdoutText, "7.1.8-3.el7\n")
    }

    func testNginxAndSupervisorLines() throws {
        try requireTool("rpm")
        let scratch = try ScratchDirectory()
        let nginx = try stage(scratch, "nginx")
        try CLI.ok(["package", "-f", "-s", "dir", "-t", "rpm", "-n", "nginx", "--epoch", "0", "-v", "1.12.2", "--iteration", "1.el7", "-C", nginx,
                    "-d", "openssl pcre zlib", "--before-install", "pre.sh", "--after-install", "post.sh",
                    "--before-remove", "preun.sh", "--after-remove", "postun.sh", "--workdir", "W", "etc", "usr"],
                   in: scratch.path, environment: fixedEpoch)
        let nginxRPM = scratch.path("nginx-1.12.2-1.el7.x86_64.rpm")
        XCTAssertEqual(try requires(nginxRPM).filter { !$0.hasPrefix("/bin/sh") }.sorted(), ["openssl", "pcre", "zlib"])
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", nginxRPM]).stdoutText
        for text in ["echo installed", "echo removing", "echo removed"] { XCTAssertTrue(scripts.contains(text), scripts) }

        let supervisor = try stage(scratch, "supervisor")
        try CLI.ok(["package", "-f", "-s", "dir", "-t", "rpm", "-n", "supervisor", "--epoch", "0", "-v", "3.3.4", "--iteration", "2.el7",
                    "-C", supervisor, "-d", "python >= 2.7, python-setuptools", "-d", "python-meld3",
                    "--config-files", "/etc/supervisor/supervisor.conf", "--before-install", "pre.sh", "--after-install", "post.sh",
                    "--workdir", "W", "etc", "usr"],
                   in: scratch.path, environment: fixedEpoch)
        let supervisorRPM = scratch.path("supervisor-3.3.4-2.el7.x86_64.rpm")
        XCTAssertEqual(try requires(supervisorRPM).filter { !$0.hasPrefix("/bin/sh") }.sorted(), ["python >= 2.7", "python-meld3", "python-setuptools"])
        XCTAssertEqual(try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}", supervisorRPM]).stdoutText, "0:3.3.4-2.el7")
        XCTAssertEqual(try TestProcess.runChecked("rpm", ["-qpc", supervisorRPM]).stdoutText, "/etc/supervisor/supervisor.conf\n")
        // --workdir holds nothing once the run is over.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path("W")), [])
    }
}
