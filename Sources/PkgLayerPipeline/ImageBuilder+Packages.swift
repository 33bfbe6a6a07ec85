import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerOCI
import PkgLayerRPM

/// A package file going into an image.
struct ImagePackage {
    var path: String
    /// Lowercase hex.
    var sha256: String
    /// The repository it was resolved from; nil for the recipe's own and local files.
    var repository: String?
}

/// One package's layer, ready for the assembler.
struct PackageLayer {
    var source: LayerSource
    var package: ImagePackage
    var architecture: String
    /// The package's own date (its build time).
    var buildTime: Int64
    /// deb: the rendered status paragraph (`status.d/<pkg>`), for the combined status in the top layer.
    var statusFragment: String?
    /// The package's name, what it needs (names or capabilities) and what it provides (its name too),
    /// for the layer order.
    var name: String
    var depends: [String]
    var provides: [String]
}

/// What the package-layer cache keeps per package file: enough to skip reading the package again.
/// The manifest's digests are what the layer cache keys the compressed layer on.
private struct PackageLayerRecord: Codable {
    var name: String
    var version: String
    var architecture: String
    var license: String?
    var buildTime: Int64
    var manifest: FileManifest
    var statusFragment: String?
    var depends: [String]
    var provides: [String]
}

extension ImageBuilder {
    /// Reads a package into a layer: its files plus, for a .deb, its own dpkg database files
    /// (`info/<pkg>.list`, `.md5sums`, scripts, `status.d/<pkg>`), so the same .deb gives the same layer
    /// in every image. With `useCache`, a package file seen before (same sha256) is not read again.
    func packageLayer(_ package: ImagePackage, format: PackageFormat, scratch: String, useCache: Bool,
                      store: ImageStore) throws -> PackageLayer {
        let cacheDirectory = (store.cacheRoot as NSString).appendingPathComponent("package-layers")
        let key = Digest.sha256(Data("pkglayer-package-layer/2\n\(format.rawValue)\n\(package.sha256)\n\(licenseOverrides.sorted { $0.key < $1.key })\n".utf8)).hex
        let recordPath = "\(cacheDirectory)/\(key).json"
        if useCache, let data = FileManager.default.contents(atPath: recordPath),
           let record = try? JSONDecoder().decode(PackageLayerRecord.self, from: data),
           let layerKey = LayerCache.key(for: record.manifest, compressionLevel: Self.compressionLevel),
           store.layerCache.lookup(layerKey, in: store.blobs) != nil {
            return layer(from: record, package: package, format: format)
        }
        let record: PackageLayerRecord
        switch format {
        case .deb: record = try debRecord(package, scratch: scratch)
        case .rpm: record = try rpmRecord(package, scratch: scratch)
        }
        if useCache {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let file = try AtomicFile(path: recordPath, overwrite: true)
            try file.write(Array(try encoder.encode(record)))
            try file.commit()
        }
        return layer(from: record, package: package, format: format)
    }

    private func layer(from record: PackageLayerRecord, package: ImagePackage, format: PackageFormat) -> PackageLayer {
        let origin = LayerOrigin(name: record.name, version: record.version, format: format.rawValue, license: record.license,
                                 packageSHA256: package.sha256)
        return PackageLayer(source: LayerSource(manifest: record.manifest, origin: origin), package: package,
                            architecture: record.architecture, buildTime: record.buildTime, statusFragment: record.statusFragment,
                            name: record.name, depends: record.depends, provides: record.provides)
    }

    private func debRecord(_ package: ImagePackage, scratch: String) throws -> PackageLayerRecord {
        let read = try DebReader().readPackage(path: package.path, extractTo: "\(scratch)/root")
        let installed = try DpkgInstalledPackage(deb: package.path, read: read)
        let database = DpkgDatabase()
        let files = database.packageFiles(for: installed)
        let spec = read.package.spec
        let entries = try DpkgDatabase.manifestEntries(files, stagingRoot: "\(scratch)/db", epoch: spec.sourceDateEpoch)
        let manifest = try FileManifest(entries: read.package.manifest.entries + entries,
                                        implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
        var license = spec.license ?? licenseOverrides[installed.name]
        if license == nil, let copyright = read.package.manifest.entries.first(where: { $0.path == "/usr/share/doc/\(installed.name)/copyright" }),
           let source = copyright.sourcePath, let text = try? String(contentsOfFile: source, encoding: .utf8) {
            license = DebCopyright.licenses(text)
        }
        let fragment = files.first { $0.path.hasPrefix("\(database.adminDirectory)/status.d/") }.map { String(decoding: $0.contents, as: UTF8.self) }
        return PackageLayerRecord(name: installed.name, version: installed.version, architecture: installed.architecture,
                                  license: license, buildTime: spec.sourceDateEpoch.seconds, manifest: manifest, statusFragment: fragment,
                                  depends: Self.names(spec.preDepends + spec.depends), provides: [installed.name] + Self.names(spec.provides))
    }

    private func rpmRecord(_ package: ImagePackage, scratch: String) throws -> PackageLayerRecord {
        let read = try RPMReader().read(path: package.path, extractTo: "\(scratch)/root")
        let spec = read.spec
        var version = spec.version
        if let release = spec.release, !release.isEmpty { version += "-\(release)" }
        if let epoch = spec.epoch, epoch > 0 { version = "\(epoch):\(version)" }
        return PackageLayerRecord(name: spec.name, version: version, architecture: spec.architecture.rpm,
                                  license: spec.license ?? licenseOverrides[spec.name],
                                  buildTime: spec.sourceDateEpoch.seconds, manifest: read.manifest, statusFragment: nil,
                                  depends: Self.names(spec.depends + spec.preDepends), provides: [spec.name] + Self.names(spec.provides))
    }
}

extension ImageBuilder {
    /// Every name an alternative of `dependencies` mentions (`a | b` gives both), without architecture
    /// qualifiers (`libc6:any`).
    static func names(_ dependencies: [Dependency]) -> [String] {
        dependencies.flatMap { $0.alternatives.map { String($0.name.split(separator: ":").first ?? Substring($0.name)) } }
    }

    /// Packages in dependency order: a package after everything it needs that the image holds (a
    /// library below what links it), ties and cycles broken by name, so changing an application
    /// leaves the chain of library layers below it as it was.
    static func dependencyOrder(_ layers: [PackageLayer]) -> [PackageLayer] {
        var providers: [String: Set<Int>] = [:]
        for (index, layer) in layers.enumerated() { for name in layer.provides { providers[name, default: []].insert(index) } }
        let needs: [Set<Int>] = layers.enumerated().map { index, layer in
            Set(layer.depends.flatMap { providers[$0] ?? [] }).subtracting([index])
        }
        var placed = Set<Int>(), order: [Int] = []
        let byName = layers.indices.sorted { (layers[$0].name, $0) < (layers[$1].name, $1) }
        while order.count < layers.count {
            let ready = byName.first { !placed.contains($0) && needs[$0].isSubset(of: placed) }
                ?? byName.first { !placed.contains($0) }!
            placed.insert(ready)
            order.append(ready)
        }
        return order.map { layers[$0] }
    }
}

