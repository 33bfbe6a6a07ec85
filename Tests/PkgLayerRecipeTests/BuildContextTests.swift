import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// A recipe reads only its own context: every field that names a file refuses `..`, an absolute path
/// and a symlink that leave the recipe's directory tree, naming the field and the path; `--context`
/// widens the tree; paths inside it (through symlinks that stay inside) are accepted.
final class BuildContextTests: XCTestCase {
    /// recipes/ holds the recipe; outside/ (a sibling) holds a secret; recipes/escape links to it.
    private func fixture() throws -> RecipeFixture {
        let fx = try RecipeFixture()
        try fx.write("outside/secret.txt", "runner secret\n")
        try fx.write("outside/other.yml", "package: { name: other, version: '1', summary: other }\n")
        try fx.write("outside/base.tar", "not a tar\n")
        try FileManager.default.createDirectory(atPath: fx.path("outside/layout"), withIntermediateDirectories: true)
        try fx.write("recipes/inside.txt", "fine\n")
        try fx.write("recipes/inside.patch", "--- a/x\n+++ b/x\n")
        try FileManager.default.createSymbolicLink(atPath: fx.path("recipes/escape"), withDestinationPath: fx.path("outside/secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: fx.path("recipes/escape-dir"), withDestinationPath: fx.path("outside"))
        try FileManager.default.createSymbolicLink(atPath: fx.path("recipes/stays"), withDestinationPath: "inside.txt")
        return fx
    }

    private let head = "package:\n  name: app\n  version: '1.0'\n  summary: App\n"

    /// The one error a recipe at recipes/recipe.yml is refused with.
    private func refusal(_ fx: RecipeFixture, _ body: String, context: String? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try fx.write("recipes/recipe.yml", head + body)
        do {
            _ = try Recipe.load(path: path, context: context)
            XCTFail("the recipe was accepted", file: file, line: line)
            return ""
        } catch let error as PkgLayerError {
            return error.description
        }
    }

    private func assertOutside(_ message: String, field: String, written: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(message.contains("\(field): '\(written)' is outside the build context"), message, file: file, line: line)
        XCTAssertTrue(message.contains("--context"), "the error says how to widen the context: \(message)", file: file, line: line)
    }

    func testEveryRecipeFieldThatNamesAFileStaysInTheContext() throws {
        let fx = try fixture()
        let secret = fx.path("outside/secret.txt")
        let cases: [(body: String, field: String, written: String)] = [
            ("sources:\n  - path: ../outside/secret.txt\n", "sources[0].path", "../outside/secret.txt"),
            ("sources:\n  - path: \(secret)\n", "sources[0].path", secret),
            ("sources:\n  - path: escape\n", "sources[0].path", "escape"),
            ("sources:\n  - path: escape-dir/secret.txt\n", "sources[0].path", "escape-dir/secret.txt"),
            ("patches: [../outside/secret.txt]\n", "patches[0]", "../outside/secret.txt"),
            ("patches: [escape]\n", "patches[0]", "escape"),
            ("  scripts:\n    post-install: { file: ../outside/secret.txt }\n", "package.scripts.post-install.file", "../outside/secret.txt"),
            ("  scripts:\n    post-install: { file: \(secret) }\n", "package.scripts.post-install.file", secret),
            ("  scripts:\n    post-install: { file: escape }\n", "package.scripts.post-install.file", "escape"),
            ("build:\n  requires:\n    recipes: [../outside/other.yml]\n", "build.requires.recipes", fx.path("outside/other.yml")),
            ("image:\n  files:\n    - { src: ../outside/secret.txt, dest: /etc/secret }\n", "image.files[0].src", "../outside/secret.txt"),
            ("image:\n  files:\n    - { src: escape, dest: /etc/secret }\n", "image.files[0].src", "escape"),
            ("image:\n  files:\n    - { src: escape-dir, dest: /etc/x }\n", "image.files[0].src", "escape-dir"),
            ("image:\n  lockfile: ../outside/secret.txt\n", "image.lockfile", "../outside/secret.txt"),
            ("image:\n  base: rootfs:../outside/base.tar\n", "image.base", "../outside/base.tar"),
            ("image:\n  base: oci-layout:\(fx.path("outside/layout")):1\n", "image.base", fx.path("outside/layout")),
            ("image:\n  packages: [../outside/secret.deb]\n", "image.packages[0]", "../outside/secret.deb"),
            ("image:\n  repositories: [{ apt: 'http://127.0.0.1/debian', suites: [bookworm], keyring: ../outside/secret.txt }]\n",
             "image.repositories[0].keyring", "../outside/secret.txt"),
        ]
        for (body, field, written) in cases {
            let message = try refusal(fx, body)
            assertOutside(message, field: field, written: written)
            XCTAssertFalse(message.contains("runner secret"), "the secret's content never appears: \(message)")
        }
    }

    func testASymlinkIsNamedWithWhereItLeads() throws {
        let fx = try fixture()
        let message = try refusal(fx, "sources:\n  - path: escape\n")
        XCTAssertTrue(message.contains("through a symlink: it resolves to \(BuildContext.resolve(fx.path("outside/secret.txt")))"), message)
    }

    func testPathsInsideTheContextAreAccepted() throws {
        let fx = try fixture()
        let path = try fx.write("recipes/recipe.yml", head + """
              scripts:
                post-install: { file: ./sub/../inside.txt }
            sources:
              - path: inside.txt
              - path: stays
            patches: [inside.patch]
            image:
              files:
                - { src: inside.txt, dest: /etc/inside }
              repositories: [{ apt: 'http://127.0.0.1/debian', suites: [bookworm], keyring: /usr/share/keyrings/debian-archive-keyring.gpg }]

            """)
        let recipe = try Recipe.load(path: path)
        XCTAssertEqual(recipe.sources.count, 2)
        XCTAssertEqual(recipe.package.scripts[.afterInstall]?.text, "fine\n")
        XCTAssertEqual(recipe.image?.files.first?.source, fx.path("recipes/inside.txt"))
    }

    func testContextFlagWidensTheTreeAndMustHoldTheRecipe() throws {
        let fx = try fixture()
        let path = try fx.write("recipes/recipe.yml", head + "sources:\n  - path: ../outside/secret.txt\n")
        let widened = try Recipe.load(path: path, context: fx.directory)
        XCTAssertEqual(widened.sources.count, 1)
        XCTAssertThrowsError(try Recipe.load(path: path, context: fx.path("outside"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("--context: '\(path)' is not inside the build context"), "\(error)")
        }
    }

    func testImageFilesAreConfinedToo() throws {
        let fx = try fixture()
        let file = try fx.write("recipes/web.yml", "name: web\npackages: [../outside/secret.deb]\nfiles:\n  - { src: escape, dest: /etc/x }\n")
        XCTAssertThrowsError(try ImageSpec.load(path: file)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("packages[0]: '../outside/secret.deb' is outside the build context"), text)
            XCTAssertTrue(text.contains("files[0].src: 'escape' is outside the build context"), text)
        }
    }
}
