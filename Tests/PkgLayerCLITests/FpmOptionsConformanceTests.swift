import Foundation
import PkgLayerTestSupport
import XCTest

/// fpm's whole option list (copied as data from fpm's sources into Fixtures/fpm-options.txt) against
/// `pkglayer package`: every option, long and short, is accepted with a valid argument and the run
/// writes its packages; the options that cannot mean anything here say so in one warning each.
final class FpmOptionsConformanceTests: XCTestCase {
    struct FpmOption { var long: String; var takesValue: Bool; var short: String? }

    static var fixture: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fpm-options.txt").path
    }

    static func options() throws -> (commit: String, options: [FpmOption]) {
        let text = try String(contentsOfFile: fixture, encoding: .utf8)
        var commit = ""
        var options: [FpmOption] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                if let r = line.range(of: "commit ") { commit = String(line[r.upperBound...].prefix(40)) }
                continue
            }
            let words = line.split(separator: " ").map(String.init)
            options.append(FpmOption(long: words[0], takesValue: words[1] == "value", short: words.count > 2 ? words[2] : nil))
        }
        return (commit, options)
    }

    /// Accepted for fpm's sake, with no effect here: each must warn, naming itself.
    static let noEffect: Set<String> = ["--rpm-rpmbuild-define", "--rpm-macro-expansion", "--rpm-verbatim-gem-dependencies",
                                        "--rpm-old-perl-dependency-name", "--edit", "--deb-dist"]

    func testTheFixtureIsFpmsWholeList() throws {
        let (commit, options) = try Self.options()
        XCTAssertEqual(commit.count, 40, "the fixture names the fpm commit it was copied from")
        XCTAssertEqual(options.count, 142)
        XCTAssertEqual(Set(options.map(\.long)).count, options.count)
        for needed in ["--deb-systemd", "--rpm-changelog", "--fpm-options-file", "--rpm-trigger-after-target-uninstall", "--no-deb-auto-config-files"] {
            XCTAssertTrue(options.contains { $0.long == needed }, needed)
        }
    }

    func testEveryFpmOptionIsAccepted() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("root")
        _ = try scratch.write("root/usr/bin/conf", "#!/bin/sh\necho conf\n", mode: 0o755)
        _ = try scratch.write("root/etc/conf/conf.ini", "a=1\n")
        _ = try scratch.write("root/usr/share/conf/data.bak", "old\n")
        let script = try scratch.write("script.sh", "#!/bin/sh\necho <%= name %> <%= k %>\n")
        let plainScript = try scratch.write("plain.sh", "#!/bin/sh\necho ok\n")
        let unit = try scratch.write("conf.service", "[Service]\nExecStart=/usr/bin/conf\n")
        let initScript = try scratch.write("conf.init", "#!/bin/sh\necho init\n")
        let defaults = try scratch.write("conf.default", "OPTS=\n")
        let upstart = try scratch.write("conf.upstart", "exec /usr/bin/conf\n")
        let rpmChangelog = try scratch.write("rpm.changelog", "* Tue Nov 14 2023 Jane Doe <jane@example.org> - 1.0-1\n- First\n")
        let debChangelog = try scratch.write("deb.changelog",
                                             "conf (1.0) unstable; urgency=medium\n\n  * First\n\n -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n")
        let control = try scratch.write("control", "Package: conf\nVersion: 1.0\nArchitecture: all\nMaintainer: Jane <jane@example.org>\nDescription: custom\n")
        let templates = try scratch.write("templates", "Template: conf/question\nType: boolean\nDefault: true\nDescription: Question?\n")
        let excludeFile = try scratch.write("excludes", "*.bak\n")
        let inputsFile = try scratch.write("inputs", "usr\netc\n")
        let optionsFile = try scratch.write("options", "# fpm options\n--license MIT   # a comment\n--vendor 'Conf Inc'\n")
        let meta = try scratch.write("meta/conf-extra", "extra\n")
        let workdir = try scratch.makeDirectory("work")

        let samples: [String: String] = [
            "--output-type": "deb", "--input-type": "dir", "--chdir": root, "--prefix": "/opt/conf", "--package": "OUT",
            "--name": "conf", "--log": "info", "--version": "1.0", "--iteration": "3.el7", "--epoch": "0", "--license": "MIT",
            "--vendor": "Conf Inc", "--category": "utils", "--depends": "libfoo >= 1, libbar", "--provides": "conf-virtual",
            "--conflicts": "oldconf", "--replaces": "oldconf", "--config-files": "/etc/conf/conf.ini", "--directories": "/usr/share/conf",
            "--architecture": "x86_64", "--maintainer": "Jane <jane@example.org>", "--package-name-suffix": "extra", "--exclude": "*.bak",
            "--exclude-file": excludeFile, "--description": "Line one\\nline two", "--url": "https://example.org", "--inputs": inputsFile,
            "--post-install": plainScript, "--pre-install": plainScript, "--post-uninstall": plainScript, "--pre-uninstall": plainScript,
            "--after-install": plainScript, "--before-install": plainScript, "--after-remove": plainScript, "--before-remove": plainScript,
            "--after-upgrade": plainScript, "--before-upgrade": plainScript, "--template-value": "k=v", "--workdir": workdir,
            "--source-date-epoch-default": "1700000000", "--fpm-options-file": optionsFile,
            "--rpm-user": "root", "--rpm-group": "root", "--rpm-defattrfile": "0644", "--rpm-defattrdir": "0755",
            "--rpm-rpmbuild-define": "dist .el7", "--rpm-dist": "el7", "--rpm-digest": "sha256", "--rpm-compression-level": "6",
            "--rpm-compression": "xz", "--rpm-os": "linux", "--rpm-changelog": rpmChangelog, "--rpm-summary": "Conf summary",
            "--rpm-auto-add-exclude-directories": "/usr/share/conf", "--rpm-attr": "0600,root,root:/etc/conf/conf.ini",
            "--rpm-init": initScript, "--rpm-filter-from-provides": "^nothing$", "--rpm-filter-from-requires": "^libbar",
            "--rpm-tag": "Packager: Conf Team <team@example.org>", "--rpm-verifyscript": plainScript, "--rpm-pretrans": plainScript,
            "--rpm-posttrans": plainScript, "--rpm-trigger-before-install": "bash: \(plainScript)",
            "--rpm-trigger-after-install": "bash: \(plainScript)", "--rpm-trigger-before-uninstall": "bash: \(plainScript)",
            "--rpm-trigger-after-target-uninstall": "bash: \(plainScript)",
            "--deb-build-depends": "make (>= 4)", "--deb-pre-depends": "dpkg (>= 1.17)", "--deb-compression": "xz",
            "--deb-compression-level": "6", "--deb-dist": "stable", "--deb-custom-control": control, "--deb-config": plainScript,
            "--deb-templates": templates, "--deb-installed-size": "42", "--deb-priority": "optional", "--deb-user": "root",
            "--deb-group": "root", "--deb-changelog": debChangelog, "--deb-upstream-changelog": rpmChangelog, "--deb-recommends": "curl",
            "--deb-suggests": "curl", "--deb-meta-file": meta, "--deb-interest": "conf-trigger", "--deb-activate": "conf-trigger",
            "--deb-interest-noawait": "conf-trigger", "--deb-activate-noawait": "conf-trigger", "--deb-field": "X-Conf: yes",
            "--deb-shlibs": "libconf 1 conf", "--deb-init": initScript, "--deb-default": defaults, "--deb-upstart": upstart,
            "--deb-systemd": unit, "--deb-systemd-path": "lib/systemd/system", "--deb-after-purge": plainScript,
        ]
        _ = script
        // --rpm-sign signs with the key $PKGLAYER_SIGN_KEY names (and refuses to run without one).
        try requireTool("gpg")
        let gnupg = try scratch.makeDirectory("gnupg", mode: 0o700)
        for arguments in [["--quick-gen-key", "Conf <conf@example.org>", "ed25519", "sign", "never"], ["--armor", "--export-secret-keys", "Conf"]] {
            let made = try TestProcess.run("/usr/bin/gpg", ["--homedir", gnupg, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""] + arguments)
            XCTAssertEqual(made.status, 0, made.stderrText)
            if arguments[1] == "--export-secret-keys" { _ = try scratch.write("conf.key.asc", made.stdoutText) }
        }
        let signingKey = scratch.path("conf.key.asc")
        let (_, options) = try Self.options()
        var checked = 0
        for option in options {
            var spellings = [option.long]
            if let short = option.short { spellings.append(short) }
            for spelling in spellings {
                let out = try scratch.makeDirectory("out-\(checked)")
                var base: [(String, String?)] = [("--input-type", "dir"), ("--output-type", "rpm"), ("--output-type", "deb"), ("--name", "conf"),
                                                  ("--version", "1.0"), ("--chdir", root), ("--package", out + "/"), ("--force", nil)]
                base.removeAll { $0.0 == option.long }
                var arguments = ["package"] + base.flatMap { [$0.0] + ($0.1.map { [$0] } ?? []) }
                if option.takesValue {
                    guard var value = samples[option.long] else { XCTFail("no sample value for \(option.long)"); continue }
                    if value == "OUT" { value = out + "/" }
                    arguments += [spelling, value]
                } else {
                    arguments.append(spelling)
                }
                if option.long != "--inputs" { arguments.append(".") }
                var env = ["SOURCE_DATE_EPOCH": "1700000000", "TMPDIR": workdir]
                if option.long == "--rpm-sign" { env["PKGLAYER_SIGN_KEY"] = signingKey }
                let result = try CLI.run(arguments, environment: env)
                XCTAssertEqual(result.status, 0, "\(spelling): \(result.stderrText)")
                XCTAssertFalse(result.stderrText.lowercased().contains("unknown option"), "\(spelling): \(result.stderrText)")
                let written = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
                XCTAssertTrue(written.contains { $0.hasSuffix(".rpm") || $0.hasSuffix(".deb") }, "\(spelling) wrote nothing: \(result.stderrText)")
                if Self.noEffect.contains(option.long) {
                    let warnings = result.stderrText.split(separator: "\n").filter { $0.contains(option.long) && $0.contains("no effect") }
                    XCTAssertEqual(warnings.count, 1, "\(spelling) must warn once that it has no effect: \(result.stderrText)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, options.count + options.filter { $0.short != nil }.count)
    }
}
