import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import XCTest

final class InterpolationTests: XCTestCase {
    func testExpandsVariablesAndLeavesShellSyntaxAlone() throws {
        let vars = ["package.version": "1.2", "targets.destdir": "/out"]
        XCTAssertEqual(try Recipe.interpolate("v${{package.version}} ${{ targets.destdir }}/usr $HOME ${HOME} $(pwd) ${{package.version}}", variables: vars),
                       "v1.2 /out/usr $HOME ${HOME} $(pwd) 1.2")
        XCTAssertEqual(try Recipe.interpolate("no variables: ${ {x}} $${HOME} {{x}}", variables: vars), "no variables: ${ {x}} $${HOME} {{x}}")
        XCTAssertEqual(try Recipe.interpolate("", variables: [:]), "")
    }

    func testUnknownVariableIsAnErrorWithLocationAndKnownNames() {
        let at = SourceLocation(file: "r.yml", line: 7, column: 12)
        XCTAssertThrowsError(try Recipe.interpolate("x ${{package.verison}}", variables: ["package.version": "1", "build.jobs": "2"], at: at)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.description,
                           "r.yml:7:12: unknown variable ${{package.verison}}; did you mean ${{package.version}}? Known variables: build.jobs, package.version")
        }
        XCTAssertThrowsError(try Recipe.interpolate("x ${{ bad name }}", variables: [:], at: at)) { error in
            XCTAssertTrue((error as? PkgLayerError)?.message.contains("is not a variable name") ?? false)
        }
    }

    func testVariablesOfARecipe() throws {
        let fx = try makeFullFixture()
        let r = try fx.load(fullRecipe)
        let vars = r.variables(architecture: .aarch64, destdir: "/build/destdir", srcdir: "/build/src", jobs: 3)
        XCTAssertEqual(vars, [
            "package.name": "nginx", "package.version": "1.22.1", "package.release": "2", "package.epoch": "1",
            "package.full-version": "1:1.22.1-2", "build.arch": "aarch64", "build.deb-arch": "arm64", "build.jobs": "3",
            "targets.destdir": "/build/destdir", "context.srcdir": "/build/src",
        ])
        XCTAssertEqual(Set(vars.keys), Set(RecipeVariable.allCases.map(\.rawValue)), "every documented variable has a value")

        let build = try r.resolvedBuild(variables: vars)
        XCTAssertEqual(build.steps.map(\.name), ["configure", "step 2", "step 3"])
        XCTAssertEqual(build.steps.map(\.script), [
            "./configure --prefix=/usr",
            "make -j3",
            "make install DESTDIR=/build/destdir HOME=$HOME X=${HOME}",
        ])
        XCTAssertEqual(build.environment, ["CFLAGS": "-O2 -g0", "PREFIX": "/usr", "OUT": "/build/destdir"])
        XCTAssertFalse(build.network)
    }

    func testResolvingWithoutARuntimeVariableNamesTheStep() throws {
        let fx = try makeFullFixture()
        let r = try fx.load(fullRecipe)
        XCTAssertThrowsError(try r.resolvedBuild(variables: r.packageVariables)) { error in
            let e = error as? PkgLayerError
            XCTAssertEqual(e?.location, "\(fx.path("recipe.yml")):69:12", "the second step")
            XCTAssertTrue(e?.message.hasPrefix("${{build.jobs}} is not known here") ?? false, e?.message ?? "")
        }
    }

    func testPackageVariablesAreExpandedWhereverTheyAreAllowed() throws {
        let fx = try RecipeFixture()
        try fx.write("files/pkg-2.0.conf", "x")
        let r = try fx.load("""
            package:
              name: pkg
              version: 2.0
              summary: pkg ${{package.version}}
              description: ${{package.name}} at ${{package.full-version}}
            sources:
              - path: files/${{package.name}}-${{package.version}}.conf
                extract-to: ${{package.name}}/
            subpackages:
              - { name: "${{package.name}}-doc", summary: "docs for ${{package.name}}", files: [/usr/share/doc/**] }
            """)
        XCTAssertEqual(r.package.summary, "pkg 2.0")
        XCTAssertEqual(r.package.description, "pkg at 2.0-1")
        XCTAssertEqual(r.sources[0].origin, .local(path: fx.path("files/pkg-2.0.conf"), relative: "files/pkg-2.0.conf"))
        XCTAssertEqual(r.sources[0].extractTo, "pkg/")
        XCTAssertEqual(r.subpackages[0].name, "pkg-doc")
        XCTAssertEqual(r.subpackages[0].summary, "docs for pkg")
    }

    func testScriptsAreVerbatim() throws {
        let fx = try RecipeFixture()
        let r = try fx.load("package: { name: pkg, version: '1', summary: s, scripts: { post-install: 'echo ${{package.name}} $1' } }\n")
        XCTAssertEqual(r.package.scripts[.afterInstall]?.text, "echo ${{package.name}} $1")
    }
}
