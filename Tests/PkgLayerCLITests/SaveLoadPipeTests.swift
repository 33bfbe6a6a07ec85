import Foundation
import PkgLayerTestSupport
import XCTest

/// docker's habits (issue 22): `pkglayer save IMAGE > f.tar` and `pkglayer load < f.tar`, through real
/// pipes, give the same archive as `-o` and load it; nothing is left in TMPDIR.
final class SaveLoadPipeTests: XCTestCase {
    func testSaveToStdoutAndLoadFromStdin() throws {
        try requireTool("skopeo", "tar")
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-pipes")
        let tmp = try scratch.makeDirectory("tmp")
        let env = ["PKGLAYER_CACHE": scratch.path("cache"), "TMPDIR": tmp]
        _ = try scratch.write("tree/etc/app", "app\n")
        try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "-cf", scratch.path("root.tar"),
                                           "-C", scratch.path("tree"), "."])
        try CLI.ok(["import", scratch.path("root.tar"), "app:1"], environment: env)
        try CLI.ok(["save", "app:1", "-o", scratch.path("file.tar")], environment: env)

        func shell(_ command: String, _ environment: [String: String]) throws -> ProcessOutput {
            try TestProcess.run("/bin/sh", ["-c", command], environment: environment)
        }
        let quoted = "'\(CLI.binary)'"
        let saved = try shell("\(quoted) save app:1 > '\(scratch.path("piped.tar"))'", env)
        XCTAssertEqual(saved.status, 0, saved.stderrText)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch.path("piped.tar"))),
                       try Data(contentsOf: URL(fileURLWithPath: scratch.path("file.tar"))), "save > FILE and save -o FILE differ")
        XCTAssertTrue(saved.stderrText.contains("to stdout"), saved.stderrText)

        let fresh = ["PKGLAYER_CACHE": scratch.path("cache2"), "TMPDIR": tmp]
        let loaded = try shell("\(quoted) load < '\(scratch.path("piped.tar"))'", fresh)
        XCTAssertEqual(loaded.status, 0, loaded.stderrText)
        XCTAssertEqual(loaded.stdoutText, "Loaded image: app:1\n")
        let piped = try shell("\(quoted) save app:1 | \(quoted) load", ["PKGLAYER_CACHE": scratch.path("cache"), "TMPDIR": tmp])
        XCTAssertEqual(piped.status, 0, piped.stderrText)
        XCTAssertTrue(try TestProcess.runChecked("skopeo", ["inspect", "oci:\(scratch.path("cache2/images")):app:1"]).succeeded)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "work files left in TMPDIR")

        // Not to a terminal, and not from one: a clear error (script(1) gives the command a terminal).
        if let script = TestProcess.which("script") {
            let tty = try TestProcess.run(script, ["-qec", "\(quoted) save app:1", "/dev/null"], environment: env)
            XCTAssertNotEqual(tty.status, 0)
            XCTAssertTrue(tty.stdoutText.contains("will not write an archive to a terminal"), tty.stdoutText)
        }
    }
}
