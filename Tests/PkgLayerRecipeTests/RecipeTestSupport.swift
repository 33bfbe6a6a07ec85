import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// A scratch directory holding a recipe and the files it refers to.
final class RecipeFixture {
    let directory: String

    init() throws {
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("pkglayer-recipe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = base
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ relative: String) -> String { (directory as NSString).appendingPathComponent(relative) }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Writes `yaml` as `name` and loads it.
    func load(_ yaml: String, name: String = "recipe.yml") throws -> Recipe {
        try Recipe.load(path: try write(name, yaml))
    }

    /// The problems a recipe is rejected with, one `file:line:column: message` per entry.
    func problems(_ yaml: String, name: String = "recipe.yml", file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try write(name, yaml)
        do {
            _ = try Recipe.parse(yaml: yaml, file: name, directory: directory)
            XCTFail("the recipe was accepted", file: file, line: line)
            return []
        } catch let error as PkgLayerError {
            XCTAssertEqual(error.code, .invalidInput, file: file, line: line)
            return error.description.components(separatedBy: "\n")
        }
    }
}

/// The repository root (for recipes/ and docs/).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Runs python3 with a script and arguments; returns (status, stdout then stderr).
func runPython(_ script: String, _ arguments: [String]) throws -> (Int32, String) {
    let output = try TestProcess.run("python3", ["-c", script] + arguments)
    return (output.status, output.stdoutText + output.stderrText)
}
