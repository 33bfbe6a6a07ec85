import Foundation
import PkgLayerCore

extension RecipeBuilder {
    /// Signs every package the results name, in the output folder (the build cache keeps the unsigned
    /// bytes, so the key is no part of any cache key and one cache serves signed and unsigned builds).
    /// Each package's signature carries the recipe's SOURCE_DATE_EPOCH, so a rebuild signs identically.
    public func sign(_ results: [RecipeResult], with key: SigningKey) throws -> [RecipeResult] {
        try results.map { result in
            var signed = result
            signed.packages = try result.packages.map { file in
                try PackageSigning.sign(file.path, with: key, epoch: result.sourceDateEpoch)
                var file = file
                let output = try PackageOutput.describing(file.path, format: file.format)
                file.sha256 = output.sha256
                file.size = output.size
                return file
            }
            return signed
        }
    }
}
