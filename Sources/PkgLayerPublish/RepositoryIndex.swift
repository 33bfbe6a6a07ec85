import Foundation
import PkgLayerCore

/// `.pkglayer/index.json`: every package in the repository with the metadata read when it was added,
/// and the settings the metadata was written with. Sorted and canonical (sorted keys, no whitespace), so
/// the same repository content gives the same bytes, and the generation is named after its digest.
struct RepositoryIndex: Codable, Equatable {
    struct Settings: Codable, Equatable {
        var timestamp: Int64
        var suite: String
        var component: String
        var origin: String?
        var label: String?
        var validFor: Int64?
        var yumCompression: YumMetadataCompression
        /// The signing key's fingerprint and signature time: a new key or time means new signatures.
        var signer: String?

        init(options: PublishOptions, packages: [PublishedPackage]) throws {
            timestamp = options.sourceDateEpoch?.seconds ?? packages.map(\.buildTime).max() ?? 0
            suite = options.suite
            component = options.component
            origin = options.origin
            label = options.label
            validFor = options.validFor
            yumCompression = options.yumCompression
            let timestamp = timestamp
            signer = try (options.signerAt.map { try $0(timestamp) } ?? options.signer).map { "\($0.fingerprint)@\($0.creationTime)" }
        }
    }

    /// Bumped when the record's meaning changes; an index of another format is refused.
    static let currentFormat = 1

    var format: Int = RepositoryIndex.currentFormat
    var settings: Settings
    var packages: [PublishedPackage]

    init(settings: Settings, packages: [PublishedPackage]) {
        self.settings = settings
        self.packages = packages
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    static func decode(_ data: Data, at path: String) throws -> RepositoryIndex {
        let index: RepositoryIndex
        do {
            index = try JSONDecoder().decode(RepositoryIndex.self, from: data)
        } catch {
            throw PkgLayerError(.invalidInput, "is not an index pkglayer can read (\(PkgLayerError.describe(error))); restore it from the previous generation under .pkglayer/gen/",
                                at: path)
        }
        guard index.format == currentFormat else {
            throw PkgLayerError(.invalidInput, "has index format \(index.format); this pkglayer reads format \(currentFormat): use a matching pkglayer",
                                at: path)
        }
        for package in index.packages {
            try Self.checkRelative(package.path, at: path)
        }
        return index
    }

    /// A package path in the index stays inside the repository (the index may have been edited by hand).
    static func checkRelative(_ path: String, at location: String) throws {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }) else {
            throw PkgLayerError(.pathEscapesRoot, "lists the package path '\(path.prefix(200))', which leaves the repository; the index was edited or damaged",
                                at: location)
        }
    }
}
