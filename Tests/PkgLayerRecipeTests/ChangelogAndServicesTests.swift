import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// `package.changelog` and `package.services`: decoding, errors, lowering into the spec and (through
/// `ServiceIntegration`) the manifest, and the cache key.
final class ChangelogAndServicesTests: XCTestCase {
    private let recipe = """
        package:
          name: hellod
          version: "1.2"
          release: "3"
          summary: a daemon
          changelog:
            - date: "2023-11-14T22:13:20Z"
              author: Jane Doe <jane@example.org>
              changes: |
                Fixed the greeting
                Added a flag
            - date: 1600000000
              author: John Roe <john@example.org>
              version: 1.0-1
              changes: [Initial release]
          services:
            - unit: units/hellod.service
            - unit: units/helper.service
              enable: false
              start: false
              restart-after-upgrade: false
        """

    private func fixture() throws -> RecipeFixture {
        let fx = try RecipeFixture()
        try fx.write("units/hellod.service", "[Service]\nExecStart=/usr/sbin/hellod\n")
        try fx.write("units/helper.service", "[Service]\nExecStart=/usr/sbin/helper\n")
        return fx
    }

    func testDecodingAndLowering() throws {
        let fx = try fixture()
        let r = try fx.load(recipe)
        XCTAssertEqual(r.package.changelog, [
            ChangelogEntry(date: 1_700_000_000, author: "Jane Doe <jane@example.org>", text: "Fixed the greeting\nAdded a flag\n"),
            ChangelogEntry(date: 1_600_000_000, author: "John Roe <john@example.org>", version: "1.0-1", text: "Initial release"),
        ])
        XCTAssertEqual(r.package.services.map(\.relativeUnit), ["units/hellod.service", "units/helper.service"])
        XCTAssertEqual(r.package.services.map(\.enable), [true, false])
        XCTAssertEqual(r.package.services.map(\.start), [true, false])
        XCTAssertEqual(r.package.services.map(\.restartAfterUpgrade), [true, false])

        for format in PackageFormat.allCases {
            let lowered = try r.packages(for: format, architecture: .x86_64, sourceDateEpoch: SourceDateEpoch(1_700_000_000))
            var spec = lowered[0].spec
            XCTAssertEqual(spec.changelog, r.package.changelog)
            XCTAssertEqual(lowered[0].services.map(\.serviceName), ["hellod", "helper"])
            let manifest = try lowered[0].applyServices(format: format, to: &spec,
                                                        manifest: try FileManifest(entries: [], implicitDirectoryMtime: 0))
            let dir = format == .deb ? "/lib/systemd/system" : "/usr/lib/systemd/system"
            XCTAssertEqual(manifest.entries.filter { $0.kind == .file }.map(\.path), [dir + "/hellod.service", dir + "/helper.service"])
            XCTAssertEqual(manifest[dir + "/hellod.service"]?.sourcePath, fx.path("units/hellod.service"))
            let postinst = try XCTUnwrap(spec.scripts[.afterInstall])
            XCTAssertTrue(postinst.contains("if [ -d /run/systemd/system ]; then"), postinst)
            XCTAssertTrue(postinst.contains("hellod.service") && postinst.contains("service helper"), postinst)
            if format == .deb {
                XCTAssertTrue(postinst.contains("deb-systemd-invoke start 'hellod.service'"), postinst)
                XCTAssertFalse(postinst.contains("deb-systemd-invoke start 'helper.service'"), postinst)
                XCTAssertNotNil(spec.extras.debAfterPurge)
            } else {
                XCTAssertTrue(postinst.contains("systemctl --no-reload enable 'hellod.service'"), postinst)
                XCTAssertFalse(postinst.contains("enable 'helper.service'"), postinst)
            }
        }
    }

    func testErrors() throws {
        let fx = try fixture()
        try fx.write("units/not-a-unit.txt", "x\n")
        let problems = try fx.problems("""
            package:
              name: hellod
              version: "1.2"
              summary: a daemon
              changelog:
                - date: yesterday
                  changes: x
              services:
                - unit: units/hellod.service
                  start: maybe
            """)
        let text = problems.joined(separator: "\n")
        XCTAssertTrue(text.contains("package.changelog[0]") && text.contains("author"), text)
        XCTAssertTrue(text.contains("'yesterday' is not a date"), text)
        XCTAssertTrue(text.contains("package.services[0].start"), text)

        // File problems are found once the shape is right, all at once.
        let files = try fx.problems("""
            package:
              name: hellod
              version: "1.2"
              summary: a daemon
              services:
                - unit: ../outside.service
                - unit: units/missing.service
                - unit: units/not-a-unit.txt
            """, name: "files.yml").joined(separator: "\n")
        XCTAssertTrue(files.contains("package.services[0].unit") && files.contains("outside the build context"), files)
        XCTAssertTrue(files.contains("units/missing.service"), files)
        XCTAssertTrue(files.contains("not a systemd service unit"), files)
    }

    /// A recipe without the new fields keeps its cache key's text; the unit's content is part of the key.
    func testCanonicalKey() throws {
        let fx = try fixture()
        let plain = try fx.load("package:\n  name: hellod\n  version: \"1.2\"\n  summary: a daemon\n", name: "plain.yml")
        let json = try plain.canonicalJSON()
        XCTAssertFalse(json.contains("changelog") || json.contains("services"), json)

        let before = try fx.load(recipe).canonicalDigest()
        try fx.write("units/hellod.service", "[Service]\nExecStart=/usr/sbin/hellod --changed\n")
        XCTAssertNotEqual(try fx.load(recipe).canonicalDigest(), before)
    }
}
