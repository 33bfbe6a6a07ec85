import Foundation
import PkgLayerTestSupport
import XCTest

/// The one "this machine must have" helper the tests share: a missing tool, fixture or condition skips
/// the test, and fails it under PKGLAYER_REQUIRE_ALL=1 (what scripts/test.sh sets).
final class RequirementsTests: XCTestCase {
    private var saved: String?

    override func setUp() {
        saved = ProcessInfo.processInfo.environment["PKGLAYER_REQUIRE_ALL"]
    }

    override func tearDown() {
        if let saved { setenv("PKGLAYER_REQUIRE_ALL", saved, 1) } else { unsetenv("PKGLAYER_REQUIRE_ALL") }
    }

    private func strict(_ on: Bool) {
        if on { setenv("PKGLAYER_REQUIRE_ALL", "1", 1) } else { unsetenv("PKGLAYER_REQUIRE_ALL") }
    }

    func testPresentToolsFixturesAndConditionsPass() throws {
        for on in [false, true] {
            strict(on)
            try requireTool("sh", "/bin/sh")
            try requireFixture("/", what: "the root directory")
            try requireCondition(true, "never said")
        }
    }

    func testAMissingToolSkipsNamingItsPackage() {
        strict(false)
        XCTAssertThrowsError(try requireTool("sh", "skopeo-pkglayer-no-such-tool")) { error in
            let message = (error as? XCTSkip)?.message ?? ""
            XCTAssertEqual(message, "skopeo-pkglayer-no-such-tool is missing: install it (and add it to scripts/install-deps.sh)", "\(error)")
        }
        XCTAssertEqual(missingToolMessage("skopeo"), "skopeo is missing: apt-get install skopeo (scripts/install-deps.sh installs it)")
        XCTAssertEqual(missingToolMessage("/usr/sbin/useradd"), "/usr/sbin/useradd is missing: apt-get install passwd (scripts/install-deps.sh installs it)")
        XCTAssertTrue(missingToolMessage("/opt/pkglayer-spdx/bin/pyspdxtools").contains("pip install spdx-tools"))
    }

    func testUnderRequireAllAMissingToolFixtureOrConditionIsAFailureNotASkip() {
        strict(true)
        XCTAssertThrowsError(try requireTool("pkglayer-no-such-tool")) { error in
            XCTAssertFalse(error is XCTSkip)
            XCTAssertTrue(error is MissingRequirement)
            XCTAssertTrue("\(error)".hasPrefix("pkglayer-no-such-tool is missing: "), "\(error)")
            XCTAssertTrue("\(error)".contains("RequirementsTests.swift:"), "the failure says where it was required: \(error)")
        }
        XCTAssertThrowsError(try requireFixture("/nonexistent/pkglayer", what: "a fixture", fix: "make it")) { error in
            XCTAssertTrue("\(error)".hasPrefix("a fixture is missing (/nonexistent/pkglayer): make it"), "\(error)")
            XCTAssertFalse(error is XCTSkip)
        }
        XCTAssertThrowsError(try requireCondition(false, "the sandbox cannot make namespaces")) { error in
            XCTAssertTrue("\(error)".hasPrefix("the sandbox cannot make namespaces"), "\(error)")
            XCTAssertFalse(error is XCTSkip)
        }
        strict(false)
        XCTAssertThrowsError(try requireCondition(false, "the sandbox cannot make namespaces")) { error in
            XCTAssertEqual((error as? XCTSkip)?.message, "the sandbox cannot make namespaces")
        }
    }

    /// runc and setcap live in /usr/sbin, which a user's PATH often lacks.
    func testSbinIsSearchedAfterPath() throws {
        let saved = ProcessInfo.processInfo.environment["PATH"]
        defer { if let saved { setenv("PATH", saved, 1) } }
        setenv("PATH", "/nonexistent", 1)
        XCTAssertNil(TestProcess.which("sh"))
        let sbin = try XCTUnwrap(["/usr/sbin", "/sbin"].flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
        }.first { FileManager.default.isExecutableFile(atPath: $0) })
        XCTAssertNotNil(TestProcess.which((sbin as NSString).lastPathComponent), sbin)
    }
}
