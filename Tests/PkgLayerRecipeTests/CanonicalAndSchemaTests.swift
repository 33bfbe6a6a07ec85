import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import XCTest

final class CanonicalJSONTests: XCTestCase {
    let base = """
        package:
          name: pkg
          version: "1.0"
          summary: A package
          dependencies: { runtime: [libc6] }
        sources:
          - url: https://example.org/pkg-1.0.tar.gz
            sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
          - path: files
        patches: [fix.patch]
        build:
          steps:
            - run: make
        """

    /// The same recipe with keys reordered, flow style, comments, defaults spelled out and quotes changed.
    let reordered = """
        # comment
        build: { steps: [ { run: make } ], network: false, jobs: auto }
        patches:
          - { path: fix.patch, strip: 1 }
        sources:
          - sha256: "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"
            url: "https://example.org/pkg-1.0.tar.gz"
          - { path: files, extract-to: . }
        package:
            summary:   A package
            version: '1.0'
            release: 1
            dependencies:
                runtime:
                  - libc6
            name: pkg
        """

    func fixture() throws -> RecipeFixture {
        let fx = try RecipeFixture()
        try fx.write("fix.patch", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
        try fx.write("files/a.conf", "a\n")
        try fx.write("files/sub/b.conf", "b\n")
        return fx
    }

    func testStableAcrossKeyOrderAndFormatting() throws {
        let fx = try fixture()
        let a = try fx.load(base, name: "a.yml").canonicalJSON()
        let b = try fx.load(reordered, name: "b.yml").canonicalJSON()
        XCTAssertEqual(a, b)
        XCTAssertFalse(a.contains(fx.directory), "no absolute paths: the key must not depend on where the recipe lives")
        XCTAssertFalse(a.contains("\n"))
        // sorted keys
        XCTAssertTrue(a.hasPrefix("{\"build\":{\"environment\":{},\"jobs\":\"auto\",\"network\":false,"), a)

        // the same recipe and files in another directory
        let other = try fixture()
        XCTAssertEqual(try other.load(base, name: "a.yml").canonicalJSON(), a)
        XCTAssertEqual(try other.load(base, name: "a.yml").canonicalDigest().count, 64)
    }

    func testChangesWhenAStepAPatchOrALocalSourceChanges() throws {
        let fx = try fixture()
        let original = try fx.load(base).canonicalJSON()
        let step = try fx.load(base.replacingOccurrences(of: "- run: make", with: "- run: make V=1")).canonicalJSON()
        XCTAssertNotEqual(original, step)

        try fx.write("fix.patch", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+c\n")
        let patched = try fx.load(base).canonicalJSON()
        XCTAssertNotEqual(original, patched)

        try fx.write("files/sub/b.conf", "changed\n")
        let sourceChanged = try fx.load(base).canonicalJSON()
        XCTAssertNotEqual(patched, sourceChanged)

        try fx.write("post.sh", "echo 1\n")
        let withScript = base.replacingOccurrences(of: "  summary: A package\n", with: "  summary: A package\n  scripts: { post-install: { file: post.sh } }\n")
        let s1 = try fx.load(withScript).canonicalJSON()
        try fx.write("post.sh", "echo 2\n")
        XCTAssertNotEqual(s1, try fx.load(withScript).canonicalJSON(), "a script file's content is part of the key")
    }

    func testCanonicalJSONEscaping() {
        let v = JSONValue.object(["b": .string("a\"b\\c\n\u{01}é"), "a": .array([.int(-1), .bool(true), .null])])
        XCTAssertEqual(v.canonical, "{\"a\":[-1,true,null],\"b\":\"a\\\"b\\\\c\\n\\u0001é\"}")
    }
}

final class RecipeSchemaTests: XCTestCase {
    /// Validates each YAML file against the schema with python3's jsonschema; returns what it printed per file.
    func validate(_ yamlFiles: [String]) throws -> [String] {
        let fx = try RecipeFixture()
        let schemaPath = try fx.write("schema.json", RecipeSchema.json)
        let script = """
            import json, sys, datetime, yaml, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                doc = json.loads(json.dumps(yaml.safe_load(open(path)), default=str))
                errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
                print("OK" if not errors else " | ".join("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in errors))
            """
        let (status, output) = try runPython(script, [schemaPath] + yamlFiles)
        XCTAssertEqual(status, 0, output)
        return output.split(separator: "\n").map(String.init)
    }

    func testSchemaIsValidJSONWithClosedObjects() throws {
        let data = Data(RecipeSchema.json.utf8)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["$schema"] as? String, "https://json-schema.org/draft/2020-12/schema")
        XCTAssertEqual(object["additionalProperties"] as? Bool, false)
        let defs = try XCTUnwrap(object["$defs"] as? [String: [String: Any]])
        for name in ["package", "dependencies", "scripts", "source", "build", "step", "subpackage", "attribute", "user", "group"] {
            XCTAssertEqual(defs[name]?["additionalProperties"] as? Bool, false, name)
        }
        // one source of truth: the schema's keys are the decoder's keys
        for objectType in RecipeSchema.objects where objectType !== RecipeSchema.recipe {
            let properties = try XCTUnwrap(defs[objectType.name]?["properties"] as? [String: Any])
            XCTAssertEqual(Set(properties.keys), Set(objectType.keys), objectType.name)
        }
        XCTAssertEqual(RecipeSchema.json, RecipeSchema.json, "deterministic")
    }

    func testSchemaAcceptsTheExampleAndTheShippedRecipesAndRejectsMistakes() throws {
        let fx = try RecipeFixture()
        var files = [try fx.write("example.yml", RecipeSchema.exampleRecipe), try fx.write("full.yml", fullRecipe)]
        let recipes = (repositoryRoot as NSString).appendingPathComponent("recipes")
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: recipes)) ?? []).sorted() where name.hasSuffix(".yml") {
            files.append((recipes as NSString).appendingPathComponent(name))
        }
        let bad = [
            RecipeSchema.exampleRecipe.replacingOccurrences(of: "  version: 1.22.1", with: "  verison: 1.22.1"),
            RecipeSchema.exampleRecipe.replacingOccurrences(of: "sha256: 9ebb", with: "sha256: XXbb"),
            RecipeSchema.exampleRecipe.replacingOccurrences(of: "  - path: nginx.conf\n    extract-to: conf/\n", with: "  - extract-to: conf/\n"),
            RecipeSchema.exampleRecipe.replacingOccurrences(of: "arch: native", with: "arch: amd46"),
        ]
        let badFiles = try bad.enumerated().map { try fx.write("bad\($0.offset).yml", $0.element) }
        let results = try validate(files + badFiles)
        XCTAssertEqual(results.count, files.count + badFiles.count, results.joined(separator: "\n"))
        for (file, result) in zip(files, results) { XCTAssertEqual(result, "OK", file) }
        let badResults = Array(results.suffix(badFiles.count))
        XCTAssertTrue(badResults[0].contains("'verison' was unexpected") && badResults[0].contains("'version' is a required property"), badResults[0])
        XCTAssertTrue(badResults[1].contains("sources/0/sha256"), badResults[1])
        XCTAssertTrue(badResults[2].hasPrefix("sources/1:"), badResults[2])
        XCTAssertTrue(badResults[3].contains("package/arch"), badResults[3])
    }

    /// The other half of "one table": every key the table (and so the schema and the docs) allows is
    /// read into the model; none is accepted and then silently ignored.
    func testEveryKeyInTheTableIsReadIntoTheModel() throws {
        #if DEBUG
        let fx = try makeFullFixture()
        try fx.write("pre.sh", "echo\n")
        try fx.write("demo.service", "[Unit]\nDescription=demo\n[Service]\nExecStart=/bin/true\n")
        _ = try fx.load(fullRecipe)
        _ = try fx.load("""
            package:
              name: extra
              version: '1'
              summary: s
              priority: extra
              dependencies: { pre-depends: [a], breaks: [b], obsoletes: [c] }
              scripts: { pre-transaction: { file: pre.sh } }
              changelog:
                - { version: '1-1', date: '2024-03-01', author: 'A <a@example.com>', changes: [first] }
              services:
                - { unit: demo.service, enable: true, start: false, restart-after-upgrade: false }
            """, name: "extra.yml")
        var all = Set<String>()
        for object in RecipeSchema.objects { for key in object.keys { all.insert("\(object.name).\(key)") } }
        XCTAssertEqual(all.subtracting(FieldUsage.recorded).sorted(), [], "keys in the table that the reader never reads")
        #endif
    }

    func testDocsAreGeneratedFromTheFieldTable() throws {
        let path = (repositoryRoot as NSString).appendingPathComponent("docs/recipe.md")
        let generated = RecipeSchema.markdown
        if ProcessInfo.processInfo.environment["PKGLAYER_UPDATE_DOCS"] == "1" {
            try generated.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let onDisk = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(onDisk, generated, "docs/recipe.md is stale: run PKGLAYER_UPDATE_DOCS=1 swift test --filter PkgLayerRecipeTests")
        for object in RecipeSchema.objects {
            XCTAssertTrue(generated.contains("### \(object.title)\n"), object.title)
            for field in object.fields { XCTAssertTrue(generated.contains("| `\(field.key)` |"), "\(object.title).\(field.key)") }
        }
        for variable in RecipeVariable.allCases { XCTAssertTrue(generated.contains("`${{\(variable.rawValue)}}`"), variable.rawValue) }
    }
}
