import FuzzSupport
import Foundation
import PkgLayerCore
import PkgLayerRecipe

/// The recipe decoder on one input (as `Recipe.load` reads a file: UTF-8 text, relative paths from a
/// directory with a few files), then, for a recipe it accepts, the lowering to rpm and deb specs and the build's
/// interpolation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let text = String(bytes: bytes, encoding: .utf8) else { return 0 }   // Recipe.load refuses non-UTF-8 first
    let directory = RecipeFuzz.directory
    var recipe: Recipe?
    Fuzz.run("Recipe.parse") { recipe = try Recipe.parse(yaml: text, file: "fuzz.yml", directory: directory) }
    guard let recipe else { return 0 }
    Fuzz.run("Recipe.sourceDateEpoch") { _ = try recipe.sourceDateEpoch(environment: [:]) }
    for format in [PackageFormat.rpm, .deb] {
        Fuzz.run("Recipe.packages(\(format))") { _ = try recipe.packages(for: format, architecture: .x86_64, sourceDateEpoch: SourceDateEpoch(0)) }
    }
    let variables = Dictionary(uniqueKeysWithValues: RecipeVariable.allCases.map { ($0.rawValue, "v-\($0.rawValue)") })
    Fuzz.run("Recipe.resolvedBuild") { _ = try recipe.resolvedBuild(variables: variables) }
    return 0
}

enum RecipeFuzz {
    /// The recipe's directory, holding the files the seeds name (Fuzz/Seeds/recipe/full.yml, the
    /// decoding tests' full recipe, and recipes/nginx.yml); anything else a recipe names is missing.
    static let directory: String = {
        let directory = Fuzz.freshDirectory("recipe")
        for dir in ["scripts", "files", "patches"] { mkdir("\(directory)/\(dir)", 0o755) }
        let files = [
            "scripts/nginx.postinst": "#!/bin/sh\necho configured\n",
            "files/nginx.conf": "worker_processes 1;\n",
            "files/local.deb": "not really a deb\n",
            "files/nginx-index.html": "<html></html>\n",   // recipes/nginx.yml's
            "patches/0001-fix.patch": "--- a/x\n+++ b/x\n",
            "patches/0002-more.patch": "--- x\n+++ x\n",
            "pcre2.yml": "package: { name: pcre2, version: '10.42', summary: PCRE2 }\n",
            "zlib.yml": "package: { name: zlib, version: '1.3', summary: zlib }\n",
        ]
        for (name, text) in files { Fuzz.write(Array(text.utf8), to: "recipe/\(name)") }
        return directory
    }()
}
