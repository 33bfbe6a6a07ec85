import Foundation
import PkgLayerTestSupport
import XCTest

/// fpm's name rules for debs (issue 22): `-n MyApp` and `-n my_app` are not refused; the deb is named
/// `myapp` / `my-app` with fpm's warning, as dpkg wants, while the rpm keeps the name as given.
final class FpmNameRulesTests: XCTestCase {
    func testDebNamesAreLowerCasedAndUnderscoresBecomeDashesWithAWarning() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory(prefix: "pkglayer-fpm-names")
        let tree = try makeSampleTree(in: scratch)
        for (given, debName) in [("MyApp", "myapp"), ("my_app", "my-app"), ("My_App2", "my-app2")] {
            let out = try scratch.makeDirectory("out-\(given)")
            let result = try CLI.ok(["package", "-s", "dir", "-t", "deb", "-t", "rpm", "-n", given, "-v", "1.0", "-C", tree, "-p", out + "/", "."],
                                    environment: fixedEpoch)
            let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            guard let deb = files.first(where: { $0.hasSuffix(".deb") }), let rpm = files.first(where: { $0.hasSuffix(".rpm") }) else {
                return XCTFail("\(given): no deb and rpm in \(files)")
            }
            XCTAssertTrue(deb.hasPrefix("\(debName)_1.0"), "\(given): \(deb)")
            let field = try TestProcess.run("/usr/bin/dpkg-deb", ["-f", out + "/" + deb, "Package"])
            XCTAssertEqual(field.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), debName, field.stderrText)
            let rpmName = try TestProcess.run("/usr/bin/rpm", ["-qp", "--nosignature", "--qf", "%{NAME}", out + "/" + rpm])
            XCTAssertEqual(rpmName.stdoutText, given, rpmName.stderrText)
            XCTAssertTrue(result.stderrText.contains("warning:") && result.stderrText.contains("'\(debName)'"), result.stderrText)
        }
    }
}

/// `pkglayer package -f .` run twice in the tree it packs (issue 22): the first run's packages lie in
/// the input; the second leaves them out (with a warning) instead of packing them into itself.
final class OwnOutputTests: XCTestCase {
    func testASecondRunDoesNotPackThePreviousRunsOutput() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory(prefix: "pkglayer-own-output")
        let tree = try makeSampleTree(in: scratch)
        let arguments = ["package", "-f", "-s", "dir", "-t", "deb", "-t", "rpm", "-n", "selfish", "-v", "1", "."]
        try CLI.ok(arguments, in: tree, environment: fixedEpoch)
        let first = try FileManager.default.contentsOfDirectory(atPath: tree).filter { $0.hasSuffix(".deb") || $0.hasSuffix(".rpm") }.sorted()
        XCTAssertEqual(first.count, 2, "\(first)")
        let second = try CLI.ok(arguments, in: tree, environment: fixedEpoch)
        XCTAssertTrue(second.stderrText.contains("this run's own output"), second.stderrText)
        for name in first {
            let listing = name.hasSuffix(".deb")
                ? try TestProcess.run("/usr/bin/dpkg-deb", ["-c", tree + "/" + name]).stdoutText
                : try TestProcess.run("/usr/bin/rpm", ["-qpl", "--nosignature", tree + "/" + name]).stdoutText
            XCTAssertFalse(listing.contains(".deb") || listing.contains(".rpm"), "\(name) packs an earlier package:\n\(listing)")
        }
    }
}
