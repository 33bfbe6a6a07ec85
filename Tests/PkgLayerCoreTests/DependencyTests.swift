import PkgLayerCore
import XCTest

/// Dependencies as --depends, control files and rpm headers spell them.
final class DependencyTests: XCTestCase {
    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> Dependency {
        try Dependency(parsing: text, field: "--depends")
    }

    func testAPlainName() throws {
        let dep = try parse("foo")
        XCTAssertEqual(dep, Dependency(name: "foo"))
        XCTAssertEqual(dep.name, "foo")
        XCTAssertNil(dep.alternatives[0].versionOperator)
        XCTAssertNil(dep.alternatives[0].version)
        XCTAssertEqual(dep.description, "foo")
    }

    func testEveryVersionSpellingMeansTheSame() throws {
        let expected = Dependency(name: "foo", versionOperator: .greaterOrEqual, version: "1.2")
        for text in ["foo >= 1.2", "foo (>= 1.2)", "foo>=1.2", "foo(>=1.2)", "  foo   >=   1.2  ", "foo => 1.2"] {
            XCTAssertEqual(try parse(text), expected, text)
        }
        XCTAssertEqual(expected.description, "foo >= 1.2")
    }

    func testDebianStrictOperators() throws {
        XCTAssertEqual(try parse("foo (<< 2)"), Dependency(name: "foo", versionOperator: .lessThan, version: "2"))
        XCTAssertEqual(try parse("foo (>> 2)"), Dependency(name: "foo", versionOperator: .greaterThan, version: "2"))
        XCTAssertEqual(try parse("foo < 2"), Dependency(name: "foo", versionOperator: .lessThan, version: "2"))
        XCTAssertEqual(try parse("foo (= 1:2.0-3)"), Dependency(name: "foo", versionOperator: .equal, version: "1:2.0-3"))
        XCTAssertEqual(try parse("foo == 1"), Dependency(name: "foo", versionOperator: .equal, version: "1"))
        XCTAssertEqual(try parse("foo <= 1~rc1"), Dependency(name: "foo", versionOperator: .lessOrEqual, version: "1~rc1"))
        XCTAssertEqual(try parse("foo (<< 2)").description, "foo < 2", "description uses rpm's spelling")
    }

    func testAlternatives() throws {
        let dep = try parse("a | b (>= 1)")
        XCTAssertEqual(dep.alternatives, [
            .init(name: "a"),
            .init(name: "b", versionOperator: .greaterOrEqual, version: "1"),
        ])
        XCTAssertEqual(dep.name, "a")
        XCTAssertEqual(dep.description, "a | b >= 1")
        XCTAssertEqual(try parse("libc6 (>= 2.34) | musl").alternatives.map(\.name), ["libc6", "musl"])
    }

    func testNamesWithPunctuation() throws {
        XCTAssertEqual(try parse("libstdc++6 >= 12").name, "libstdc++6")
    }

    /// rpm names capabilities with parentheses; only a trailing "(OP VERSION)" is Debian's version form.
    func testRPMCapabilityNames() throws {
        XCTAssertEqual(try parse("perl(Foo::Bar)"), Dependency(name: "perl(Foo::Bar)"))
        XCTAssertEqual(try parse("perl(Foo::Bar) >= 1.0"), Dependency(name: "perl(Foo::Bar)", versionOperator: .greaterOrEqual, version: "1.0"))
        XCTAssertEqual(try parse("perl(Foo::Bar) (>= 1.0)"), Dependency(name: "perl(Foo::Bar)", versionOperator: .greaterOrEqual, version: "1.0"))
        XCTAssertEqual(try parse("libc.so.6()(64bit)"), Dependency(name: "libc.so.6()(64bit)"))
        XCTAssertEqual(try parse("config(foo) = 1.0-1"), Dependency(name: "config(foo)", versionOperator: .equal, version: "1.0-1"))
        XCTAssertEqual(try parse("/bin/sh").name, "/bin/sh")
    }

    func testErrorsNameTheField() {
        for text in ["", ">= 1", "foo >= ", "foo >=", "foo 1.2", "foo (>= 1.2", "foo >= 1 2", "foo ~ 1", "a | ", "foo, bar"] {
            let error = XCTAssertThrowsPkgLayerError(try Dependency(parsing: text, field: "--depends"), code: .invalidInput, "'\(text)'")
            XCTAssertEqual(error?.location, "--depends", "'\(text)'")
            XCTAssertTrue(error?.description.hasPrefix("--depends: ") ?? false, "'\(text)'")
        }
        let other = XCTAssertThrowsPkgLayerError(try Dependency(parsing: "foo >= ", field: "Pre-Depends"), code: .invalidInput)
        XCTAssertEqual(other?.location, "Pre-Depends")
        XCTAssertTrue(other?.message.contains("foo >= ") ?? false, "the message quotes the input")
    }

    func testVersionOperatorSpellings() {
        let table: [(VersionOperator, rpm: String, deb: String)] = [
            (.lessThan, "<", "<<"), (.lessOrEqual, "<=", "<="), (.equal, "=", "="),
            (.greaterOrEqual, ">=", ">="), (.greaterThan, ">", ">>"),
        ]
        XCTAssertEqual(table.count, VersionOperator.allCases.count)
        for (op, rpm, deb) in table {
            XCTAssertEqual(op.rpm, rpm)
            XCTAssertEqual(op.deb, deb)
            XCTAssertEqual(VersionOperator(parsing: rpm), op)
            XCTAssertEqual(VersionOperator(parsing: deb), op)
        }
        XCTAssertEqual(VersionOperator(parsing: "=<"), .lessOrEqual)
        XCTAssertEqual(VersionOperator(parsing: "=>"), .greaterOrEqual)
        XCTAssertEqual(VersionOperator(parsing: "=="), .equal)
        for bad in ["", "<>", "!=", "~", ">>=", "==="] { XCTAssertNil(VersionOperator(parsing: bad), bad) }
    }
}
