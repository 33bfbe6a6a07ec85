import Foundation
import PkgLayerCore

extension ImageBuilder {
    /// The package files the image holds: the recipe's own packages named in `packages:`, local files,
    /// and (with repositories) everything they need, resolved into a closure.
    func resolvePackages(_ spec: ImageSpec, architecture: Architecture, recipePackages: [String: String]) throws -> [ImagePackage] {
        var local: [String] = []
        var roots: [Dependency] = []
        for (i, reference) in spec.packages.enumerated() {
            let field = "\(spec.file): image.packages[\(i)]"
            switch reference {
            case .file(let path):
                guard path.hasSuffix(".\(spec.format.fileExtension)") else {
                    throw PkgLayerError(.invalidInput,
                                        "'\(path)' is not a .\(spec.format.fileExtension) file, but the image's format is \(spec.format.rawValue); set image.format or convert it with `pkglayer package -s \(spec.format == .deb ? "rpm" : "deb") -t \(spec.format.rawValue)`",
                                        at: field)
                }
                local.append(path)
            case .named(let dependency):
                if dependency.alternatives.count == 1, let path = recipePackages[dependency.name] {
                    local.append(path)
                } else {
                    roots.append(dependency)
                }
            }
        }
        if spec.repositories.isEmpty {
            if let first = roots.first {
                let own = recipePackages.keys.sorted()
                throw PkgLayerError(.invalidInput,
                                    "'\(first)' is not \(own.isEmpty ? "a package file" : "one of the recipe's packages (\(own.joined(separator: ", ")))") and the image declares no repositories; add `repositories:` (e.g. `- apt: host`) or give a path to a .\(spec.format.fileExtension)",
                                    at: "\(spec.file): image.packages")
            }
            var seen = Set<String>()
            return try local.filter { seen.insert($0).inserted }.map { path in
                ImagePackage(path: path, sha256: try FileDigest.sha256Hex(path: path), repository: nil)
            }
        }
        return try resolveFromRepositories(spec, architecture: architecture, roots: roots, local: local)
    }

    func resolveFromRepositories(_ spec: ImageSpec, architecture: Architecture, roots: [Dependency], local: [String]) throws -> [ImagePackage] {
        throw PkgLayerError(.usage, "package repositories are not wired in yet", at: "\(spec.file): image.repositories")
    }
}
