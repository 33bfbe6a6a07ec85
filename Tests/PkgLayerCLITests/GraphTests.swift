import Foundation
import PkgLayerTestSupport
import XCTest

/// Whole graphs: `pkglayer build DIR` builds every recipe in dependency order, a failure stops only
/// what needs it, and `pkglayer graph` hands the DAG to CI engines in formats their schemas accept.
final class GraphTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-graph")
    }

    override func tearDown() { scratch = nil }

    /// `base`, `app` (builds against base), `extra` (alone), and `broken` with `victim` needing it.
    private func writeRecipes() throws -> String {
        _ = try scratch.write("recipes/files/data.txt", "payload\n")
        func recipe(_ name: String, requires: String = "", run: String? = nil) throws {
            _ = try scratch.write("recipes/\(name).yml", """
                package:
                  name: \(name)
                  version: "1.0"
                  summary: \(name) of the graph test
                  arch: noarch
                  source-date-epoch: 1700000000
                sources:
                  - path: files/data.txt
                build:
                \(requires)  steps:
                    - run: |
                        \(run ?? "mkdir -p ${{targets.destdir}}/usr/share/\(name) && cp data.txt ${{targets.destdir}}/usr/share/\(name)/")

                """)
        }
        try recipe("base")
        try recipe("app", requires: "  requires:\n    recipes: [base.yml]\n")
        try recipe("extra")
        try recipe("broken", run: "echo this recipe fails on purpose; exit 7")
        try recipe("victim", requires: "  requires:\n    recipes: [broken.yml]\n")
        _ = try scratch.write("recipes/image-only.yml", "name: notarecipe\npackages: [base]\n")
        return scratch.path("recipes")
    }

    func testADirectoryBuildsEveryRecipeAndAFailureStopsOnlyItsDependents() throws {
        try requireTool("bwrap")
        let recipes = try writeRecipes()
        let result = try CLI.run(["build", recipes, "-o", scratch.path("out"), "--offline", "--no-image", "--json", "--jobs", "2"],
                                 environment: ["PKGLAYER_CACHE": scratch.path("cache")])
        XCTAssertEqual(result.status, 1, "a failed recipe fails the command")
        let results = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]) ?? []
        XCTAssertEqual(Set(results.compactMap { $0["name"] as? String }), ["base", "app", "extra"], result.stderrText)
        XCTAssertTrue(result.stderrText.contains("broken.yml: build step 1/1 'step 1' failed (exit code 7)"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("victim.yml: not built, because broken.yml failed"), result.stderrText)
        XCTAssertTrue(result.stderrText.contains("5 recipes: 3 built, 0 from the cache, 1 failed, 1 not built"), result.stderrText)
        let written = try FileManager.default.contentsOfDirectory(atPath: scratch.path("out")).filter { $0.hasSuffix(".rpm") || $0.hasSuffix(".deb") }
        XCTAssertEqual(Set(written.map { String($0.prefix(while: { $0 != "-" && $0 != "_" })) }), ["base", "app", "extra"])
    }

    func testGraphJSONHasTheShippedRecipesEdges() throws {
        let result = try CLI.ok(["graph", BuildFixtures.repository + "/recipes", "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let nodes = (object["nodes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertEqual(Set(nodes), ["hello", "pcre2", "nginx-pcre2", "nginx", "nginx-lnmp", "php-fpm", "php-fpm-slim"])
        let edges = (object["edges"] as? [[String: String]] ?? []).map { "\($0["from"]!)->\($0["to"]!)" }
        XCTAssertEqual(edges, ["nginx->nginx-lnmp", "pcre2->nginx-pcre2"])
        XCTAssertLessThan(nodes.firstIndex(of: "pcre2")!, nodes.firstIndex(of: "nginx-pcre2")!, "dependencies come first")
        XCTAssertLessThan(nodes.firstIndex(of: "nginx")!, nodes.firstIndex(of: "nginx-lnmp")!, "dependencies come first")
        for node in object["nodes"] as? [[String: Any]] ?? [] {
            XCTAssertEqual((node["cacheKey"] as? String)?.count, 64, "\(node)")
        }
        let dot = try CLI.ok(["graph", BuildFixtures.repository + "/recipes", "--format", "dot"]).stdoutText
        XCTAssertTrue(dot.contains("\"pcre2\" -> \"nginx-pcre2\";"), dot)
    }

    func testGeneratedWorkflowsValidateAgainstTheirPublishedSchemas() throws {
        let checker = "/opt/pkglayer-check-jsonschema/bin/check-jsonschema"
        try requireFixture(checker, what: "check-jsonschema (the CI schema validator)")
        let recipes = try writeRecipes()
        for (format, schema, name) in [("github-actions", "vendor.github-workflows", "pkglayer.yml"), ("gitlab-ci", "vendor.gitlab-ci", ".gitlab-ci.yml")] {
            let result = try CLI.ok(["graph", recipes, "--format", format, "--cache", "registry.example.com/team/pkglayer-cache"])
            let file = try scratch.write("ci/\(format)/\(name)", result.stdoutText)
            let check = try TestProcess.run(checker, ["--builtin-schema", schema, file])
            XCTAssertEqual(check.status, 0, "\(format): \(check.stdoutText)\(check.stderrText)\n\(result.stdoutText)")
            XCTAssertTrue(result.stdoutText.contains("needs: [base]"), result.stdoutText)
            XCTAssertTrue(result.stdoutText.contains("--cache registry.example.com/team/pkglayer-cache"), result.stdoutText)
        }
    }
}
