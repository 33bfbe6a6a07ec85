import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline
import PkgLayerRegistry

/// `pkglayer graph RECIPES…`: the recipe DAG for an existing CI engine to run.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the recipe graph for a CI engine: JSON, Graphviz dot, a GitHub Actions workflow or a GitLab CI pipeline.",
        discussion: """
        Examples:
          pkglayer graph recipes/ --format json
          pkglayer graph recipes/ --format github-actions --cache registry.example.com/team/pkglayer-cache > .github/workflows/pkglayer.yml
          pkglayer graph recipes/ --format gitlab-ci --cache registry.example.com/team/pkglayer-cache --only-uncached

        Each job runs `pkglayer build RECIPE --cache REF`; a job's `needs:` are the recipes it builds against.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Recipe files or directories of recipes.")
    var recipes: [String]

    @Option(name: .customLong("format"), help: "json, dot, github-actions or gitlab-ci.")
    var format: String = "json"

    @Option(name: .customLong("cache"), help: ArgumentHelp("The registry cache every job uses; json also says which keys it holds.", valueName: "HOST[:PORT]/REPOSITORY"))
    var cacheRepository: String?

    @Flag(name: [.customLong("only-uncached"), .customLong("changed-since-cache")],
          help: "Leave out recipes whose key is already in the --cache registry (and keep everything that needs a recipe kept).")
    var onlyUncached = false

    @Option(name: .customLong("context"), help: ArgumentHelp("The build context (default: each recipe's own directory).", valueName: "DIR"))
    var context: String?

    @Option(name: .customLong("command"), help: "The command each job runs before the recipe's path.")
    var command = "pkglayer build"

    @Option(name: .customLong("setup"), help: "A command every CI job runs before building (repeatable), e.g. what installs pkglayer.")
    var setup: [String] = []

    @OptionGroup var registryOptions: RegistryCommandOptions

    func run() throws {
        global.bootstrapLogging(json: format == "json")
        try runReportingErrors {
            guard ["json", "dot", "github-actions", "gitlab-ci"].contains(format) else {
                throw PkgLayerError(.usage, "unknown format '\(format)'; use json, dot, github-actions or gitlab-ci", at: "--format")
            }
            let given = RemoteCacheOptions.repositoryText(flag: cacheRepository)
            let remote = try given.map { RemoteCacheOptions(repository: try RegistryReference(parsing: $0), registry: registryOptions.registryOptions()) }
            if onlyUncached && remote == nil {
                throw PkgLayerError(.usage, "needs --cache REF (or PKGLAYER_CACHE_REPO) to know what is cached", at: "--only-uncached")
            }
            var options = RecipeBuilder.Options()
            options.context = context
            var graph = try GraphExport.make(roots: recipes, builder: RecipeBuilder(options: options), remote: remote, command: command)
            if onlyUncached { graph = graph.pruned() }
            graph.setup = setup
            switch format {
            case "json": print(graph.json)
            case "dot": print(graph.dot, terminator: "")
            case "github-actions": print(graph.githubActions, terminator: "")
            default: print(graph.gitlabCI, terminator: "")
            }
        }
    }
}
