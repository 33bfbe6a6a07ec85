import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// The composed rpm and deb scripts, run for real by /bin/sh with the arguments rpm and dpkg pass.
/// Each hook appends a line to a log; the tests assert exactly which hooks ran, with which arguments.
final class MaintainerScriptsTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var log: String { scratch.path("hooks.log") }

    override func setUpWithError() throws { scratch = try ScratchDirectory(prefix: "pkglayer-scripts") }
    override func tearDown() { scratch = nil }

    /// A hook that logs its name and each argument in brackets: `after-install [configure] []`.
    static func marker(_ hook: ScriptHook) -> String {
        "{ printf '%s' \(hook.rawValue); for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; } >> \"$PKGLAYER_TEST_LOG\"\n"
    }

    static let allHooks: [ScriptHook: String] = Dictionary(uniqueKeysWithValues: ScriptHook.allCases.map { ($0, marker($0)) })
    static let installHooksOnly: [ScriptHook: String] = Dictionary(uniqueKeysWithValues:
        [ScriptHook.beforeInstall, .afterInstall, .beforeRemove, .afterRemove].map { ($0, marker($0)) })

    private struct Run {
        var status: Int32
        var lines: [String]
        var stderr: String
    }

    /// Writes `script` to a file and runs `/bin/sh FILE ARGS` (or the file itself, as dpkg does, with
    /// `direct`), with a fresh log.
    private func run(_ script: String?, _ arguments: [String], direct: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let script = try XCTUnwrap(script, "slot was not composed", file: file, line: line)
        let path = try scratch.write("slot.sh", script, mode: 0o755)
        try scratch.write("hooks.log", "")
        let output = direct
            ? try TestProcess.run(path, arguments, environment: ["PKGLAYER_TEST_LOG": log])
            : try TestProcess.run("/bin/sh", [path] + arguments, environment: ["PKGLAYER_TEST_LOG": log])
        let text = try String(contentsOfFile: log, encoding: .utf8)
        return Run(status: output.status, lines: text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
                   stderr: output.stderrText)
    }

    private func assertRuns(_ script: String?, _ arguments: [String], _ expected: [String], direct: Bool = false,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(script, arguments, direct: direct, file: file, line: line)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.lines, expected, "arguments \(arguments)", file: file, line: line)
    }

    // MARK: - rpm

    func testRPMSlotsRunTheRightHooks() throws {
        let slots = MaintainerScripts.rpm(Self.allHooks)
        XCTAssertEqual(Set(slots.keys), Set(RPMScriptSlot.allCases))
        for (slot, text) in slots { XCTAssertFalse(text.hasPrefix("#!"), "rpm runs \(slot) with /bin/sh itself") }

        // %pre and %post get 1 on install, 2 (or more) on upgrade.
        try assertRuns(slots[.pre], ["1"], ["before-install [1]"])
        try assertRuns(slots[.pre], ["2"], ["before-upgrade [2]"])
        try assertRuns(slots[.pre], ["3"], ["before-upgrade [3]"])
        try assertRuns(slots[.post], ["1"], ["after-install [1]"])
        try assertRuns(slots[.post], ["2"], ["after-upgrade [2]"])
        // %preun and %postun get 0 on erase, 1 when the old package goes away during an upgrade.
        try assertRuns(slots[.preun], ["0"], ["before-remove [0]"])
        try assertRuns(slots[.preun], ["1"], [])
        try assertRuns(slots[.postun], ["0"], ["after-remove [0]"])
        try assertRuns(slots[.postun], ["1"], [])
        try assertRuns(slots[.pretrans], ["1"], ["before-transaction [1]"])
        try assertRuns(slots[.posttrans], ["0"], ["after-transaction [0]"])
    }

    func testRPMWithoutUpgradeHooksRunsInstallHooksOnUpgrade() throws {
        let slots = MaintainerScripts.rpm(Self.installHooksOnly)
        XCTAssertEqual(Set(slots.keys), [.pre, .post, .preun, .postun])
        try assertRuns(slots[.pre], ["1"], ["before-install [1]"])
        try assertRuns(slots[.pre], ["2"], ["before-install [2]"])
        try assertRuns(slots[.post], ["1"], ["after-install [1]"])
        try assertRuns(slots[.post], ["2"], ["after-install [2]"])
        try assertRuns(slots[.preun], ["1"], [])
        try assertRuns(slots[.postun], ["1"], [])
    }

    func testRPMWithOnlyAnUpgradeHook() throws {
        let slots = MaintainerScripts.rpm([.afterUpgrade: Self.marker(.afterUpgrade)])
        XCTAssertEqual(Set(slots.keys), [.post])
        try assertRuns(slots[.post], ["1"], [])
        try assertRuns(slots[.post], ["2"], ["after-upgrade [2]"])
    }

    func testNoHooksNoSlots() {
        XCTAssertTrue(MaintainerScripts.rpm([:]).isEmpty)
        XCTAssertTrue(MaintainerScripts.deb([:]).isEmpty)
        XCTAssertTrue(MaintainerScripts.deb([.beforeTransaction: "true\n"]).isEmpty, "dpkg has no transaction scripts")
    }

    // MARK: - deb

    func testDebSlotsRunTheRightHooks() throws {
        let slots = MaintainerScripts.deb(Self.allHooks)
        XCTAssertEqual(Set(slots.keys), Set(DebScriptSlot.allCases))
        XCTAssertEqual(MaintainerScripts.unsupportedInDeb(Self.allHooks), [.beforeTransaction, .afterTransaction])
        XCTAssertEqual(MaintainerScripts.unsupportedInDeb(Self.installHooksOnly), [])
        for (slot, text) in slots { XCTAssertTrue(text.hasPrefix("#!/bin/sh\n"), "dpkg executes \(slot) directly") }

        try assertRuns(slots[.preinst], ["install"], ["before-install [install]"])
        try assertRuns(slots[.preinst], ["upgrade", "1.0"], ["before-upgrade [upgrade] [1.0]"])
        try assertRuns(slots[.postinst], ["configure", ""], ["after-install [configure] []"])
        try assertRuns(slots[.postinst], ["configure"], ["after-install [configure]"])
        try assertRuns(slots[.postinst], ["configure", "1.0"], ["after-upgrade [configure] [1.0]"])
        try assertRuns(slots[.postinst], ["abort-upgrade", "1.0"], [])
        try assertRuns(slots[.prerm], ["remove"], ["before-remove [remove]"])
        try assertRuns(slots[.prerm], ["upgrade", "2.0"], [])
        try assertRuns(slots[.postrm], ["remove"], ["after-remove [remove]"])
        try assertRuns(slots[.postrm], ["purge"], [])
        try assertRuns(slots[.postrm], ["upgrade", "2.0"], [])
        // dpkg executes the file itself; the shebang must make that work too.
        try assertRuns(slots[.postinst], ["configure", "1.0"], ["after-upgrade [configure] [1.0]"], direct: true)
    }

    func testDebWithoutUpgradeHooksRunsInstallHooksOnUpgrade() throws {
        let slots = MaintainerScripts.deb(Self.installHooksOnly)
        try assertRuns(slots[.preinst], ["install"], ["before-install [install]"])
        try assertRuns(slots[.preinst], ["upgrade", "1.0"], ["before-install [upgrade] [1.0]"])
        try assertRuns(slots[.postinst], ["configure", ""], ["after-install [configure] []"])
        try assertRuns(slots[.postinst], ["configure", "1.0"], ["after-install [configure] [1.0]"])
        try assertRuns(slots[.prerm], ["upgrade", "2.0"], [])
        try assertRuns(slots[.postrm], ["upgrade", "2.0"], [])
    }

    // MARK: - Interpreters

    /// A hook without `#!` runs under `sh` from the PATH rpm and dpkg set, not `/bin/sh` (lintian:
    /// command-with-path-in-maintainer-script); an explicit interpreter is kept as written.
    func testTheDefaultInterpreterIsShWithoutAPath() throws {
        let plain = "echo plain \"$*\" >> \"$PKGLAYER_TEST_LOG\"\n"
        for text in Array(MaintainerScripts.deb([.afterInstall: plain]).values) + Array(MaintainerScripts.rpm([.afterInstall: plain]).values) {
            XCTAssertTrue(text.contains("\nsh -s -- \"$@\" <<'PKGLAYER_SCRIPT_END'\n"), text)
            XCTAssertFalse(text.contains("/bin/sh -s"), text)
        }
        let explicit = MaintainerScripts.deb([.afterInstall: "#!/bin/sh\necho explicit\n"])[.postinst]!
        XCTAssertTrue(explicit.contains("\n/bin/sh -s -- \"$@\" <<'PKGLAYER_SCRIPT_END'\n"), explicit)
        let bash = MaintainerScripts.deb([.afterInstall: "#!/bin/bash -e\necho bash\n"])[.postinst]!
        XCTAssertTrue(bash.contains("\n/bin/bash -e -s -- \"$@\""), bash)
        // And it still runs.
        try assertRuns(MaintainerScripts.deb([.afterInstall: plain])[.postinst], ["configure", ""], ["plain configure "])
    }

    func testABashHookRunsUnderBash() throws {
        // The test only tells interpreters apart where /bin/sh is not bash (Debian's is dash).
        try requireCondition(!(try TestProcess.run("/bin/sh", ["-c", "words=(a b)"]).succeeded),
                             "/bin/sh understands bash arrays on this machine; the test needs a /bin/sh that is not bash (Debian's is dash)")
        let body = """
        #!/bin/bash
        words=(alpha beta gamma)
        if [[ ${#words[@]} -eq 3 ]]; then
          echo "bash ${words[1]} $*" >> "$PKGLAYER_TEST_LOG"
        fi

        """
        let deb = MaintainerScripts.deb([.beforeInstall: body])
        try assertRuns(deb[.preinst], ["install"], ["bash beta install"])
        try assertRuns(deb[.preinst], ["upgrade", "1.0"], ["bash beta upgrade 1.0"])
        let rpm = MaintainerScripts.rpm([.afterInstall: body])
        try assertRuns(rpm[.post], ["1"], ["bash beta 1"])
        try assertRuns(rpm[.post], ["2"], ["bash beta 2"])
    }

    func testAnEnvBashHookRunsUnderBash() throws {
        let body = "#!/usr/bin/env bash\nwords=(alpha beta)\necho \"env-bash ${words[1]} $*\" >> \"$PKGLAYER_TEST_LOG\"\n"
        try assertRuns(MaintainerScripts.deb([.afterInstall: body])[.postinst], ["configure", ""], ["env-bash beta configure "])
        try assertRuns(MaintainerScripts.rpm([.beforeRemove: body])[.preun], ["0"], ["env-bash beta 0"])
    }

    func testAPythonHookRunsUnderPython() throws {
        try requireTool("/usr/bin/python3")
        let body = """
        #!/usr/bin/python3
        import os, sys
        with open(os.environ["PKGLAYER_TEST_LOG"], "a") as log:
            log.write("python " + "|".join(sys.argv[1:]) + "\\n")

        """
        try assertRuns(MaintainerScripts.deb([.afterUpgrade: body])[.postinst], ["configure", "1.0"], ["python configure|1.0"])
        try assertRuns(MaintainerScripts.rpm([.beforeInstall: body])[.pre], ["1"], ["python 1"])
        let viaEnv = body.replacingOccurrences(of: "#!/usr/bin/python3", with: "#!/usr/bin/env python3")
        try assertRuns(MaintainerScripts.rpm([.afterRemove: viaEnv])[.postun], ["0"], ["python 0"])
    }

    func testAFailingHookFailsTheSlot() throws {
        let failing = "echo failing-ran >> \"$PKGLAYER_TEST_LOG\"\nexit 3\n"
        let rpm = try run(MaintainerScripts.rpm([.beforeInstall: failing])[.pre], ["1"])
        XCTAssertEqual(rpm.status, 3)
        XCTAssertEqual(rpm.lines, ["failing-ran"])
        let deb = try run(MaintainerScripts.deb([.afterInstall: failing])[.postinst], ["configure", ""])
        XCTAssertEqual(deb.status, 3)
        let python = try run(MaintainerScripts.deb([.beforeRemove: "#!/usr/bin/python3\nimport sys\nsys.exit(5)\n"])[.prerm], ["remove"])
        XCTAssertEqual(python.status, 5)
        // A slot whose hook does not apply to this call succeeds.
        XCTAssertEqual(try run(MaintainerScripts.deb([.afterInstall: failing])[.postinst], ["abort-remove"]).status, 0)
        // With an upgrade hook given, a failing install hook does not run (or fail) on upgrade.
        let both = MaintainerScripts.deb([.beforeInstall: failing, .beforeUpgrade: Self.marker(.beforeUpgrade)])
        try assertRuns(both[.preinst], ["upgrade", "1.0"], ["before-upgrade [upgrade] [1.0]"])
        XCTAssertEqual(try run(both[.preinst], ["install"]).status, 3)
    }

    func testHookTextIsPassedVerbatim() throws {
        // Quotes, expansions and lines equal to the here-document delimiter must reach the hook untouched.
        let body = """
        cat >> "$PKGLAYER_TEST_LOG" <<'EOF'
        PKGLAYER_SCRIPT_END
        $1 `uname` 'single' "double" \\backslash ${HOME}
        PKGLAYER_SCRIPT_END_2
        EOF

        """
        let slots = MaintainerScripts.deb([.beforeInstall: body])
        try assertRuns(slots[.preinst], ["install"], [
            "PKGLAYER_SCRIPT_END", "$1 `uname` 'single' \"double\" \\backslash ${HOME}", "PKGLAYER_SCRIPT_END_2",
        ])
    }

    // MARK: - Parsing back

    func testParseRecoversEveryHookExactly() throws {
        let tricky: [ScriptHook: String] = [
            .beforeInstall: "#!/bin/bash\nset -u\narr=(1 2)\necho \"${arr[@]}\" '$1' `true`\n",
            .afterInstall: "#!/usr/bin/python3\nprint('hi')\n\n\n",
            .beforeUpgrade: "echo upgrade\nPKGLAYER_SCRIPT_END\nPKGLAYER_SCRIPT_END_2\n",
            .afterUpgrade: "  indented() {\n\techo tab\n}\n",
            .beforeRemove: "#!/usr/bin/env bash\npkglayer_after_remove() {\n  :\n}\n",
            .afterRemove: "exit 0\n",
            .beforeTransaction: "echo before-transaction\n",
            .afterTransaction: "echo after-transaction ünï côdé\n",
        ]
        for hooks in [Self.allHooks, Self.installHooksOnly, tricky] {
            var fromRPM: [ScriptHook: String] = [:]
            for (_, text) in MaintainerScripts.rpm(hooks) {
                fromRPM.merge(MaintainerScripts.parse(text, fallback: .afterInstall)) { a, b in
                    XCTAssertEqual(a, b)
                    return a
                }
            }
            XCTAssertEqual(fromRPM, hooks)

            var fromDeb: [ScriptHook: String] = [:]
            for (_, text) in MaintainerScripts.deb(hooks) {
                fromDeb.merge(MaintainerScripts.parse(text, fallback: .afterInstall)) { a, _ in a }
            }
            XCTAssertEqual(fromDeb, hooks.filter { $0.key != .beforeTransaction && $0.key != .afterTransaction })
        }
        // Each slot yields exactly the hooks it carries.
        let pre = MaintainerScripts.parse(MaintainerScripts.rpm(Self.installHooksOnly)[.pre]!, fallback: .afterRemove)
        XCTAssertEqual(pre, [.beforeInstall: Self.marker(.beforeInstall)])
    }

    func testParseKeepsAForeignScriptWhole() {
        let foreign = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then ldconfig; fi\n"
        XCTAssertEqual(MaintainerScripts.parse(foreign, fallback: .afterInstall), [.afterInstall: foreign])
        XCTAssertEqual(MaintainerScripts.parse("", fallback: .beforeRemove), [.beforeRemove: ""])
    }

    func testABodyWithoutTrailingNewlineGainsOne() throws {
        let slots = MaintainerScripts.rpm([.afterInstall: "echo no-newline >> \"$PKGLAYER_TEST_LOG\""])
        try assertRuns(slots[.post], ["1"], ["no-newline"])
        XCTAssertEqual(MaintainerScripts.parse(slots[.post]!, fallback: .beforeInstall),
                       [.afterInstall: "echo no-newline >> \"$PKGLAYER_TEST_LOG\"\n"])
    }
}
