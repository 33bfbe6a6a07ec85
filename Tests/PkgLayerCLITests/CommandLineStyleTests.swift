import Foundation
import PkgLayerTestSupport
import XCTest

/// One error style and one program version on the command line (issue 22).
final class CommandLineStyleTests: XCTestCase {
    func testAMistypedCommandSuggestsTheNearestOne() throws {
        let out = try CLI.run(["biuld", "recipes/hello.yml"])
        XCTAssertEqual(out.status, 64, out.stderrText)
        XCTAssertTrue(out.stderrText.hasPrefix("pkglayer: error: 'biuld' is not a pkglayer command. Did you mean 'build'?"), out.stderrText)
        XCTAssertEqual(out.stdoutText, "")
        let far = try CLI.run(["xyzzy"])
        XCTAssertEqual(far.status, 64)
        XCTAssertFalse(far.stderrText.contains("Did you mean"), far.stderrText)
    }

    func testArgumentErrorsUsePkglayersPrefix() throws {
        let out = try CLI.run(["build", "--no-such-flag", "recipes/hello.yml"])
        XCTAssertEqual(out.status, 64, out.stderrText)
        XCTAssertTrue(out.stderrText.hasPrefix("pkglayer: error: "), out.stderrText)
        XCTAssertTrue(out.stderrText.contains("--no-such-flag"), out.stderrText)
        XCTAssertFalse(out.stderrText.contains("Error: "), out.stderrText)
    }

    func testOneProgramVersion() throws {
        let flag = try CLI.ok(["--version"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let command = try CLI.ok(["version"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(flag.isEmpty)
        XCTAssertEqual(flag, command)
        // `package`'s -v/--version is fpm's package version, and nothing else.
        let help = try CLI.ok(["package", "--help"]).stdoutText
        XCTAssertFalse(help.contains("Show the version"), help)
        let missing = try CLI.run(["package", "--version"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderrText.hasPrefix("pkglayer: error: "), missing.stderrText)
    }
}

/// Silent acceptance, no more (issue 22): options that would do nothing, or name nothing, are errors.
final class SilentAcceptanceTests: XCTestCase {
    func testACacheModeWithoutACacheOrABogusOneIsAnError() throws {
        let recipe = BuildFixtures.recipe("hello.yml")
        let bogus = try CLI.run(["build", recipe, "--cache-mode", "bogus", "--no-image"], environment: ["PKGLAYER_CACHE_REPO": ""])
        XCTAssertNotEqual(bogus.status, 0)
        XCTAssertTrue(bogus.stderrText.contains("unknown cache mode 'bogus'"), bogus.stderrText)
        let alone = try CLI.run(["build", recipe, "--cache-mode", "read", "--no-image"], environment: ["PKGLAYER_CACHE_REPO": ""])
        XCTAssertNotEqual(alone.status, 0)
        XCTAssertTrue(alone.stderrText.contains("--cache-mode") && alone.stderrText.contains("--cache HOST/REPOSITORY"), alone.stderrText)
    }

    func testASourcesDirectoryThatDoesNotExistIsAnError() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-sources")
        let out = try CLI.run(["build", BuildFixtures.recipe("hello.yml"), "-o", scratch.path("out"), "--sources", scratch.path("no-such-dir"),
                               "--offline", "--no-image"], environment: ["PKGLAYER_CACHE": scratch.path("cache")])
        XCTAssertNotEqual(out.status, 0)
        XCTAssertTrue(out.stderrText.contains("no-such-dir") && out.stderrText.contains("is not a directory"), out.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out")))
    }
}
