import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

extension PackageResolution {
    /// The repositories as resolution uses them: an apt repository without a URL stands for the host's
    /// configured apt sources. A repository of the other format is an error naming it.
    public static func expand(_ repositories: [RepositorySpec], format: PackageFormat,
                       hostSources: () throws -> [RepositorySpec] = { try AptRepository.hostSources() }) throws -> [RepositorySpec] {
        var result: [RepositorySpec] = []
        for spec in repositories {
            let expected: RepositorySpec.Kind = format == .deb ? .apt : .yum
            guard spec.kind == expected else {
                throw PkgLayerError(.invalidInput, "a \(spec.kind.rawValue) repository cannot serve a \(format.rawValue) image; use \(expected.rawValue) repositories",
                                    at: spec.origin)
            }
            if spec.kind == .apt && spec.url == nil {
                let host = try hostSources()
                guard !host.isEmpty else {
                    throw PkgLayerError(.invalidInput, "the host has no apt sources (/etc/apt/sources.list, sources.list.d); give the repository's URL",
                                        at: spec.origin)
                }
                result += host.map { source in
                    var source = source
                    if spec.trusted { source.trusted = true }
                    if let keyring = spec.keyring { source.keyring = keyring }
                    return source
                }
            } else {
                result.append(spec)
            }
        }
        return result
    }

    /// Reads every repository's index and resolves the closure (local packages included).
    static func resolveClosure(format: PackageFormat, architecture: Architecture, roots: [Dependency], local: [AvailablePackage],
                               repositories: [RepositorySpec], cache: PackageDownloadCache) throws -> [AvailablePackage] {
        var index = PackageIndex()
        for spec in repositories {
            switch format {
            case .deb: index.add(contentsOf: try AptRepository(spec: spec, architecture: architecture).packages(cache: cache))
            case .rpm: index.add(contentsOf: try YumRepository(spec: spec, architecture: architecture).packages(cache: cache))
            }
        }
        Progress.note("resolving \(roots.count) packages and \(local.count) local files over \(index.count) available packages")
        let sources = repositories.map { spec -> String in
            spec.kind == .apt ? "\(spec.url ?? "") \(spec.suites.joined(separator: ",")) \(spec.components.joined(separator: " "))" : spec.url ?? ""
        }.joined(separator: "; ")
        let resolver: DependencyResolver
        switch format {
        case .deb:
            resolver = DependencyResolver(index: index, scheme: .debian, architectures: [architecture.deb, "all"],
                                          sources: sources.isEmpty ? "the local packages" : sources)
        case .rpm:
            resolver = DependencyResolver(index: index, scheme: RPMVersionOrder.scheme, architectures: [architecture.rpm, "noarch"],
                                          sources: sources.isEmpty ? "the local packages" : sources,
                                          ignores: { YumRepository.isRPMFeature($0) })
        }
        return try resolver.resolve(roots: roots, local: local)
    }

    /// A local .deb/.rpm as the resolver sees it: its name, version, relations and digest.
    static func readLocal(_ path: String, format: PackageFormat) throws -> AvailablePackage {
        guard path.hasSuffix(".\(format.rawValue)") else {
            throw PkgLayerError(.invalidInput, "a local package of a \(format.rawValue) image must be a .\(format.rawValue) file", at: path)
        }
        let spec: PackageSpec
        let version: String
        let architecture: String
        switch format {
        case .deb:
            spec = try DebReader().read(path: path, extractTo: nil).spec
            version = DebVersion(spec: spec).description
            architecture = spec.architecture.deb
        case .rpm:
            spec = try RPMReader().read(path: path, extractTo: nil).spec
            version = RPMVersionOrder.join(epoch: spec.epoch.map(String.init), version: spec.version, release: spec.release)
            architecture = spec.architecture.rpm
        }
        let sha256 = try FileDigest.sha256Hex(path: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        return AvailablePackage(name: spec.name, version: version, architecture: architecture, depends: spec.depends,
                                preDepends: spec.preDepends, provides: spec.provides.map(\.alternatives[0]),
                                conflicts: spec.conflicts + spec.breaks, repository: nil, location: path, sha256: sha256, size: size)
    }
}
