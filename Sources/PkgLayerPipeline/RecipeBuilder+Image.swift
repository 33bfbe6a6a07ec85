import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRecipe
import PkgLayerRegistry

/// What `pkglayer build` asks of a recipe's image.
public struct RecipeImageRequest: Sendable {
    public var outputDirectory: String
    public var offline: Bool
    /// Overrides the recipe's lockfile (to read).
    public var lockfile: String?
    /// Resolve the image's packages again, ignoring lockfiles.
    public var refresh: Bool
    /// How a registry base is pulled.
    public var registry = RegistryOptions()

    public init(outputDirectory: String, offline: Bool = false, lockfile: String? = nil, refresh: Bool = false,
                registry: RegistryOptions = RegistryOptions()) {
        self.outputDirectory = outputDirectory; self.offline = offline; self.lockfile = lockfile; self.refresh = refresh
        self.registry = registry
    }
}

extension RecipeBuilder {
    /// The recipe's image, from the packages just built (this recipe's and the recipes it requires);
    /// nil when the recipe has no `image:` section.
    public func buildImage(recipePath: String, results: [RecipeResult], request: RecipeImageRequest) throws -> ImageBuilder.Result? {
        let recipe = try Recipe.load(path: recipePath, context: options.context)
        guard let spec = recipe.image, let main = results.last else { return nil }
        let format = spec.format
        var packages: [String: String] = [:]
        for result in results { for file in result.packages where file.format == format { packages[file.package] = file.path } }
        guard packages[recipe.package.name] != nil else {
            throw PkgLayerError(.usage, "the image needs the recipe's .\(format.rawValue) packages; add \(format.rawValue) to --format or use --no-image",
                                at: "\(recipePath): image.format")
        }
        var options = ImageBuilder.Options(outputDirectory: request.outputDirectory, offline: request.offline, lockfile: request.lockfile)
        options.refresh = request.refresh
        options.registry = request.registry
        if let license = recipe.package.license {
            options.licenses[recipe.package.name] = license
            for sub in recipe.subpackages { options.licenses[sub.name] = sub.license ?? license }
        }
        let builder = ImageBuilder(options: options)
        return try builder.build(spec, recipePackages: packages, packageAccounts: recipe.package.accounts,
                                 defaultEpoch: main.sourceDateEpoch)
    }
}

extension ImageBuilder.Result {
    /// `--push`: the image's OCI layout output to a registry, tagged as the image is.
    public func push(to reference: String, options: RegistryOptions) throws -> (target: RegistryReference, report: PushReport) {
        let target = try RegistryReference(parsing: reference)
        guard let layout = outputs[ImageSpec.Output.ociLayout.rawValue] else {
            throw PkgLayerError(.usage, "pushing needs the image's oci-layout output; add oci-layout to image.outputs", at: "--push")
        }
        let tag = image.split(separator: ":").last.map(String.init)
        let report = try Progress.stage(Stage.push, target.description) {
            try Registry.push(layout: layout, tag: tag, to: target, options: options)
        }
        return (target, report)
    }
}
