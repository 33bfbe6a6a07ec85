import Foundation
import PkgLayerCore
import PkgLayerPipeline
import XCTest

/// fpm users' `-d` values, read the way rpm reads a `Requires:` line, and fpm's script templates.
final class FpmDependencyListTests: XCTestCase {
    private func names(_ text: String) throws -> [String] {
        try DependencyList.parse(text, field: "-d").map(\.description)
    }

    func testSeveralRequirementsInOneValue() throws {
        XCTAssertEqual(try names("libjpeg libpng freetype glibc >= 2.17, zlib"),
                       ["libjpeg", "libpng", "freetype", "glibc >= 2.17", "zlib"])
        // The php seed: 16 names, one of them after two spaces.
        let php = "libjpeg libpng freetype libxml2 zlib glibc glib2 bzip2 curl e2fsprogs openssl make  cmake libmcrypt readline libxslt"
        XCTAssertEqual(try names(php).count, 16)
        XCTAssertEqual(try names("a>=1,b<2 c = 3"), ["a >= 1", "b < 2", "c = 3"])
    }

    func testDebianSpellingsAlternativesAndCapabilities() throws {
        XCTAssertEqual(try names("libc6 (>= 2.31), zlib1g (<< 2)"), ["libc6 >= 2.31", "zlib1g < 2"])
        XCTAssertEqual(try names("mail-transport-agent | postfix (>= 3) , bash"), ["mail-transport-agent | postfix >= 3", "bash"])
        XCTAssertEqual(try names("perl(Foo::Bar) >= 1.2 libc.so.6()(64bit)"), ["perl(Foo::Bar) >= 1.2", "libc.so.6()(64bit)"])
        let one = try DependencyList.parse("a | b (>= 2)", field: "-d")
        XCTAssertEqual(one.count, 1)
        XCTAssertEqual(one[0].alternatives.map(\.name), ["a", "b"])
    }

    func testMalformedValuesNameTheFlag() {
        for bad in [">= 1", "a >=", "a | ", "a >= 1 >= 2", ""] {
            XCTAssertThrowsError(try DependencyList.parse(bad, field: "--depends"), bad) { error in
                XCTAssertTrue(PkgLayerError.describe(error).contains("--depends"), "\(bad): \(error)")
            }
        }
    }

    func testIgnoreIterationWidensEquals() {
        let deps = [Dependency(name: "foo", versionOperator: .equal, version: "1.2.9"), Dependency(name: "bar")]
        XCTAssertEqual(PackageJob.ignoringIteration(deps).map(\.description), ["foo >= 1.2.9", "foo < 1.2.10", "bar"])
    }

    func testTemplatesRenderKnownNamesAndRefuseTheRest() throws {
        let values = ["name": "php", "version": "7.1.8", "iteration": "3.el7", "port": "80"]
        XCTAssertEqual(try PackageJob.render("echo <%= name %>-<%= @version %> <%=port-%>\nx<%# c %>\n", values: values, file: "s.sh"),
                       "echo php-7.1.8 80x\n")
        for bad in ["<% if true %>x<% end %>", "<%= nope %>", "<%= name.upcase %>", "<%= name"] {
            XCTAssertThrowsError(try PackageJob.render(bad, values: values, file: "post.sh"), bad) { error in
                let text = PkgLayerError.describe(error)
                XCTAssertTrue(text.contains("post.sh"), text)
            }
        }
    }
}
