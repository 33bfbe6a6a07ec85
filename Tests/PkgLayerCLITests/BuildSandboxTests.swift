import Foundation
import PkgLayerTestSupport
import XCTest

/// The sandbox holds when driven from a recipe, and hostile or broken input gives a clear error, a
/// non-zero exit and nothing written outside the output folder.
final class BuildSandboxTests: XCTestCase {
    /// A recipe with one local source file and the given steps.
    private func writeRecipe(_ scratch: ScratchDirectory, name: String = "probe", steps: [(String, String)],
                             extra: String = "", sources: String? = nil) throws -> String {
        _ = try scratch.write("recipe/files/hello.txt", "hello\n")
        var yaml = """
        package:
          name: \(name)
          version: "1.0"
          summary: A probe of the build sandbox
          arch: noarch
          source-date-epoch: 1700000000
        sources:
        \(sources ?? "  - path: files/hello.txt")
        build:
        \(extra)  steps:

        """
        for (stepName, script) in steps {
            yaml += "    - name: \(stepName)\n      run: |\n"
            for line in script.split(separator: "\n", omittingEmptySubsequences: false) { yaml += "        \(line)\n" }
        }
        return try scratch.write("recipe/\(name).yml", yaml)
    }

    private func build(_ recipe: String, _ scratch: ScratchDirectory) throws -> ProcessOutput {
        try BuildFixtures.build(recipe, output: scratch.path("out"), cache: scratch.path("cache"), in: scratch.path("recipe"))
    }

    /// Everything in `dir` (recursively), for "nothing written outside the output folder".
    private func listing(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
    }

