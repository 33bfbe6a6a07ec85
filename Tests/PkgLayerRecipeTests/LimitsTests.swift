import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// Hostile recipe and image files are refused with a limit error before Yams' tree is walked
/// (docs/limits.md): oversized files, alias bombs ("billion laughs") and deep nesting.
final class RecipeLimitsTests: XCTestCase {
    static let valid = "package: { name: hello, version: '1', summary: Hello }\n"

    /// Nine levels of ten aliases each: 10^9 nodes once expanded, 100 lines of text.
    static func billionLaughs(key: String = "lol") -> String {
        var yaml = "\(key)0: &a0 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]\n"
        for level in 1...8 {
            yaml += "\(key)\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        return yaml
    }

    func testOversizedFilesAreRefusedBeforeTheyAreRead() throws {
        let fx = try RecipeFixture()
        let padding = String(repeating: "# padding padding padding padding padding padding padding padding\n", count: 32 << 10)
        let recipe = try fx.write("big.yml", Self.valid + padding)
        let error = assertLimitExceeded(.recipeBytes, mentions: ["the recipe is 2", "PKGLAYER_MAX_RECIPE_BYTES=", "right file"]) {
            try Recipe.load(path: recipe)
        }
        XCTAssertEqual(error?.location, recipe)
        let image = try fx.write("big-image.yml", "name: x\npackages: [hello]\n" + padding)
        assertLimitExceeded(.recipeBytes, mentions: ["the image file is 2"]) { try ImageSpec.load(path: image) }
        // Raised, the same recipe loads.
        let loaded = try InputLimits.$current.withValue(.lowered([.recipeBytes: 4 << 20])) { try Recipe.load(path: recipe) }
        XCTAssertEqual(loaded.package.name, "hello")
    }

    func testAFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let fx = try RecipeFixture()
        let fifo = fx.path("recipe.yml")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try Recipe.load(path: fifo)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .invalidInput)
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    func testBillionLaughsIsRefusedBeforeExpansion() throws {
        let fx = try RecipeFixture()
        let error = assertLimitExceeded(.yamlNodes, mentions: ["alias '*a3' stands for 11111 nodes", "billion laughs", "PKGLAYER_MAX_YAML_NODES="],
                                        within: 1) {
            try Recipe.parse(yaml: Self.valid + Self.billionLaughs(), file: "bomb.yml", directory: fx.directory)
        }
        // Located at the alias that passed the limit: line 6 (lol4, the eighth '*a3').
        XCTAssertTrue(error?.location?.hasPrefix("bomb.yml:6:") ?? false, error?.location ?? "")
        // An image file is checked the same way.
        let image = try fx.write("image.yml", "name: x\npackages: [hello]\n" + Self.billionLaughs(key: "x-"))
        assertLimitExceeded(.yamlNodes, within: 1) { try ImageSpec.load(path: image) }
    }

    /// Yams hashes every mapping key to find duplicates, so an alias used as a key would be expanded
    /// while the tree is still being built: the count runs before Yams sees the text.
    func testAnAliasBombAsAMappingKeyIsRefusedBeforeYams() throws {
        let fx = try RecipeFixture()
        let yaml = Self.billionLaughs() + "? *a8\n: value\n"
        assertLimitExceeded(.yamlNodes, within: 1) { try Recipe.parse(yaml: yaml, file: "keys.yml", directory: fx.directory) }
    }

    func testDeepNestingIsRefused() throws {
        let fx = try RecipeFixture()
        for depth in [65, 100, 5000] {   // 5000: past libyaml's own limit of 1000, still pkglayer's message
            let flow = "package: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
            let error = assertLimitExceeded(.yamlDepth, mentions: ["runaway", "PKGLAYER_MAX_YAML_DEPTH="]) {
                try Recipe.parse(yaml: flow, file: "deep.yml", directory: fx.directory)
            }
            if depth < 1000 { XCTAssertEqual(error?.location, "deep.yml:1:\(10 + 63)") }   // the 64th '[', the 65th level
        }
        // A whole file of '[' (1 MiB, the file limit) is refused as quickly.
        let brackets = String(repeating: "[", count: (1 << 20) - 1)
        assertLimitExceeded(.yamlDepth, within: 2) { try Recipe.parse(yaml: brackets, file: "deep.yml", directory: fx.directory) }
        var block = ""
        for level in 0..<70 { block += String(repeating: "  ", count: level) + "k\(level):\n" }
        assertLimitExceeded(.yamlDepth) { try Recipe.parse(yaml: block + String(repeating: "  ", count: 70) + "leaf\n", file: "deep.yml", directory: fx.directory) }
        // 60 levels is within the limit: the recipe's own errors are reported, not the limit.
        let shallow = "package: " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60) + "\n"
        XCTAssertThrowsError(try Recipe.parse(yaml: shallow, file: "deep.yml", directory: fx.directory)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .invalidInput, "\(error)")
        }
    }

    /// An alias counts with the depth of what it stands for.
    func testAliasesCountTheDepthTheyStandFor() throws {
        let fx = try RecipeFixture()
        let yaml = "a: &a [[[[1]]]]\nb: &b [*a]\nc: [[[[*b]]]]\n"
        InputLimits.$current.withValue(.lowered([.yamlDepth: 8])) {
            assertLimitExceeded(.yamlDepth, mentions: ["alias '*b' is 5 levels deep inside 5"]) {
                try Recipe.parse(yaml: yaml, file: "a.yml", directory: fx.directory)
            }
        }
    }

    func testAliasesWithinTheLimitsStillWork() throws {
        let fx = try RecipeFixture()
        let yaml = """
            package: { name: hello, version: '1', summary: &s Hello, description: *s }
            subpackages:
              - { name: hello-doc, files: &docs ['/usr/share/doc/**'], summary: *s }
              - { name: hello-man, files: *docs }
            """
        let recipe = try Recipe.parse(yaml: yaml, file: "ok.yml", directory: fx.directory)
        XCTAssertEqual(recipe.package.description, "Hello")
        XCTAssertEqual(recipe.subpackages.map(\.files), [["/usr/share/doc/**"], ["/usr/share/doc/**"]])
        // The same document under a tiny node budget: refused, naming the alias that passed it.
        InputLimits.$current.withValue(.lowered([.yamlNodes: 20])) {
            assertLimitExceeded(.yamlNodes, mentions: ["PKGLAYER_MAX_YAML_NODES=40"]) {
                try Recipe.parse(yaml: yaml, file: "ok.yml", directory: fx.directory)
            }
        }
    }
}
