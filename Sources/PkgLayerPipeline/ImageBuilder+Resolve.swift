import Foundation
import PkgLayerCore
import PkgLayerRepositories

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

    /// Resolves over the repositories, reading the lockfile when it matches the inputs and writing a
    /// fresh one into the output folder when it resolved (copy it beside the image file to pin).
    /// Seconds since `path` was written, or nil when it does not exist.
    static func age(of path: String) -> TimeInterval? {
        guard let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return nil }
        return max(0, Date().timeIntervalSince(date))
    }

    func resolveFromRepositories(_ spec: ImageSpec, architecture: Architecture, roots: [Dependency], local: [String]) throws -> [ImagePackage] {
        let stem = ((spec.file as NSString).lastPathComponent as NSString).deletingPathExtension
        var lockfile: String? = options.lockfile ?? spec.lockfile ?? "\(spec.directory)/\(stem).lock.json"
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let written = "\(options.outputDirectory)/\(stem).lock.json"
        if options.refresh {
            // --refresh: resolve against the repositories as they are now, whatever is pinned.
            lockfile = nil
        } else if options.lockfile == nil, let pinned = lockfile, !FileManager.default.fileExists(atPath: pinned),
                  let age = Self.age(of: written), age < options.resolutionLifetime {
            // No lockfile beside the recipe: the resolution the last build wrote into the output folder
            // is reused while it is young, so a no-op build reads no index; it still applies only to the
            // same inputs (PackageResolution compares them) and --refresh resolves again.
            lockfile = written
            Progress.note("reusing the resolution in \(written) from \(Int(age / 60)) min ago (resolved again after \(Int(options.resolutionLifetime / 3600)) h, or with --refresh)")
        }
        let before = try? FileDigest.sha256Hex(path: written)
        let resolved = try PackageResolution.resolve(
            format: spec.format, architecture: architecture, roots: roots, local: local,
            repositories: spec.repositories, lockfile: lockfile, writeLockfile: written, offline: options.offline)
        if FileManager.default.fileExists(atPath: written), (try? FileDigest.sha256Hex(path: written)) != before || before != nil {
            lockfileBox.path = written
        }
        return resolved.map { ImagePackage(path: $0.path, sha256: $0.sha256, repository: $0.repository) }
    }
}
