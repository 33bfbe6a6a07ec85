import Foundation
import PkgLayerTestSupport
import XCTest

/// fpm's input options: script templates, options files, `--exclude-file`, `--inputs`, and the
/// `empty`, `zip` and unsupported source types.
final class FpmInputOptionsTests: XCTestCase {
    func testTemplateScriptsRenderPerFormatAndRefuseWhatTheyCannot() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        _ = try scratch.write("root/usr/share/t/file", "x\n")
        _ = try scratch.write("post.sh", "#!/bin/sh\necho <%= name %> <%= @version %>-<%= iteration %> <%= architecture %> port=<%= port -%>\necho done\n")
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "tpl", "-v", "2.0", "--iteration", "5", "-a", "x86_64", "-C", root,
                    "-p", out + "/", "--after-install", "post.sh", "--template-value", "port=8080", "."], in: scratch.path, environment: fixedEpoch)
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", out + "/tpl-2.0-5.x86_64.rpm"]).stdoutText
        XCTAssertTrue(scripts.contains("echo tpl 2.0-5 x86_64 port=8080echo done"), scripts)
        let ctrl = try scratch.makeDirectory("ctrl")
        try TestProcess.runChecked("dpkg-deb", ["-e", out + "/tpl_2.0-5_amd64.deb", ctrl])
        XCTAssertTrue(try String(contentsOfFile: ctrl + "/postinst", encoding: .utf8).contains("echo tpl 2.0-5 amd64 port=8080"))

        _ = try scratch.write("bad.sh", "#!/bin/sh\n<% if @name %>echo <%= name %><% end %>\n")
        let bad = try CLI.run(["package", "-s", "dir", "-t", "rpm", "-n", "bad", "-v", "1", "-C", root, "-p", out + "/",
                               "--template-scripts", "--before-install", "bad.sh", "."], in: scratch.path, environment: fixedEpoch)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderrText.contains("<% if @name %>") && bad.stderrText.contains("bad.sh"), bad.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/bad-1-1.x86_64.rpm"))
    }

    func testOptionsFileExcludeFileAndInputs() throws {
        try requireTool("rpm")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        _ = try scratch.write("root/usr/bin/tool", "#!/bin/sh\n", mode: 0o755)
        _ = try scratch.write("root/usr/bin/tool.bak", "old\n")
        _ = try scratch.write("root/etc/tool.conf", "a\n")
        _ = try scratch.write("root/var/junk", "junk\n")
        _ = try scratch.write("inputs.txt", "usr\n\netc\n")
        _ = try scratch.write("excludes.txt", "*.bak\n")
        _ = try scratch.write("common.opts", """
        # shared settings
        --license 'GPL-2.0 or later'   --vendor "Tool Co"  # trailing comment
        -d 'libfoo >= 1, libbar'
        --fpm-options-file more.opts

        """)
        _ = try scratch.write("more.opts", "--url https://tool.example.org\n")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", "tool", "-v", "1", "-C", root, "--fpm-options-file", "common.opts",
                    "--inputs", "inputs.txt", "--exclude-file", "excludes.txt"], in: scratch.path, environment: fixedEpoch)
        let rpm = scratch.path("tool-1-1.x86_64.rpm")
        XCTAssertEqual(try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{LICENSE}|%{VENDOR}|%{URL}", rpm]).stdoutText,
                       "GPL-2.0 or later|Tool Co|https://tool.example.org")
        let requires = try TestProcess.runChecked("rpm", ["-qpR", rpm]).stdoutText
        XCTAssertTrue(requires.contains("libfoo >= 1\n") && requires.contains("libbar\n"), requires)
        let files = try TestProcess.runChecked("rpm", ["-qpl", rpm]).stdoutText
        XCTAssertEqual(files, "/etc/tool.conf\n/usr/bin/tool\n")

        _ = try scratch.write("loop.opts", "--fpm-options-file loop.opts\n")
        let loop = try CLI.run(["package", "-s", "dir", "-t", "rpm", "-n", "x", "-C", root, "--fpm-options-file", "loop.opts", "."], in: scratch.path)
        XCTAssertNotEqual(loop.status, 0)
        XCTAssertTrue(loop.stderrText.contains("already read"), loop.stderrText)
    }

    func testEmptyZipAndUnsupportedSources() throws {
        try requireTool("rpm", "dpkg-deb", "python3")
        let scratch = try ScratchDirectory()
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "empty", "-t", "rpm", "-t", "deb", "-n", "meta", "-v", "1", "-d", "curl, bash (>= 5)", "-p", out + "/"],
                   environment: fixedEpoch)
        XCTAssertEqual(try TestProcess.runChecked("rpm", ["-qpl", out + "/meta-1-1.noarch.rpm"]).stdoutText, "(contains no files)\n")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", out + "/meta_1_all.deb", "Depends"]).stdoutText, "curl, bash (>= 5)\n")
        let debFiles = try TestProcess.runChecked("dpkg-deb", ["-c", out + "/meta_1_all.deb"]).stdoutText
        XCTAssertFalse(debFiles.contains("./usr"), debFiles)

        let zip = scratch.path("site.zip")
        try TestProcess.runChecked("python3", ["-c", """
        import sys, zipfile
        with zipfile.ZipFile(sys.argv[1], 'w') as z:
            z.writestr('index.html', '<h1>hi</h1>')
            z.writestr('css/site.css', 'body{}')
        """, zip])
        try CLI.ok(["package", "-s", "zip", "-t", "deb", "-n", "site", "-v", "3", "-a", "all", "--prefix", "/srv/www", "-p", out + "/", zip],
                   environment: fixedEpoch)
        let site = try TestProcess.runChecked("dpkg-deb", ["-c", out + "/site_3_all.deb"]).stdoutText
        XCTAssertTrue(site.contains("./srv/www/index.html") && site.contains("./srv/www/css/site.css"), site)

        for type in ["gem", "npm", "cpan", "pear"] {
            let r = try CLI.run(["package", "-s", type, "-t", "rpm", "thing"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderrText.contains("-s \(type) is not supported"), r.stderrText)
        }
    }

    func testOwnershipConffilesSuffixAndUnusedFormatOptions() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        let file = try scratch.write("root/usr/share/own/file", "x\n")
        XCTAssertEqual(chown(file, 1234, 2345), 0)
        _ = try scratch.write("own.init", "#!/bin/sh\n")
        let out = try scratch.makeDirectory("out")
        let run = try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "own", "-S", "extra", "-v", "1", "-a", "amd64", "-C", root,
                              "-p", out + "/", "--rpm-use-file-permissions", "--deb-init", "own.init", "--no-deb-auto-config-files", "."],
                             in: scratch.path, environment: fixedEpoch)
        XCTAssertFalse(run.stderrText.contains("warning"), run.stderrText)
        let rpmFiles = try TestProcess.runChecked("rpm", ["-qplv", out + "/own-extra-1-1.x86_64.rpm"]).stdoutText
        XCTAssertTrue(rpmFiles.contains("1234") && rpmFiles.contains("2345"), rpmFiles)
        let debFiles = try TestProcess.runChecked("dpkg-deb", ["-c", out + "/own-extra_1_amd64.deb"]).stdoutText
        XCTAssertTrue(debFiles.contains("root/root") && !debFiles.contains("1234"), debFiles)
        XCTAssertTrue(debFiles.contains("-rwxr-xr-x root/root") && debFiles.contains("./etc/init.d/own"), debFiles)
        let control = try TestProcess.runChecked("/bin/sh", ["-c", "dpkg-deb --ctrl-tarfile '\(out)/own-extra_1_amd64.deb' | tar t"]).stdoutText
        XCTAssertFalse(control.contains("conffiles"), "--no-deb-auto-config-files: \(control)")

        let rpmOnly = try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "own", "-v", "1", "-C", root, "-p", out + "/", "-f",
                                  "--rpm-dist", "el7", "--rpm-tag", "Packager: x", "."], environment: fixedEpoch)
        let warnings = rpmOnly.stderrText.split(separator: "\n").filter { $0.contains("--rpm-dist") }
        XCTAssertEqual(warnings.count, 1, rpmOnly.stderrText)
        XCTAssertTrue(warnings[0].contains("--rpm-tag") && warnings[0].contains("no effect"), rpmOnly.stderrText)
    }
}
