import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Issue 21, run as a user runs the binary. (1) A signing key given as its content (what a CI secret
/// holds: `PKGLAYER_SIGN_KEY="$(cat key.asc)"`) signs, and no error, `--debug` included, ever prints a
/// line of it. (2) A value that becomes one line of a control file (a maintainer, a URL, an rpm's URL
/// carried into a deb) cannot hold a line break of any kind (CR LF, CR, U+2028, …): it is refused with an
/// error naming the field, and nothing is written; where a field may span lines, each break becomes a
/// continuation line. `dpkg-deb -f PKG Essential` stays empty throughout.
final class SecretsAndInjectionTests: XCTestCase {
    nonisolated(unsafe) static var keys: TestSigningKeys?  // set in class setUp, read by this class's tests only

    private var scratch: ScratchDirectory!

    override class func setUp() { keys = TestSigningKeys() }
    override class func tearDown() { keys?.removeAll(); keys = nil }

    override func setUpWithError() throws {
        try requireTool("gpg", "rpm", "dpkg-deb")
        scratch = try ScratchDirectory(prefix: "pkglayer-secrets")
    }

    override func tearDown() { scratch = nil }

    private func key(_ algorithm: String = "rsa2048") throws -> TestSigningKey {
        try XCTUnwrap(Self.keys).key(algorithm)
    }

    /// The lines of key material (base64 body lines) that must never be printed.
    private func secretLines(_ armored: String) -> [String] {
        armored.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init)
            .filter { $0.count >= 24 && !$0.hasPrefix("-----") }
    }

    private func assertNoSecret(_ run: ProcessOutput, _ secret: String, file: StaticString = #filePath, line: UInt = #line) {
        let printed = run.stdoutText + run.stderrText
        for body in secretLines(secret) {
            XCTAssertFalse(printed.contains(body), "key material was printed: \(body)\n\(printed)", file: file, line: line)
            XCTAssertFalse(printed.contains(String(body.prefix(24))), "part of the key was printed\n\(printed)", file: file, line: line)
        }
        XCTAssertFalse(printed.contains("PRIVATE KEY BLOCK-----\n"), "an armor line was printed\n\(printed)", file: file, line: line)
    }

    private func makeRPM(_ name: String, extra: [String] = []) throws -> String {
        let tree = try scratch.makeDirectory("tree-\(name)")
        _ = try scratch.write("tree-\(name)/usr/share/\(name)/hello.txt", "hello\n", mode: 0o644)
        let out = try scratch.makeDirectory("out-\(name)")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", name, "-v", "1.0", "-C", tree, "-p", out] + extra + ["."], environment: fixedEpoch)
        return out + "/\(name)-1.0-1.x86_64.rpm"
    }

    /// `rpm -Kv` against a private rpmdb holding only `key`'s public key.
    private func assertRPMSigned(_ rpm: String, by key: TestSigningKey, file: StaticString = #filePath, line: UInt = #line) throws {
        let db = try scratch.makeDirectory("rpmdb-\(UUID().uuidString.prefix(8))")
        XCTAssertEqual(try TestProcess.run("rpm", ["--dbpath", db, "--import", key.armored]).status, 0, file: file, line: line)
        let check = try TestProcess.run("rpm", ["--dbpath", db, "-Kv", rpm])
        XCTAssertEqual(check.status, 0, check.stdoutText + check.stderrText, file: file, line: line)
        XCTAssertTrue(check.stdoutText.contains("key ID \(key.keyID.suffix(8).lowercased()): OK"), check.stdoutText, file: file, line: line)
    }

    // MARK: - (1) The signing key as a value

    func testSignKeyContentInTheEnvironmentOrTheFlagSignsAndIsNeverPrinted() throws {
        let key = try key()
        let armored = try String(contentsOfFile: key.secretKeyFile, encoding: .utf8)

        // The issue's CI pattern: PKGLAYER_SIGN_KEY="$(cat signing.asc)" pkglayer sign x.rpm (the shell's
        // $(…) drops the final newline).
        let rpm = try makeRPM("envkey")
        var env = fixedEpoch
        env["PKGLAYER_SIGN_KEY"] = armored.trimmingCharacters(in: .newlines)
        let signed = try CLI.ok(["sign", "--debug", rpm], environment: env)
        assertNoSecret(signed, armored)
        XCTAssertTrue(signed.stdoutText.contains(key.keyID), signed.stdoutText)
        try assertRPMSigned(rpm, by: key)

        // The same key as --sign-key's value (it starts with dashes, and is still the value), for a deb too.
        let rpm2 = try makeRPM("flagkey")
        let flag = try CLI.ok(["sign", "--debug", "--sign-key", armored, rpm2], environment: fixedEpoch)
        assertNoSecret(flag, armored)
        try assertRPMSigned(rpm2, by: key)

        // Line ends a CI system flattened to spaces, and CRLF line ends, still read as the key.
        for (label, variant) in [("flat", armored.replacingOccurrences(of: "\n", with: " ")),
                                 ("crlf", armored.replacingOccurrences(of: "\n", with: "\r\n"))] {
            let copy = try makeRPM("variant-\(label)")
            var e = fixedEpoch
            e["PKGLAYER_SIGN_KEY"] = variant
            let run = try CLI.ok(["sign", copy], environment: e)
            assertNoSecret(run, armored)
            try assertRPMSigned(copy, by: key)
        }

        // base64 of the binary key (`gpg --export-secret-keys KEYID | base64 -w0`).
        let binary = try TestProcess.runChecked("gpg", ["--homedir", key.home, "--batch", "--export-secret-keys", key.fingerprint]).stdout
        let base64 = binary.base64EncodedString()
        let rpm3 = try makeRPM("b64key")
        var e = fixedEpoch
        e["PKGLAYER_SIGN_KEY"] = base64
        let run = try CLI.ok(["sign", "--debug", rpm3], environment: e)
        XCTAssertFalse((run.stdoutText + run.stderrText).contains(String(base64.prefix(32))), run.stderrText)
        try assertRPMSigned(rpm3, by: key)
    }

    func testBadKeyContentIsRefusedWithoutPrintingAnyOfIt() throws {
        let key = try key()
        let armored = try String(contentsOfFile: key.secretKeyFile, encoding: .utf8)
        var lines = armored.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try XCTUnwrap(lines.firstIndex { $0.count == 64 })
        lines[index] = String(lines[index].reversed())
        let damaged = lines.joined(separator: "\n")
        let truncated = lines.prefix(index + 2).joined(separator: "\n")
        let publicOnly = try String(contentsOfFile: key.armored, encoding: .utf8)
        let notAKey = String(repeating: "c2VjcmV0LXRva2VuLXZhbHVl", count: 8)  // 192 base64 characters, no key
        let multiLine = "ghp_SecretTokenLine1Abcdefgh\nSecondSecretLineXyz987654"

        let cases: [(String, String, String)] = [
            ("damaged", damaged, "CRC-24"), ("truncated", truncated, "END line"), ("public", publicOnly, "no secret key"),
            ("not a key", notAKey, "not shown"), ("multi-line", multiLine, "not shown"),
        ]
        for (label, value, expected) in cases {
            let rpm = try makeRPM("bad-\(label.replacingOccurrences(of: " ", with: "-"))")
            let before = try Data(contentsOf: URL(fileURLWithPath: rpm))
            for viaFlag in [false, true] {
                var env = fixedEpoch
                let tmp = try scratch.makeDirectory("tmp-\(label.replacingOccurrences(of: " ", with: "-"))-\(viaFlag)")
                env["TMPDIR"] = tmp
                var args = ["sign", "--debug"]
                if viaFlag { args += ["--sign-key", value] } else { env["PKGLAYER_SIGN_KEY"] = value }
                let run = try CLI.run(args + [rpm], environment: env)
                XCTAssertNotEqual(run.status, 0, "\(label): \(run.stderrText)")
                XCTAssertTrue(run.stderrText.contains(expected), "\(label): \(run.stderrText)")
                XCTAssertTrue(run.stderrText.contains(viaFlag ? "--sign-key" : "$PKGLAYER_SIGN_KEY"), "\(label): names where the key came from: \(run.stderrText)")
                assertNoSecret(run, value)
                for secretLine in value.split(separator: "\n") where secretLine.count >= 16 {
                    XCTAssertFalse((run.stdoutText + run.stderrText).contains(secretLine.prefix(16)), "\(label): the value was echoed: \(run.stderrText)")
                }
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: rpm)), before, "\(label): the package changed")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "\(label): left files in TMPDIR")
            }
        }

        // A passphrase given where its file belongs is not echoed either.
        let rpm = try makeRPM("passfile")
        let run = try CLI.run(["sign", "--debug", "--sign-key", key.secretKeyFile, "--sign-passphrase-file", "Tr0ub4dor-and-3", rpm],
                              environment: fixedEpoch)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderrText.contains("--sign-passphrase-file"), run.stderrText)
        XCTAssertFalse((run.stdoutText + run.stderrText).contains("Tr0ub4dor"), run.stderrText)
    }

    // MARK: - (2) One-line values

    /// `pkglayer package -s dir -t FORMAT` of a small tree with `extra` options, in a fresh output folder.
    private func package(_ format: String, _ label: String, _ extra: [String]) throws -> (run: ProcessOutput, out: String, tmp: String) {
        let tree = try scratch.makeDirectory("tree-\(label)")
        _ = try scratch.write("tree-\(label)/usr/share/demo/hello.txt", "hello\n", mode: 0o644)
        let out = try scratch.makeDirectory("out-\(label)")
        let tmp = try scratch.makeDirectory("tmp-\(label)")
        var env = fixedEpoch
        env["TMPDIR"] = tmp
        let run = try CLI.run(["package", "-s", "dir", "-t", format, "-n", "demo", "-v", "1.0", "-C", tree, "-p", out] + extra + ["."],
                              environment: env)
        return (run, out, tmp)
    }

    /// dpkg reads no Essential field (`dpkg-deb -f` prints its default, `no`), and no line of the raw
    /// control file (`dpkg-deb -I PKG control`) begins one.
    private func assertNotEssential(_ deb: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Essential"]).stdoutText, "no\n", "\(label): Essential was injected",
                       file: file, line: line)
        let raw = try TestProcess.runChecked("dpkg-deb", ["-I", deb, "control"]).stdoutText
        XCTAssertFalse(raw.split(separator: "\n").contains { $0.lowercased().hasPrefix("essential") }, "\(label):\n\(raw)", file: file, line: line)
    }

    func testLineBreaksInOneLineFieldsAreRefusedNamingTheField() throws {
        // A clean maintainer first: the control file dpkg-deb reads, and no Essential field (the check
        // below can fail).
        let clean = try package("deb", "clean", ["--maintainer", "Me <m@x>"])
        XCTAssertEqual(clean.run.status, 0, clean.run.stderrText)
        let deb = clean.out + "/demo_1.0_amd64.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Maintainer"]).stdoutText, "Me <m@x>\n")
        try assertNotEssential(deb, "clean")

        let breaks: [(String, String)] = [("crlf", "\r\n"), ("cr", "\r"), ("lf", "\n"), ("u2028", "\u{2028}"), ("u2029", "\u{2029}"),
                                          ("nel", "\u{85}"), ("vt", "\u{0B}"), ("esc", "\u{1B}")]
        let fields: [(flag: String, field: String, value: String)] = [
            ("--maintainer", "maintainer", "Me <m@x>"), ("--url", "url", "https://example.invalid/"), ("--vendor", "vendor", "Example"),
            ("--category", "section", "utils"), ("--rpm-summary", "summary", "a demo"),
        ]
        for format in ["deb", "rpm"] {
            for (breakName, lineBreak) in breaks {
                for f in fields {
                    if format == "rpm" && f.flag == "--category" { continue }
                    let label = "\(format)-\(breakName)-\(f.field)"
                    let (run, out, tmp) = try package(format, label, [f.flag, f.value + lineBreak + "Essential: yes"])
                    XCTAssertNotEqual(run.status, 0, "\(label): accepted\n\(run.stderrText)")
                    XCTAssertTrue(run.stderrText.contains(f.field), "\(label): the error names the field: \(run.stderrText)")
                    XCTAssertTrue(run.stderrText.contains("one line"), "\(label): says why: \(run.stderrText)")
                    // (An escape is not a line break, but no control character belongs in such a field.)
                    XCTAssertTrue(run.stderrText.contains("U+"), "\(label): names the character: \(run.stderrText)")
                    XCTAssertFalse(run.stderrText.contains("Essential: yes"), "\(label): the error shows what follows the break: \(run.stderrText)")
                    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [], "\(label): wrote an output")
                    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "\(label): left files in TMPDIR")
                }
            }
        }
    }

    func testMultiLineFieldsTurnEveryBreakIntoAContinuationLine() throws {
        // --description and --deb-field values may span lines: every kind of break becomes a continuation
        // line, never a field of its own.
        for (label, lineBreak) in [("cr", "\r"), ("crlf", "\r\n"), ("u2028", "\u{2028}"), ("nel", "\u{85}")] {
            let (run, out, _) = try package("deb", "multi-\(label)", [
                "--description", "A demo\(lineBreak)Essential: yes", "--deb-field", "X-Note: first\(lineBreak)Essential: yes",
            ])
            XCTAssertEqual(run.status, 0, "\(label): \(run.stderrText)")
            let deb = out + "/demo_1.0_amd64.deb"
            try assertNotEssential(deb, label)
            let control = try TestProcess.runChecked("dpkg-deb", ["-f", deb]).stdoutText
            XCTAssertTrue(control.contains("Description: A demo\n Essential: yes\n"), "\(label):\n\(control)")
            XCTAssertTrue(control.contains("X-Note: first\n Essential: yes\n"), "\(label):\n\(control)")
            XCTAssertFalse(control.unicodeScalars.contains { $0 == "\r" || $0 == "\u{2028}" || $0 == "\u{85}" }, "\(label): a break survived:\n\(control)")
        }
        // A custom control file with a lone CR inside a value is refused, naming the option.
        let custom = try scratch.write("custom-control", "Package: demo\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Me <m@x>\rEssential: yes\nDescription: demo\n")
        let (run, out, _) = try package("deb", "custom", ["--deb-custom-control", custom])
        XCTAssertNotEqual(run.status, 0, run.stderrText)
        XCTAssertTrue(run.stderrText.contains("--deb-custom-control") && run.stderrText.contains("Maintainer"), run.stderrText)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    /// An rpm whose URL and Packager headers hold "\r\nEssential: yes" (rpmbuild cannot write one and
    /// pkglayer refuses to, so the header bytes of a clean rpm are patched and its digests recomputed),
    /// converted with `-s rpm -t deb`: refused, naming the field.
    func testRPMHeaderWithCRLFConvertedToDebIsRefused() throws {
        try requireTool("python3")
        let rpm = try makeRPM("hostile", extra: ["--url", "https://example.invalid/@@Essential: yes", "--maintainer", "Me <m@x>@@Essential: yes"])
        let patcher = try scratch.write("patch.py", """
            import hashlib, struct, sys
            path = sys.argv[1]
            data = bytearray(open(path, 'rb').read())
            def header_end(off):
                il, dl = struct.unpack('>II', data[off + 8:off + 16])
                return off + 16 + 16 * il + dl
            sig = 96
            sig_end = header_end(sig)
            main = sig_end + (-sig_end % 8)
            main_end = header_end(main)
            old = bytes(data[main:main_end])
            new = old.replace(b'@@', b'\\r\\n')
            assert new != old and len(new) == len(old)
            sigpart = bytes(data[sig:main])
            for h in (hashlib.sha256, hashlib.sha1):
                assert h(old).hexdigest().encode() in sigpart
                sigpart = sigpart.replace(h(old).hexdigest().encode(), h(new).hexdigest().encode())
            payload = bytes(data[main_end:])
            md5_old, md5_new = hashlib.md5(old + payload).digest(), hashlib.md5(new + payload).digest()
            assert md5_old in sigpart
            sigpart = sigpart.replace(md5_old, md5_new)
            data[sig:main] = sigpart
            data[main:main_end] = new
            open(path, 'wb').write(bytes(data))
            """)
        try TestProcess.runChecked("python3", [patcher, rpm])
        // rpm itself reads the patched header, digests and all: the URL holds the CR LF.
        let query = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{URL}|%{PACKAGER}", rpm])
        XCTAssertEqual(query.stdoutText, "https://example.invalid/\r\nEssential: yes|Me <m@x>\r\nEssential: yes")
        XCTAssertEqual(try TestProcess.run("rpm", ["-K", "--nosignature", rpm]).status, 0)

        let out = try scratch.makeDirectory("converted")
        let tmp = try scratch.makeDirectory("tmp-converted")
        var env = fixedEpoch
        env["TMPDIR"] = tmp
        let run = try CLI.run(["package", "-s", "rpm", "-t", "deb", "-p", out, rpm], environment: env)
        XCTAssertNotEqual(run.status, 0, run.stderrText)
        XCTAssertTrue(run.stderrText.contains("maintainer") || run.stderrText.contains("url"), run.stderrText)
        XCTAssertTrue(run.stderrText.contains("an rpm's"), "says where the value came from: \(run.stderrText)")
        XCTAssertFalse(run.stderrText.contains("Essential: yes"), run.stderrText)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [])
    }

    // MARK: - Scripts and accounts (Core, checked by sh and awk)

    /// A CRLF hook's `#!` line ends at its CR: the line after it runs inside the hook's interpreter,
    /// not as a line of the composed postinst. (A Character split took "\r\n" for no break, and
    /// `echo injected` became part of the composed `INTERPRETER -s -- "$@" <<'…'` line.)
    func testACRLFHookRunsOnlyInsideItsInterpreter() throws {
        let postinst = try XCTUnwrap(MaintainerScripts.deb([.afterInstall: "#!/bin/sh\r\necho \"inside $0\"\r\n"])[.postinst])
        XCTAssertTrue(postinst.contains("\n/bin/sh -s -- \"$@\" <<'PKGLAYER_SCRIPT_END'\n"), postinst)
        let script = try scratch.write("postinst", postinst, mode: 0o755)
        let run = try TestProcess.run("/bin/sh", [script, "configure"])
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(run.stdoutText, "inside /bin/sh\r\n", "ran outside the hook's shell: \(run.stdoutText.debugDescription)")

        // A body line equal to the delimiter after a CR LF still moves the delimiter (the shell splits at LF).
        let tricky = "#!/bin/sh\r\nPKGLAYER_SCRIPT_END\necho \"inside $0\"\n"
        let composed = try XCTUnwrap(MaintainerScripts.deb([.afterInstall: tricky])[.postinst])
        let path = try scratch.write("postinst2", composed, mode: 0o755)
        let second = try TestProcess.run("/bin/sh", [path, "configure"])
        XCTAssertTrue(second.stdoutText.hasSuffix("inside /bin/sh\n"), "the body escaped its here-document: \(second.stdoutText.debugDescription) \(second.stderrText)")
    }

    /// An account's fields cannot add an account to /etc/passwd: a line break or ':' in a name, home or
    /// shell is refused naming the recipe; the comment's become spaces.
    func testPasswdFieldsCannotAddAnAccount() throws {
        let files = try Accounts(users: [.init(name: "web", comment: "Web\r\nevil:x:0:0::/:/bin/sh\u{2028}x")])
            .etcFiles(passwd: nil, group: nil, origin: "recipe.yml")
        let passwd = try scratch.write("passwd", files.passwd)
        let users = try TestProcess.runChecked("awk", ["-F:", "{ print $1 }", passwd]).stdoutText
        XCTAssertEqual(users, "root\nweb\n", files.passwd)
        XCTAssertFalse(files.passwd.unicodeScalars.contains { $0 == "\r" || $0 == "\u{2028}" }, files.passwd)

        for user in [Accounts.User(name: "web", home: "/srv\r\nevil:x:0:0::/:/bin/sh"), .init(name: "web", shell: "/bin/sh\u{2028}"),
                     .init(name: "web", home: "/srv:/x")] {
            XCTAssertThrowsError(try Accounts(users: [user]).etcFiles(passwd: nil, group: nil, origin: "recipe.yml")) { error in
                XCTAssertEqual((error as? PkgLayerError)?.location, "recipe.yml", "\(error)")
                XCTAssertTrue("\(error)".contains("home directory") || "\(error)".contains("shell"), "\(error)")
            }
        }
    }
}
