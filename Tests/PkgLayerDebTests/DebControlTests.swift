import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

final class DebControlTests: XCTestCase {
    private func spec() -> PackageSpec {
        var s = PackageSpec(name: "demo", version: "2.3", release: "4", epoch: 1, architecture: .aarch64,
                            sourceDateEpoch: SourceDateEpoch(1000))
        s.summary = "a demo"
        return s
    }

    func testFieldOrderAndValues() throws {
        var s = spec()
        s.description = "Line one.\n\nLine three.\n  indented verbatim"
        s.depends = [try Dependency(parsing: "libc6 >= 2.36", field: "d"), try Dependency(parsing: "aa | bb (<< 3)", field: "d")]
        s.preDepends = [Dependency(name: "dpkg", versionOperator: .greaterOrEqual, version: "1.17")]
        s.recommends = [Dependency(name: "curl")]
        s.suggests = [Dependency(name: "wget")]
        s.conflicts = [Dependency(name: "old-demo")]
        s.breaks = [Dependency(name: "other", versionOperator: .lessThan, version: "1:1.0-1")]
        s.obsoletes = [Dependency(name: "demo-legacy", versionOperator: .lessThan, version: "2")]
        s.provides = [Dependency(name: "demo-api", versionOperator: .equal, version: "2")]
        s.url = "https://example.org"
        s.vendor = "Example Inc."
        let p = try DebControl.paragraph(spec: s, installedSizeKiB: 42)
        XCTAssertEqual(p.fields.map(\.name), ["Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Pre-Depends",
                                               "Depends", "Recommends", "Suggests", "Conflicts", "Breaks", "Replaces", "Provides",
                                               "Section", "Priority", "Homepage", "Vendor", "Description"])
        XCTAssertEqual(p["Version"], "1:2.3-4")
        XCTAssertEqual(p["Architecture"], "arm64")
        XCTAssertEqual(p["Maintainer"], DebControl.defaultMaintainer)
        XCTAssertEqual(p["Installed-Size"], "42")
        XCTAssertEqual(p["Depends"], "libc6 (>= 2.36), aa | bb (<< 3)")
        XCTAssertEqual(p["Pre-Depends"], "dpkg (>= 1.17)")
        XCTAssertEqual(p["Breaks"], "other (<< 1:1.0-1), demo-legacy (<< 2)")
        XCTAssertEqual(p["Replaces"], "demo-legacy (<< 2)")
        XCTAssertEqual(p["Provides"], "demo-api (= 2)")
        XCTAssertEqual(p["Section"], "misc")
        XCTAssertEqual(p["Priority"], "optional")
        XCTAssertEqual(p["Description"], "a demo\n Line one.\n .\n Line three.\n   indented verbatim")
        XCTAssertTrue(p.rendered.hasSuffix("Description: a demo\n Line one.\n .\n Line three.\n   indented verbatim\n"))
    }

    func testDescriptionFallbacks() {
        var s = spec()
        s.summary = nil
        s.description = "\nFirst line becomes the synopsis\nand this the body\n\n"
        XCTAssertEqual(DebControl.description(spec: s), "First line becomes the synopsis\n and this the body")
        s.description = nil
        XCTAssertEqual(DebControl.description(spec: s), "no description given")
        s.summary = "only a summary"
        XCTAssertEqual(DebControl.description(spec: s), "only a summary")
        s.description = "."
        XCTAssertEqual(DebControl.description(spec: s), "only a summary\n  .", "a lone '.' line must not become a blank-line marker")
    }

    func testDescriptionParse() {
        let parsed = DebControl.parseDescription("syn\n body one\n .\n   verbatim")
        XCTAssertEqual(parsed.synopsis, "syn")
        XCTAssertEqual(parsed.extended, "body one\n\n  verbatim")
        XCTAssertNil(DebControl.parseDescription("syn").extended)
        XCTAssertNil(DebControl.parseDescription("syn\n syn").extended, "a copied synopsis is no extended description")
    }

