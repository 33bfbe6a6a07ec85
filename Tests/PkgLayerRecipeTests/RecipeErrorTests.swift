import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import XCTest

/// Each class of mistake gives the file, line and column of the culprit and says how to fix it.
final class RecipeErrorTests: XCTestCase {
    var fx: RecipeFixture!

    override func setUpWithError() throws { fx = try RecipeFixture() }
    override func tearDown() { fx = nil }

    func testMisspelledKeyGivesPositionAndSuggestion() throws {
        let problems = try fx.problems("""
            package:
              name: nginx
              verison: 1.22.1
              summary: s
            """, name: "recipes/nginx.yml")
        XCTAssertEqual(problems.first, "recipes/nginx.yml:3:3: unknown key 'verison' in package; did you mean 'version'?")
        XCTAssertTrue(problems.contains("recipes/nginx.yml:1:1: package.version is required: the upstream version (`1.22.1`)") ||
                      problems.contains { $0.hasPrefix("recipes/nginx.yml:2:3: package.version is required") }, "\(problems)")
    }

    func testUnknownKeyWithoutCloseMatchListsAllowedKeysOrItsHome() throws {
        let problems = try fx.problems("""
            package: { name: n1, version: '1', summary: s, steps: [] }
            """)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].hasPrefix("recipe.yml:1:48: unknown key 'steps' in package; 'steps' belongs in build; allowed keys here: name, version,"),
                      problems[0])
        let top = try fx.problems("package: { name: n1, version: '1', summary: s }\nfrobnicate: 1\n")
        XCTAssertTrue(top[0].hasPrefix("recipe.yml:2:1: unknown key 'frobnicate' at the top level; allowed keys here: package, sources, patches, build, subpackages, image"), top[0])
    }

    func testWrongType() throws {
        let problems = try fx.problems("""
            package:
              name: n1
              version: "1"
              summary: s
              dependencies:
                runtime:
                  libfoo: 1
            """)
        XCTAssertEqual(problems, ["recipe.yml:7:7: package.dependencies.runtime: expected a list of strings, got a mapping"])
        let scalar = try fx.problems("package: { name: n1, version: '1', summary: s, conffiles: /etc/x }\n")
        XCTAssertEqual(scalar, ["recipe.yml:1:59: package.conffiles: expected a list of strings, got '/etc/x'; write a list: [/etc/x] or one '- item' per line"])
        let boolean = try fx.problems("package: { name: n1, version: '1', summary: s }\nbuild: { network: yes }\n")
        XCTAssertEqual(boolean, ["recipe.yml:2:19: build.network: expected true or false, got 'yes'"])
        let jobs = try fx.problems("package: { name: n1, version: '1', summary: s }\nbuild: { jobs: many }\n")
        XCTAssertEqual(jobs, ["recipe.yml:2:16: build.jobs: expected 'auto' or an integer from 1 to 4096, got 'many'"])
        let script = try fx.problems("package: { name: n1, version: '1', summary: s, scripts: { pre-install: [a] } }\n")
        XCTAssertEqual(script, ["recipe.yml:1:72: package.scripts.pre-install: expected a string or a mapping with 'file', got a list"])
    }

    func testNullIsNotAValue() throws {
        let problems = try fx.problems("package:\n  name: n1\n  version:\n  summary: s\n")
        XCTAssertEqual(problems, ["recipe.yml:3:11: package.version: expected a version, got nothing (null); give a value or remove the key"])
    }

    func testMissingRequiredFields() throws {
        let problems = try fx.problems("""
            # no name
            package:
              version: "1"
            sources: []
            """)
        XCTAssertEqual(problems, [
            "recipe.yml:3:3: package.name is required: the package name (`nginx`)",
            "recipe.yml:3:3: package.summary is required: one line, without a final period (rpm `Summary`, the first line of Debian's `Description`)",
        ])
        let noPackage = try fx.problems("build: { network: false }\n")
        XCTAssertEqual(noPackage, ["recipe.yml:1:1: package is required: the main package"])
        let noFiles = try fx.problems("package: { name: n1, version: '1', summary: s }\nsubpackages:\n  - name: n1-doc\n    files: []\n")
        XCTAssertEqual(noFiles, ["recipe.yml:4:12: subpackages[0].files: needs at least 1 entry"])
    }

    func testBadSha256() throws {
        let problems = try fx.problems("""
            package: { name: n1, version: '1', summary: s }
            sources:
              - url: https://example.org/n1-1.tar.gz
                sha256: 9EBB333A9E82B952ACD3E2B4AEB1D4FF6406F72491BAB6CD9FE69F0DEA737F31
            """)
        XCTAssertEqual(problems, ["recipe.yml:4:13: sources[0].sha256: '9EBB333A9E82B952ACD3E2B4AEB1D4FF6406F72491BAB6CD9FE69F0DEA737F31' is not a sha256 digest; write the 64 lowercase hexadecimal digits that `sha256sum FILE` prints"])
        let missing = try fx.problems("package: { name: n1, version: '1', summary: s }\nsources:\n  - url: https://example.org/x.tar.gz\n")
        XCTAssertEqual(missing.count, 1)
        XCTAssertTrue(missing[0].hasPrefix("recipe.yml:3:5: sources[0].sha256 is required with 'url'"), missing[0])
    }

    func testBadDependency() throws {
        let problems = try fx.problems("""
            package:
              name: n1
              version: '1'
              summary: s
              dependencies:
                runtime: [ "libfoo >= 1.2", "libbar ~> 2" ]
            """)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].hasPrefix("recipe.yml:6:33: package.dependencies.runtime[1]: cannot read"), problems[0])
        XCTAssertTrue(problems[0].contains("'libbar ~> 2'"), problems[0])
    }

    func testUnknownInterpolationVariable() throws {
        let problems = try fx.problems("""
            package: { name: n1, version: '1', summary: s }
            build:
              steps:
                - run: make -j${{build.jobs}}
                - run: make install DESTDIR=${{targets.destdri}}
            """)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].hasPrefix("recipe.yml:5:12: build.steps[1].run: unknown variable ${{targets.destdri}}; did you mean ${{targets.destdir}}? Known variables: build.arch, build.deb-arch, build.jobs, context.srcdir,"),
                      problems[0])
        // A real variable used where its value is not known yet.
        let early = try fx.problems("""
            package: { name: n1, version: '1', summary: s }
            sources:
              - url: https://example.org/${{build.arch}}/n1.tar.gz
                sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
            """)
        XCTAssertEqual(early, ["recipe.yml:3:10: sources[0].url: ${{build.arch}} is not known here: it can be used in dependencies, build steps and the build environment; known here: package.epoch, package.full-version, package.name, package.release, package.version"])
        let unclosed = try fx.problems("package: { name: n1, version: '1', summary: s }\nbuild: { steps: [ { run: 'echo ${{package.name' } ] }\n")
        XCTAssertTrue(unclosed[0].hasPrefix("recipe.yml:2:26: build.steps[0].run: '${{' is not closed"), unclosed[0])
        let notExpanded = try fx.problems("package: { name: n1, version: '1', summary: s, license: '${{package.name}}' }\n")
        XCTAssertTrue(notExpanded[0].hasPrefix("recipe.yml:1:57: package.license: ${{…}} is not expanded in this field"), notExpanded[0])
    }

    func testBadValues() throws {
        let problems = try fx.problems("""
            package:
              name: Nginx
              version: v1
              summary: s
              arch: amd46
              url: ftp://example.org
              attributes:
                - { path: /usr/bin/x, mode: "0999" }
                - { path: /usr/bin/y, mode: "17777" }
                - { path: /usr/bin/z }
                - { path: /usr/bin/w, owner: "bad name" }
            sources:
              - { url: "git://example.org/x.git", sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31 }
              - { sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31 }
              - { path: a, url: "https://example.org/a.tar.gz", sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31 }
              - { path: a, extract-to: ../outside }
            """)
        let expectedPrefixes = [
            "recipe.yml:2:9: package.name: 'Nginx' is not a package name",
            "recipe.yml:3:12: package.version: 'v1' is not a version; start with a digit",
            "recipe.yml:5:9: package.arch: 'amd46' is not an architecture; did you mean 'amd64'?",
            "recipe.yml:6:8: package.url: 'ftp://example.org' is not an http(s) URL",
            "recipe.yml:8:33: package.attributes[0].mode: '0999' is not an octal mode",
            "recipe.yml:9:33: package.attributes[1].mode: '17777' is not an octal mode",
            "recipe.yml:10:7: package.attributes[2] needs at least one of 'mode', 'owner', 'group'",
            "recipe.yml:11:34: package.attributes[3].owner: owner 'bad name' must be a name",
            "recipe.yml:13:12: sources[0].url: 'git://example.org/x.git' is not a URL; write an http://, https:// or file:// URL",
            "recipe.yml:14:5: sources[1] needs one of 'url' or 'path'",
            "recipe.yml:15:5: sources[2] has both 'url' and 'path'; keep only one",
            "recipe.yml:16:28: sources[3].extract-to: '../outside' must stay inside the source tree (no '..')",
        ]
        XCTAssertEqual(problems.count, expectedPrefixes.count, problems.joined(separator: "\n"))
        for (problem, prefix) in zip(problems, expectedPrefixes) {
            XCTAssertTrue(problem.hasPrefix(prefix), "\(problem)\n  does not start with\n\(prefix)")
        }
    }

    func testDuplicateSubpackageNames() throws {
        try fx.write("a", "")
        let problems = try fx.problems("""
            package: { name: n1, version: '1', summary: s }
            subpackages:
              - { name: n1-doc, files: [/usr/share/doc/**] }
              - { name: "${{package.name}}-doc", files: [/usr/share/man/**] }
              - { name: n1, files: [/x] }
            """)
        XCTAssertEqual(problems, [
            "recipe.yml:4:13: subpackage name 'n1-doc' is already used at 3:13; every package needs its own name",
            "recipe.yml:5:13: subpackage name 'n1' is already used at 1:18; every package needs its own name",
        ])
    }

    func testMissingFilesNameTheField() throws {
        let problems = try fx.problems("""
            package:
              name: n1
              version: '1'
              summary: s
              scripts:
                post-install: { file: scripts/missing.sh }
            sources:
              - path: files/missing.conf
            patches: [ patches/missing.patch ]
            build: { requires: { recipes: [ nosuch ] } }
            """)
        XCTAssertEqual(problems.count, 4, problems.joined(separator: "\n"))
        XCTAssertTrue(problems[0].hasPrefix("recipe.yml:6:27: package.scripts.post-install.file: cannot read 'scripts/missing.sh'"), problems[0])
        XCTAssertTrue(problems[1].hasPrefix("recipe.yml:8:11: sources[0].path: 'files/missing.conf' does not exist"), problems[1])
        XCTAssertTrue(problems[2].hasPrefix("recipe.yml:9:12: patches[0]: 'patches/missing.patch' is not a file"), problems[2])
        XCTAssertTrue(problems[3].hasPrefix("recipe.yml:10:33: build.requires.recipes: cannot find recipe 'nosuch'"), problems[3])
    }

    func testYAMLSyntaxErrorsAndDuplicateKeysHavePositions() throws {
        let syntax = try fx.problems("package:\n  name: n1\n   version: 1\n")
        XCTAssertTrue(syntax[0].hasPrefix("recipe.yml:3:"), syntax[0])
        XCTAssertTrue(syntax[0].contains("YAML syntax error"), syntax[0])
        let duplicate = try fx.problems("package:\n  name: n1\n  name: n2\n  version: '1'\n  summary: s\n")
        XCTAssertTrue(duplicate[0].hasPrefix("recipe.yml:2:3: duplicate key 'name'"), duplicate[0])
        let tab = try fx.problems("package:\n\tname: x\n")
        XCTAssertTrue(tab[0].hasPrefix("recipe.yml:2:1: YAML syntax error") && tab[0].hasSuffix("; indent with spaces, not tabs"), tab[0])
        let twoDocuments = try fx.problems("package: { name: aa, version: '1', summary: s }\n---\npackage: {}\n")
        XCTAssertTrue(twoDocuments[0].contains("a recipe is a single YAML document"), twoDocuments[0])
        let merge = try fx.problems("base: &b { name: aa, version: '1', summary: s }\npackage:\n  <<: *b\n")
        XCTAssertEqual(merge[1], "recipe.yml:3:3: unknown key '<<' in package: YAML merge keys are not supported in recipes; write the keys out")
        let empty = try fx.problems("# nothing\n")
        XCTAssertTrue(empty[0].hasPrefix("recipe.yml:1:1: the recipe is empty"), empty[0])
        let notMapping = try fx.problems("- a\n- b\n")
        XCTAssertEqual(notMapping, ["recipe.yml:1:1: the recipe: expected a mapping, got a list"])
    }

    func testLoadReportsAMissingFile() {
        XCTAssertThrowsError(try Recipe.load(path: "/nonexistent/recipe.yml")) { error in
            XCTAssertEqual((error as? PkgLayerError)?.description, "/nonexistent/recipe.yml: cannot read the recipe: no such file")
        }
    }

    func testManyProblemsAreReportedTogether() throws {
        let problems = try fx.problems("""
            package:
              nam: n1
              version: '1'
              sumary: s
            build:
              netwrok: true
            """)
        XCTAssertEqual(problems.map { String($0.prefix(16)) }, ["recipe.yml:2:3: ", "recipe.yml:4:3: ", "recipe.yml:2:3: ", "recipe.yml:2:3: ", "recipe.yml:6:3: "])
        XCTAssertTrue(problems[0].hasSuffix("did you mean 'name'?"))
        XCTAssertTrue(problems[1].hasSuffix("did you mean 'summary'?"))
        XCTAssertTrue(problems[4].hasSuffix("did you mean 'network'?"))
    }

    func testSuggestionDistance() {
        XCTAssertEqual(Suggestion.distance(Array("verison"), Array("version")), 1)
        XCTAssertEqual(Suggestion.distance(Array("kitten"), Array("sitting")), 3)
        XCTAssertEqual(Suggestion.closest(to: "verison", among: ["name", "version", "release"]), "version")
        XCTAssertEqual(Suggestion.closest(to: "strip-component", among: ["strip-components", "extract-to"]), "strip-components")
        XCTAssertNil(Suggestion.closest(to: "zzz", among: ["name", "version"]))
    }
}
