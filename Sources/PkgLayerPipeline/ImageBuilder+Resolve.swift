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

    /// Seconds since `path` was written, or nil when it does not exist.
    static func age(of path: String) -> TimeInterval? {
        guard let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return nil }
        return max(0, Date().timeIntervalSince(date))
    }

    /// The lockfile this build writes: `OUT/NAME.lock.json`.
    func writtenLockfile(_ spec: ImageSpec) -> String {
        let stem = ((spec.file as NSString).lastPathComponent as NSString).deletingPathExtension
        return "\(options.outputDirectory)/\(stem).lock.json"
    }

    /// The lockfile this build reads (it may not exist): `--lockfile`, else the image's own (`lockfile:`,
    /// default `NAME.lock.json` beside the image file); when that does not exist, the one the last build
    /// wrote into the output folder while it is younger than `resolutionLifetime` (`reusedAge` says so).
    /// nil with `--refresh`, which resolves against the repositories and registries as they are now.
    /// The packages and a registry base read the same file.
    func lockfileToRead(_ spec: ImageSpec) -> (path: String?, reusedAge: TimeInterval?) {
        if options.refresh { return (nil, nil) }
        let stem = ((spec.file as NSString).lastPathComponent as NSString).deletingPathExtension
        let pinned = options.lockfile ?? spec.lockfile ?? "\(spec.directory)/\(stem).lock.json"
        let written = writtenLockfile(spec)
        if options.lockfile == nil, !FileManager.default.fileExists(atPath: pinned),
           let age = Self.age(of: written), age < options.resolutionLifetime {
            return (written, age)
        }
        return (pinned, nil)
    }

    /// Resolves over the repositories, reading the lockfile when it matches the inputs; the fresh one a
    /// new resolution gives goes into the output folder (copy it beside the image file to pin) only once
    /// every package was layered (`writeResolvedLockfile`): a refused package leaves no lockfile.
    func resolveFromRepositories(_ spec: ImageSpec, architecture: Architecture, roots: [Dependency], local: [String]) throws -> [ImagePackage] {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let written = writtenLockfile(spec)
        let (lockfile, reusedAge) = lockfileToRead(spec)
        if let age = reusedAge {
            // No lockfile beside the recipe: the resolution the last build wrote into the output folder
            // is reused while it is young, so a no-op build reads no index; it still applies only to the
            // same inputs (PackageResolution compares them) and --refresh resolves again.
            Progress.note("reusing the resolution in \(written) from \(Int(age / 60)) min ago (resolved again after \(Int(options.resolutionLifetime / 3600)) h, or with --refresh)")
        }
        // Read before anything may rewrite the very file.
        let pinned = registryBaseReference(spec) == nil ? nil : lockfile.flatMap { try? Lockfile.read(path: $0) }
        let outcome = try PackageResolution.resolution(
            format: spec.format, architecture: architecture, roots: roots, local: local,
            repositories: spec.repositories, lockfile: lockfile, offline: options.offline)
        lockfileBox.pending = PendingLockfile(fresh: outcome.lockfile, pinned: pinned, read: lockfile)
        for package in outcome.packages where package.repository != nil { lockfileBox.labels[package.path] = package.label }
        return outcome.packages.map { ImagePackage(path: $0.path, sha256: $0.sha256, repository: $0.repository) }
    }

    /// An error layering `package` refused it for: for a repository package, named by its name, version
    /// and URL (the file itself is a cache entry named by its digest, which goes into the message).
    func refusal(_ error: Error, layering package: ImagePackage) -> Error {
        guard let error = error as? PkgLayerError, let label = lockfileBox.labels[package.path] else { return error }
        return PkgLayerError(error.code, "refused, nothing was written: \(error.location.map { "\($0): " } ?? "")\(error.message)",
                             at: "package \(label)", cause: error.cause)
    }

    /// What `resolveFromRepositories` leaves for `writeResolvedLockfile`.
    struct PendingLockfile {
        /// A fresh resolution's lockfile; nil when the one read was used as it is.
        var fresh: Lockfile?
        /// The lockfile read, when the image has a registry base (whose pin it may hold).
        var pinned: Lockfile?
        /// The path of the lockfile read.
        var read: String?
    }

    /// Writes `OUT/NAME.lock.json` once every resolved package was read and layered (ImageBuilder.build
    /// calls it then), atomically: a fresh resolution's lockfile, else, with a registry base, the pinned
    /// lockfile used as it was (so the base step can add the base's digest to this build's whole
    /// lockfile). A fresh one keeps the base pin the lockfile read held (the base does not depend on the
    /// packages). Nothing is written when the build failed before, so the next build does not reuse a
    /// resolution whose packages were refused.
    func writeResolvedLockfile(_ spec: ImageSpec) throws {
        guard let pending = lockfileBox.pending else { return }
        lockfileBox.pending = nil
        let written = writtenLockfile(spec)
        let before = try? FileDigest.sha256Hex(path: written)
        if var fresh = pending.fresh {
            if fresh.base == nil, let pin = pending.pinned?.base { fresh.base = pin }
            try fresh.write(to: written)
            Progress.note("wrote the lockfile \(written) (\(fresh.packages.count) packages)")
        } else if let pinned = pending.pinned, let read = pending.read, read != written {
            try Self.writeIfChanged(pinned, to: written)
        }
        if FileManager.default.fileExists(atPath: written), (try? FileDigest.sha256Hex(path: written)) != before || before != nil {
            lockfileBox.path = written
        }
    }

    /// The inode and modification time of `path`: changes when it is written anew (AtomicFile renames a
    /// new file into place).
    static func fileIdentity(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return "\(attributes[.systemFileNumber] ?? "")-\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }

    /// Writes `lockfile` to `path` unless the file already holds exactly those bytes (so its age, which
    /// decides reuse, is kept).
    @discardableResult
    static func writeIfChanged(_ lockfile: Lockfile, to path: String) throws -> Bool {
        if let existing = FileManager.default.contents(atPath: path), existing == Data(lockfile.json.pretty.utf8) { return false }
        try lockfile.write(to: path)
        return true
    }
}