    func testRelationsDpkgWouldRefuse() {
        var s = spec()
        s.provides = [Dependency(name: "virt", versionOperator: .greaterOrEqual, version: "1")]
        XCTAssertThrowsError(try DebControl.paragraph(spec: s, installedSizeKiB: 1)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.location, "Provides")
        }
        s = spec()
        s.conflicts = [Dependency(alternatives: [.init(name: "aa"), .init(name: "bb")])]
        XCTAssertThrowsError(try DebControl.paragraph(spec: s, installedSizeKiB: 1)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.location, "Conflicts")
        }
        s = spec()
        s.depends = [Dependency(name: "perl(Foo::Bar)")]
        XCTAssertThrowsError(try DebControl.paragraph(spec: s, installedSizeKiB: 1)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.location, "Depends")
        }
        s = spec()
        s.depends = [Dependency(name: "libfoo:any"), Dependency(name: "python3:amd64")]
        XCTAssertNoThrow(try DebControl.paragraph(spec: s, installedSizeKiB: 1))
    }

    func testSpecsDebianRefuses() {
        var s = spec()
        s.name = "Upper"
        XCTAssertThrowsError(try DebControl.validate(s)) { XCTAssertEqual(($0 as? PkgLayerError)?.location, "name") }
        s = spec()
        s.name = "under_score"
        XCTAssertThrowsError(try DebControl.validate(s))
        s = spec()
        s.version = "1.0_beta"
        XCTAssertThrowsError(try DebControl.validate(s)) { XCTAssertEqual(($0 as? PkgLayerError)?.location, "version") }
        s = spec()
        s.maintainer = "A\nInjected: field"
        XCTAssertThrowsError(try DebControl.validate(s)) { XCTAssertEqual(($0 as? PkgLayerError)?.location, "maintainer") }
    }

    func testVersionParsing() throws {
        let v = try DebVersion(parsing: "1:2.3-4", location: "x")
        XCTAssertEqual(v, DebVersion(epoch: 1, upstream: "2.3", revision: "4"))
        XCTAssertEqual(v.fileNameForm, "2.3-4")
        XCTAssertEqual(try DebVersion(parsing: "1.2-beta-3", location: "x"), DebVersion(epoch: nil, upstream: "1.2-beta", revision: "3"))
        XCTAssertEqual(try DebVersion(parsing: "7", location: "x"), DebVersion(epoch: nil, upstream: "7", revision: nil))
        XCTAssertThrowsError(try DebVersion(parsing: "x:1", location: "x"))
        XCTAssertThrowsError(try DebVersion(parsing: "1.0-", location: "x"))
        XCTAssertThrowsError(try DebVersion(parsing: "abc", location: "x"))
    }

    func testFileNameOmitsEpoch() {
        var s = spec()
        XCTAssertEqual(DebWriter().fileName(for: s), "demo_2.3-4_arm64.deb")
        s.release = nil
        s.architecture = .noarch
        XCTAssertEqual(DebWriter().fileName(for: s), "demo_2.3_all.deb")
    }

    func testControlParagraphParsing() throws {
        let text = "Package: x\r\nDescription: syn\n body\n .\n more\n# comment\nDepends: a,\n b (>= 1)\n\n"
        let p = try ControlParagraph(parsing: text, location: "t")
        XCTAssertEqual(p["package"], "x")
        XCTAssertEqual(p["Description"], "syn\n body\n .\n more")
        XCTAssertEqual(p["Depends"], "a,\n b (>= 1)")
        XCTAssertThrowsError(try ControlParagraph(parsing: " leading continuation\n", location: "t"))
        XCTAssertThrowsError(try ControlParagraph(parsing: "A: 1\nA: 2\n", location: "t"))
        XCTAssertThrowsError(try ControlParagraph(parsing: "A: 1\n\nB: 2\n", location: "t"))
        XCTAssertThrowsError(try ControlParagraph(parsing: "no colon here\n", location: "t"))
    }

    func testInstalledSizeFollowsDpkgGencontrol() throws {
        let fx = try Fixture()
        try fx.file("/usr/bin/a", String(repeating: "x", count: 1025))   // 2 KiB
        try fx.file("/usr/bin/b", "")                                    // 0 KiB
        fx.hardlink("/usr/bin/c", to: "/usr/bin/a")                       // counted once
        fx.symlink("/usr/bin/d", to: "a")                                 // 1 KiB
        var warnings: [String] = []
        let plan = try DebPlan(manifest: try fx.manifest(), warnings: &warnings)
        // ./, /usr, /usr/bin: 3 directories at 1 KiB each.
        XCTAssertEqual(plan.installedSizeKiB, 3 + 2 + 0 + 1)
    }
}
