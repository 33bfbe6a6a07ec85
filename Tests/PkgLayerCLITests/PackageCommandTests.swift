import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer package` end to end, checked by rpm, dpkg and tar themselves.
final class PackageCommandTests: XCTestCase {
    func testDirToRpmAndDebFromOneRun() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "demo", "-v", "1.2.3", "--iteration", "4",
                    "-a", "x86_64", "-m", "Demo <demo@example.org>", "--license", "MIT", "--vendor", "Demo Inc",
                    "--url", "https://example.org", "--description", "Demo package\nLonger text.",
                    "-d", "libc6 >= 2.31", "-d", "zlib1g (<< 2)", "--provides", "democli", "--conflicts", "olddemo",
                    "-C", root, "-p", out + "/", "."], environment: fixedEpoch)
        let rpm = out + "/demo-1.2.3-4.x86_64.rpm"
        let deb = out + "/demo_1.2.3-4_amd64.deb"
        XCTAssertTrue(FileManager.default.fileExists(atPath: rpm))
        XCTAssertTrue(FileManager.default.fileExists(atPath: deb))

        let k = try TestProcess.runChecked("rpm", ["-K", rpm])
        XCTAssertTrue(k.stdoutText.contains("digests") && k.stdoutText.hasSuffix("OK\n"), k.stdoutText)
        let q = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{VENDOR}|%{URL}|%{PACKAGER}|%{SUMMARY}|%{BUILDTIME}", rpm])
        XCTAssertEqual(q.stdoutText, "demo|1.2.3|4|x86_64|MIT|Demo Inc|https://example.org|Demo <demo@example.org>|Demo package|1700000000")
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText
        XCTAssertTrue(requires.contains("libc6 >= 2.31"), requires)
        XCTAssertTrue(requires.contains("zlib1g < 2"), requires)

        let depends = try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText
        XCTAssertEqual(depends, "libc6 (>= 2.31), zlib1g (<< 2)\n")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Version"]).stdoutText, "1.2.3-4\n")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Architecture"]).stdoutText, "amd64\n")

        // Both formats carry the same files with the same modes.
        let debList = try TestProcess.runChecked("dpkg-deb", ["-c", deb]).stdoutText
        XCTAssertTrue(debList.contains("-rwsr-xr-x root/root") && debList.contains("./usr/libexec/demo/helper"), debList)
        XCTAssertTrue(debList.contains("./usr/bin/demo-link -> demo"), debList)
        XCTAssertTrue(debList.contains("./usr/bin/demo-hard link to ./usr/bin/demo"), debList)
        let rpmList = try TestProcess.runChecked("rpm", ["-qplv", rpm]).stdoutText
        XCTAssertTrue(rpmList.contains("-rwsr-xr-x") && rpmList.contains("/usr/libexec/demo/helper"), rpmList)
        let conf = try TestProcess.runChecked("rpm", ["-qpc", rpm]).stdoutText
        XCTAssertEqual(conf, "/etc/demo/demo.conf\n")
    }

    func testRpmToDebConversionInstallsWithDpkg() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let log = scratch.path("hook.log")
        _ = try scratch.write("postinst.sh", "echo \"after-install $1\" >> \(log)\n")
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", "conv", "-v", "2.0", "-a", "amd64",
                    "-d", "bash (>> 4)", "--after-install", scratch.path("postinst.sh"), "-C", root, "-p", out + "/", "."],
                   environment: fixedEpoch)
        let rpm = out + "/conv-2.0-1.x86_64.rpm"
        try CLI.ok(["package", "-s", "rpm", "-t", "deb", "-p", out + "/", rpm], environment: fixedEpoch)
        let deb = out + "/conv_2.0-1_amd64.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText, "bash (>> 4)\n")
        let debList = try TestProcess.runChecked("dpkg-deb", ["-c", deb]).stdoutText
        XCTAssertTrue(debList.contains("./usr/libexec/demo/helper"), debList)
        XCTAssertTrue(debList.contains("./usr/bin/demo-hard link to ./usr/bin/demo"), debList)

        let dpkgRoot = try scratch.makeDirectory("dpkgroot")
        for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] { _ = try scratch.makeDirectory("dpkgroot/" + dir) }
        _ = try scratch.write("dpkgroot/var/lib/dpkg/status", "")
        try TestProcess.runChecked("dpkg", ["--root=\(dpkgRoot)", "--force-script-chrootless", "--force-not-root",
                                            "--force-depends", "-i", deb])
        var st = stat()
        XCTAssertEqual(lstat(dpkgRoot + "/usr/libexec/demo/helper", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o4755)
        let logText = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(logText, "after-install configure\n", "the rpm's after-install hook survives conversion as the deb's")
    }

    func testDebToRpmConversionInstallsWithRpm() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "back", "-v", "3.1", "--epoch", "2", "-a", "arm64",
                    "-d", "libfoo (>= 1.0) | libbar", "-C", root, "-p", out + "/", "."], environment: fixedEpoch)
        let deb = out + "/back_3.1_arm64.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Version"]).stdoutText, "2:3.1\n")
        try CLI.ok(["package", "-s", "deb", "-t", "rpm", "--iteration", "7", "-p", out + "/NAME-FULLVERSION.ARCH.TYPE", deb],
                   environment: fixedEpoch)
        let rpm = out + "/back-2:3.1-7.aarch64.rpm"
        let listing = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: rpm), listing.description)
        let q = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}.%{ARCH}", rpm]).stdoutText
        XCTAssertEqual(q, "2:3.1-7.aarch64")
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText
        XCTAssertTrue(requires.contains("(libfoo >= 1.0 or libbar)"), requires)
        let rpmList = try TestProcess.runChecked("rpm", ["-qplv", rpm]).stdoutText
        XCTAssertTrue(rpmList.contains("/usr/share/doc/demo/READ ME ünï.txt"), rpmList)
    }

    func testTarSourceWithPrefix() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.write("site/index.html", "<h1>hi</h1>\n", mode: 0o644)
        _ = try scratch.write("site/css/a.css", "body{}\n", mode: 0o644)
        try TestProcess.runChecked("tar", ["-czf", scratch.path("site.tar.gz"), "-C", scratch.path("site"), "."])
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "tar", "-t", "rpm", "-n", "site", "-v", "1", "-a", "noarch", "--prefix", "/srv/www",
                    "-p", out + "/", scratch.path("site.tar.gz")], environment: fixedEpoch)
        let list = try TestProcess.runChecked("rpm", ["-qpl", out + "/site-1-1.noarch.rpm"]).stdoutText
        XCTAssertEqual(list, "/srv/www\n/srv/www/css\n/srv/www/css/a.css\n/srv/www/index.html\n")
    }

    func testOwnersAndAttributesPerFormat() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm,deb", "-n", "own", "-v", "1", "-a", "x86_64",
                    "--rpm-user", "daemon", "--rpm-group", "daemon", "--deb-user", "bin", "--deb-group", "bin",
                    "--rpm-attr", "0700,root,-:/usr/bin/demo", "-C", root, "-p", out + "/", "."], environment: fixedEpoch)
        let rpmList = try TestProcess.runChecked("rpm", ["-qplv", out + "/own-1-1.x86_64.rpm"]).stdoutText
        let demoLine = rpmList.split(separator: "\n").first { $0.hasSuffix(" /usr/bin/demo") } ?? ""
        XCTAssertTrue(demoLine.hasPrefix("-rwx------") && demoLine.contains("root") && demoLine.contains("daemon"), String(demoLine))
        let helperLine = rpmList.split(separator: "\n").first { $0.hasSuffix("/usr/libexec/demo/helper") } ?? ""
        XCTAssertTrue(helperLine.contains("daemon   daemon") || helperLine.contains("daemon daemon"), String(helperLine))
        let debList = try TestProcess.runChecked("dpkg-deb", ["-c", out + "/own_1_amd64.deb"]).stdoutText
        XCTAssertTrue(debList.contains("bin/bin") && debList.contains("./usr/bin/demo\n"), debList)
        XCTAssertTrue(debList.contains("-rwxr-xr-x bin/bin"), "--rpm-attr must not touch the deb:\n\(debList)")
    }

    func testJSONOutputListsDigests() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let out = try scratch.makeDirectory("out")
        let result = try CLI.ok(["package", "--json", "-t", "deb", "-n", "js", "-v", "1", "-a", "all", "-C", root,
                                 "-p", out + "/", "."], environment: fixedEpoch)
        let parsed = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]
        let entry = try XCTUnwrap(parsed?.first)
        XCTAssertEqual(entry["format"] as? String, "deb")
        let path = entry["path"] as? String ?? ""
        let sum = try TestProcess.runChecked("sha256sum", [path]).stdoutText.prefix(64)
        XCTAssertEqual(entry["sha256"] as? String, String(sum))
        // One JSON style (issue 22): the size is a number, equal to the file's; paths are not escaped.
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        XCTAssertEqual(entry["size"] as? Int, size)
        XCTAssertFalse(result.stdoutText.contains("\\/"), result.stdoutText)
    }
}
