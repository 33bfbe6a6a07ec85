import Foundation
import PkgLayerBuild
import PkgLayerCore
import PkgLayerRecipe

extension RecipeBuilder {
    /// `pkglayer build --explain-sandbox`: what the sandbox of `recipePath`'s build steps mounts, shares
    /// and clears, from the same bwrap arguments a build uses (its work directory is made and removed;
    /// nothing is fetched or built).
    public func sandboxExplanation(recipePath: String) throws -> String {
        let recipe = try Recipe.load(path: recipePath, context: options.context)
        let workspace = try BuildWorkspace(parent: options.workdir)
        let variables = recipe.variables(architecture: .native, destdir: Sandbox.destdirMount, srcdir: Sandbox.sourceMount,
                                         jobs: recipe.build.resolvedJobs())
        let resolved = try recipe.resolvedBuild(variables: variables)
        let depsRoot = recipe.build.requires.recipes.isEmpty ? nil : workspace.root + "/deps"
        let sandbox = workspace.sandbox(sourceDateEpoch: try recipe.sourceDateEpoch() ?? SourceDateEpoch(0), network: resolved.network,
                                        environment: resolved.environment, depsRoot: depsRoot)
        var limits = ["time: all steps together \(Int(resolved.timeout)) s (build.timeout)"]
        for step in resolved.steps {
            if let timeout = step.timeout { limits.append("time: step '\(step.name)' \(Int(timeout)) s (its timeout)") }
        }
        limits.append("the work directory (\(workspace.root) here) is removed after the build, or by the next run if pkglayer was killed")
        return "\(recipe.file):\n" + sandbox.explanation(limits: limits)
    }
}
