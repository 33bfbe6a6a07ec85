import Foundation
import PkgLayerCore
@testable import PkgLayerPipeline
import PkgLayerTestSupport
import XCTest

/// `RecipeGraph.order`: build dependencies (`build.requires.recipes`) come first, each once; a cycle is an
/// error that names it and says how to fix it.
final class RecipeGraphTests: XCTestCase {
    /// Writes one `NAME.yml` (package `pkg-NAME`: a package name needs two characters) per entry, each
    /// requiring the listed recipes (as written: a name or a file).
    private func write(_ graph: KeyValuePairs<String, [String]>) throws -> ScratchDirectory {
        let scratch = try ScratchDirectory()
        for (name, requires) in graph {
            var yaml = "package:\n  name: pkg-\(name)\n  version: \"1.0\"\n  summary: \(name)\n"
            if !requires.isEmpty {
                yaml += "build:\n  requires:\n    recipes: [\(requires.joined(separator: ", "))]\n"
            }
            try scratch.write("\(name).yml", yaml)
        }
        return scratch
    }

    func testChainBuildsDependenciesFirst() throws {
        // One reference by name, one by file name.
        let scratch = try write(["a": ["b"], "b": ["c.yml"], "c": []])
        let order = try RecipeGraph.order(root: scratch.path("a.yml"))
        XCTAssertEqual(order.map(\.package.name), ["pkg-c", "pkg-b", "pkg-a"])
    }

    func testDiamondBuildsTheSharedDependencyOnce() throws {
        let scratch = try write(["top": ["left", "right"], "left": ["base"], "right": ["base"], "base": []])
        let order = try RecipeGraph.order(root: scratch.path("top.yml"))
        XCTAssertEqual(order.map(\.package.name), ["pkg-base", "pkg-left", "pkg-right", "pkg-top"])
    }

    func testCycleIsAnErrorNamingIt() throws {
        let scratch = try write(["a": ["b"], "b": ["a"]])
        XCTAssertThrowsError(try RecipeGraph.order(root: scratch.path("a.yml"))) { error in
            guard let error = error as? PkgLayerError else { return XCTFail("not a PkgLayerError: \(error)") }
            XCTAssertEqual(error.code, .invalidInput)
            XCTAssertTrue(error.message.contains("a.yml -> b.yml -> a.yml"), error.message)
            XCTAssertTrue(error.message.contains("remove one of these requires.recipes entries"), error.message)
            XCTAssertEqual(error.location, scratch.path("a.yml"))
        }
    }

    /// A cycle below the root names only the recipes in the cycle.
    func testCycleBelowTheRootNamesOnlyTheCycle() throws {
        let scratch = try write(["root": ["x"], "x": ["y"], "y": ["x"]])
        XCTAssertThrowsError(try RecipeGraph.order(root: scratch.path("root.yml"))) { error in
            let message = (error as? PkgLayerError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("cycle: x.yml -> y.yml -> x.yml;"), message)
            XCTAssertFalse(message.contains("root.yml"), message)
        }
    }
}