    func testStepCannotReachAServerOnTheHostLoopback() throws {
        let scratch = try ScratchDirectory()
        // A one-shot TCP server outside the sandbox that records any connection it accepts.
        let marker = scratch.path("connected")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", """
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0)); s.listen(1); print(s.getsockname()[1], flush=True)
            s.settimeout(60)
            try:
                c, _ = s.accept(); open(sys.argv[1], "w").write("yes")
            except Exception:
                pass
            """, marker]
        let pipe = Pipe()
        server.standardOutput = pipe
        try server.run()
        defer { server.terminate() }
        let portLine = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        let port = try XCTUnwrap(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)))

        let recipe = try writeRecipe(scratch, steps: [("phone-home", "bash -c 'echo hi > /dev/tcp/127.0.0.1/\(port)'")])
        let result = try build(recipe, scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("phone-home"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("Connection refused") || result.stderrText.contains("Network is unreachable"),
                      result.stderrText)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the server outside the sandbox saw a connection")
        XCTAssertEqual(listing(scratch.path("out")).filter { $0.hasSuffix(".rpm") || $0.hasSuffix(".deb") }, [])
    }

    func testStepCannotWriteOutsideSourceAndDestdir() throws {
        let scratch = try ScratchDirectory()
        let outside = scratch.path("outside-\(UUID().uuidString)")
        for (name, script) in [("write-usr", "touch /usr/pkglayer-escape"), ("write-etc", "touch /etc/pkglayer-escape"),
                               ("write-host-path", "touch \(outside)"), ("write-root", "touch /pkglayer-escape")] {
            let recipe = try writeRecipe(scratch, name: "probe-\(name)", steps: [(name, script)])
            let result = try build(recipe, scratch)
            XCTAssertNotEqual(result.status, 0, "\(name) should fail")
            XCTAssertTrue(result.stderrText.contains(name), result.stderrText)
        }
        for path in ["/usr/pkglayer-escape", "/etc/pkglayer-escape", "/pkglayer-escape", outside] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was written from the sandbox")
        }
    }

    func testStepCannotReadACanaryInTheUsersHome() throws {
        let scratch = try ScratchDirectory()
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let secret = "canary-\(UUID().uuidString)"
        let canary = home + "/.pkglayer-canary-\(UUID().uuidString)"
        try secret.write(toFile: canary, atomically: true, encoding: .utf8)
        defer { unlink(canary) }
        let recipe = try writeRecipe(scratch, steps: [("read-canary", "cat \(canary)")])
        let result = try build(recipe, scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("read-canary"), result.stderrText)
        XCTAssertFalse(result.stderrText.contains(secret))
        let log = try String(contentsOfFile: scratch.path("out/logs/probe-1.0.build.log"), encoding: .utf8)
        XCTAssertFalse(log.contains(secret), "the secret leaked into the build log")
        XCTAssertTrue(log.contains("No such file or directory"), log)
    }

    func testASuccessfulProbeBuildPackagesTheDestdir() throws {
        let scratch = try ScratchDirectory()
        let recipe = try writeRecipe(scratch, steps: [("install", """
            test "$(id -u)" = 0 && test "$TZ" = UTC && test "$SOURCE_DATE_EPOCH" = 1700000000
            test -z "${PKGLAYER_HOST_SECRET:-}"
            install -D -m 0644 hello.txt ${{targets.destdir}}/usr/share/probe/hello.txt
            """)])
        let result = try BuildFixtures.build(recipe, output: scratch.path("out"), cache: scratch.path("cache"),
                                             in: scratch.path("recipe"), environment: ["PKGLAYER_HOST_SECRET": "x"])
        XCTAssertEqual(result.status, 0, result.stderrText)
        let list = try TestProcess.runChecked("rpm", ["-qpl", scratch.path("out/probe-1.0-1.noarch.rpm")]).stdoutText
        XCTAssertEqual(list, "/usr/share/probe\n/usr/share/probe/hello.txt\n")
    }

    func testHostileSourceArchivesAreRefused() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.makeDirectory("recipe/files")
        _ = try scratch.write("evil/sub/x", "x")
        try TestProcess.runChecked("tar", ["-P", "-czf", scratch.path("recipe/files/climb.tar.gz"), "-C", scratch.path("evil/sub"), "../sub/x"])
        _ = try scratch.makeDirectory("evil2")
        _ = try scratch.symlink("evil2/link", to: "../../../../etc")
        try TestProcess.runChecked("tar", ["-czf", scratch.path("recipe/files/link.tar.gz"), "-C", scratch.path("evil2"), "link"])
        try TestProcess.runChecked("tar", ["-P", "-czf", scratch.path("recipe/files/abs.tar.gz"), scratch.path("evil/sub/x")])
        for archive in ["climb.tar.gz", "link.tar.gz", "abs.tar.gz"] {
            let recipe = try writeRecipe(scratch, name: "hostile", steps: [("noop", "true")],
                                         sources: "  - path: files/\(archive)\n    strip-components: 0")
            let result = try build(recipe, scratch)
            XCTAssertNotEqual(result.status, 0, "\(archive) was accepted")
            XCTAssertTrue(result.stderrText.contains(archive), "\(archive): \(result.stderrText)")
        }
        XCTAssertEqual(listing(scratch.path("out")).filter { !$0.hasPrefix("logs") }, [])
    }

    func testWrongSHA256IsRefusedAndNotCached() throws {
        let scratch = try ScratchDirectory()
        let recipe = try writeRecipe(scratch, steps: [("noop", "true")], sources: """
              - url: https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz
                sha256: \(String(repeating: "ab", count: 32))
            """)
        let result = try build(recipe, scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("hello-2.10.tar.gz"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains(String(repeating: "ab", count: 32)), result.stderrText)
        XCTAssertEqual(listing(scratch.path("cache")).filter { $0.contains("sha256/") }, [], "nothing may enter the cache")
    }

    func testMalformedAndMisspelledRecipesGiveLineAndColumn() throws {
        let scratch = try ScratchDirectory()
        let misspelled = try scratch.write("recipe/misspelled.yml", """
            package:
              name: x
              verison: "1.0"
              summary: s
            """)
        var result = try build(misspelled, scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("misspelled.yml:3:3"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("did you mean 'version'"), result.stderrText)

        let broken = try scratch.write("recipe/broken.yml", "package:\n  name: [unclosed\n")
        result = try build(broken, scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("broken.yml:"), result.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out")), "nothing written for a recipe that does not parse")
    }

    func testDependencyCycleIsNamed() throws {
        let scratch = try ScratchDirectory()
        for (me, other) in [("a", "b"), ("b", "a")] {
            _ = try scratch.write("recipe/\(me).yml", """
                package:
                  name: cycle-\(me)
                  version: "1"
                  summary: cycle
                build:
                  requires:
                    recipes: [\(other).yml]
                  steps:
                    - run: "true"
                """)
        }
        let result = try build(scratch.path("recipe/a.yml"), scratch)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("a.yml -> b.yml -> a.yml"), result.stderrText)
    }

    /// `timeout: 5s` on a step that never ends: the build fails in about 5 s naming the step, writes no
    /// package, and leaves no process of the step behind.
    func testAStepTimeoutKillsTheStepAndNamesIt() throws {
        try requireTool("pgrep")
        let scratch = try ScratchDirectory()
        let marker = "pkglayer-cli-timeout-\(UUID().uuidString)"
        let recipe = try writeRecipe(scratch, steps: [("hang", "sh -c 'sleep 100000; : \(marker)' &\nsleep 100000")])
        var text = try String(contentsOfFile: recipe, encoding: .utf8)
        text = text.replacingOccurrences(of: "      run: |\n", with: "      timeout: 5s\n      run: |\n")
        try text.write(toFile: recipe, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try build(recipe, scratch)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 1)
        XCTAssertLessThan(elapsed, 30)
        XCTAssertTrue(result.stderrText.contains("build step 1/1 'hang' ran too long and was killed with everything it started (its timeout: 5s)"),
                      result.stderrText)
        XCTAssertEqual(listing(scratch.path("out")).filter { $0.hasSuffix(".rpm") || $0.hasSuffix(".deb") }, [])
        let left = try TestProcess.run("pgrep", ["-f", marker])
        XCTAssertEqual(left.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "", "nothing of the step is left running")
    }

    /// `--explain-sandbox` reports, from the real bwrap arguments, what a step sees, and builds nothing.
    func testExplainSandboxSaysWhatIsMountedSharedAndCleared() throws {
        let scratch = try ScratchDirectory()
        let recipe = try writeRecipe(scratch, steps: [("noop", "true")], extra: "  network: true\n")
        let result = try CLI.run(["build", "--explain-sandbox", recipe, "-o", scratch.path("out")],
                                 environment: ["PKGLAYER_CACHE": scratch.path("cache"), "TMPDIR": try scratch.makeDirectory("tmp")])
        XCTAssertEqual(result.status, 0, result.stderrText)
        let text = result.stdoutText
        XCTAssertTrue(text.contains("namespaces unshared: user, mount, pid, ipc, uts, cgroup\n"), text)
        XCTAssertTrue(text.contains("the host's network is SHARED"), text)
        XCTAssertTrue(text.contains("writable (the only places a step can write that outlive it):\n  /build/src"), text)
        XCTAssertTrue(text.contains("/tmp (an empty tmpfs)"), text)
        XCTAssertTrue(text.contains("environment: cleared"), text)
        XCTAssertTrue(text.contains("bwrap arguments: --unshare-all --share-net --die-with-parent"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out")), "nothing is built")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path("tmp")), [], "its work directory is removed")
    }

    /// A runner where namespaces cannot be created (a user namespace whose namespace limits are all 0,
    /// as a locked-down CI container is): the build stops before fetching anything, says what is missing
    /// and the choices, and exits 1; `--sandbox none` builds, warns, and marks the packages and the key.
    func testNoNamespacesIsDetectedAndSandboxNoneIsExplicit() throws {
        try requireTool("unshare", "dpkg-deb", "rpm")
        let scratch = try ScratchDirectory()
        let recipe = try writeRecipe(scratch, steps: [("install", "mkdir -p ${{targets.destdir}}/usr/share/probe && cp hello.txt ${{targets.destdir}}/usr/share/probe/")])
        func confined(_ extra: [String]) throws -> ProcessOutput {
            let args = (["build", recipe, "-o", scratch.path("out"), "--offline", "--no-image"] + extra).map { "'\($0)'" }.joined(separator: " ")
            return try TestProcess.run("unshare", ["-U", "-r", "/bin/sh", "-c",
                "for f in /proc/sys/user/max_*_namespaces; do echo 0 > $f; done; exec '\(CLI.binary)' \(args)"],
                environment: ["PKGLAYER_CACHE": scratch.path("cache"), "HOME": scratch.path("home")])
        }
        let refused = try confined([])
        XCTAssertEqual(refused.status, 1, refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("pkglayer: error: sandbox: bubblewrap cannot create the build sandbox here"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("--privileged") && refused.stderrText.contains("seccomp=unconfined")
                      && refused.stderrText.contains("VM runner") && refused.stderrText.contains("--sandbox none"), refused.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out/probe_1.0-1_all.deb")))

        let unsandboxed = try confined(["--sandbox", "none"])
        XCTAssertEqual(unsandboxed.status, 0, unsandboxed.stderrText)
        XCTAssertTrue(unsandboxed.stderrText.contains("building WITHOUT a sandbox (--sandbox none)"), unsandboxed.stderrText)
        let field = try TestProcess.runChecked("dpkg-deb", ["-f", scratch.path("out/probe_1.0-1_all.deb"), "X-Pkglayer-Sandbox"]).stdoutText
        XCTAssertEqual(field.trimmingCharacters(in: .whitespacesAndNewlines), "none")
        let contents = try TestProcess.runChecked("dpkg-deb", ["-c", scratch.path("out/probe_1.0-1_all.deb")]).stdoutText
        XCTAssertTrue(contents.contains("./usr/share/probe/hello.txt"), contents)
        let buildhost = try TestProcess.runChecked("rpm", ["-qp", "--nosignature", "--qf", "%{BUILDHOST}", scratch.path("out/probe-1.0-1.noarch.rpm")]).stdoutText
        XCTAssertEqual(buildhost, "pkglayer-unsandboxed")
        let key = try CLI.ok(["build", "--explain-key", "--sandbox", "none", recipe], environment: ["PKGLAYER_CACHE": scratch.path("cache")])
        XCTAssertTrue(key.stdoutText.contains("  sandbox none"), key.stdoutText)
    }
}
