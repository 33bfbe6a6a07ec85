import ArgumentParser
import PkgLayerRecipe

/// `pkglayer schema`: the recipe JSON Schema, for editors (yaml-language-server) and CI checks.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of recipe files (draft 2020-12).",
        discussion: "Point your editor at it, e.g. '# yaml-language-server: $schema=recipe.schema.json' after 'pkglayer schema > recipe.schema.json'."
    )

    @Flag(name: .customLong("markdown"), help: "Print the field reference as Markdown instead (docs/recipe.md).")
    var markdown = false

    func run() throws {
        print(markdown ? RecipeSchema.markdown : RecipeSchema.json, terminator: markdown ? "" : "\n")
    }
}
