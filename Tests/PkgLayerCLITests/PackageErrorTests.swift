import Foundation
import PkgLayerTestSupport
import XCTest

/// Bad input gets a clear error naming the flag or path, a non-zero exit, and nothing written.
final class PackageErrorTests: XCTestCase {
    private func expectFailure(_ args: [String], mentions: [String], in dir: String? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(args, in: dir, environment: fixedEpoch)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(args)", file: file, line: line)
        for word in mentions {
            XCTAssertTrue(result.stderrText.contains(word), "stderr should mention '\(word)':\n\(result.stderrText)", file: file, line: line)
        }
    }

    func testRefusesToOverwriteWithoutForce() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        let out = try scratch.makeDirectory("out")
        let args = ["package", "-t", "deb", "-n", "ow", "-v", "1", "-a", "all", "-C", root, "-p", out + "/", "."]
        try CLI.ok(args, environment: fixedEpoch)
        let deb = out + "/ow_1_all.deb"
        let before = try Data(contentsOf: URL(fileURLWithPath: deb))
        try expectFailure(["package", "-t", "deb", "-n", "ow", "-v", "1", "-a", "all", "-C", root, "-p", out + "/",
                           "--description", "changed", "."], mentions: [deb, "-f"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: deb)), before)
        try CLI.ok(args + ["-f"], environment: fixedEpoch)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["ow_1_all.deb"], "no temporary files left")
    }

    func testUsageErrorsNameTheFlag() throws {
        let scratch = try ScratchDirectory()
        let root = try makeSampleTree(in: scratch)
        try expectFailure(["package", "-t", "zip", "-n", "x", "-C", root, "."], mentions: ["-t", "zip"])
        try expectFailure(["package", "-n", "x", "-C", root, "."], mentions: ["-t"])
        try expectFailure(["package", "-t", "rpm", "-C", root, "."], mentions: ["-n/--name"])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "-d", "foo >=", "-C", root, "."], mentions: ["-d/--depends", "foo >="])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "-C", scratch.path("nope"), "."], mentions: ["-C"])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "-a", "sparc9", "-C", root, "."], mentions: ["-a", "sparc9"])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "-v", "1.0-2", "-C", root, "."], mentions: ["version", "--iteration"])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "--rpm-compression", "brotli", "-C", root, "."], mentions: ["--rpm-compression"])
        try expectFailure(["package", "-t", "rpm", "-n", "x", "--before-install", scratch.path("missing.sh"), "-C", root, "."],
                          mentions: ["--before-install"])
        try expectFailure(["package", "-t", "rpm", "-t", "deb", "-n", "x", "-p", scratch.path("one.pkg"), "-C", root, "."],
                          mentions: ["-p", "TYPE"])
    }

    func testHostileTarballIsRefusedAndNothingIsWritten() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.write("evil/x", "x")
        _ = try scratch.makeDirectory("evil/sub")
        // A member that climbs out of the root.
        // (-P keeps the ../ that GNU tar would otherwise strip.)
        try TestProcess.runChecked("tar", ["-P", "-cf", scratch.path("climb.tar"), "-C", scratch.path("evil/sub"), "../x"])
        let out = try scratch.makeDirectory("out")
        try expectFailure(["package", "-s", "tar", "-t", "rpm", "-n", "evil", "-p", out + "/", scratch.path("climb.tar")],
                          mentions: ["climb.tar", ".."])
        // A symlink that points outside, then a member written through it.
        _ = try scratch.makeDirectory("evil2")
        _ = try scratch.symlink("evil2/link", to: "../../../../../../../tmp")
        _ = try scratch.makeDirectory("evil3/link")
        _ = try scratch.write("evil3/link/payload", "x")
        try TestProcess.runChecked("tar", ["-cf", scratch.path("link.tar"), "-C", scratch.path("evil2"), "link"])
        try TestProcess.runChecked("tar", ["-rf", scratch.path("link.tar"), "-C", scratch.path("evil3"), "link/payload"])
        try expectFailure(["package", "-s", "tar", "-t", "rpm", "-n", "evil", "-p", out + "/", scratch.path("link.tar")],
                          mentions: ["link.tar", "link"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    func testDuplicateDestinationIsRefused() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.write("a/conf", "a")
        _ = try scratch.write("b/conf", "b")
        try expectFailure(["package", "-t", "deb", "-n", "dup", "-p", scratch.path("o.deb"),
                           scratch.path("a/conf") + "=/etc/dup.conf", scratch.path("b/conf") + "=/etc/dup.conf"],
                          mentions: ["/etc/dup.conf"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("o.deb")))
    }
}
