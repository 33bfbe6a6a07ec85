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
}

extension ImageBuilder {
    /// Reads a package into a layer: its files plus, for a .deb, its own dpkg database files
    /// (`info/<pkg>.list`, `.md5sums`, scripts, `status.d/<pkg>`), so the same .deb gives the same layer
    /// in every image. With `useCache`, a package file seen before (same sha256) is not read again.
    func packageLayer(_ package: ImagePackage, format: PackageFormat, scratch: String, useCache: Bool,
                      store: ImageStore) throws -> PackageLayer {
        let cacheDirectory = (store.cacheRoot as NSString).appendingPathComponent("package-layers")
        let key = Digest.sha256(Data("pkglayer-package-layer/1\n\(format.rawValue)\n\(package.sha256)\n\(licenseOverrides.sorted { $0.key < $1.key })\n".utf8)).hex
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
                            architecture: record.architecture, buildTime: record.buildTime, statusFragment: record.statusFragment)
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
                                  license: license, buildTime: spec.sourceDateEpoch.seconds, manifest: manifest, statusFragment: fragment)
    }

    private func rpmRecord(_ package: ImagePackage, scratch: String) throws -> PackageLayerRecord {
        let read = try RPMReader().read(path: package.path, extractTo: "\(scratch)/root")
        let spec = read.spec
        var version = spec.version
        if let release = spec.release, !release.isEmpty { version += "-\(release)" }
        if let epoch = spec.epoch, epoch > 0 { version = "\(epoch):\(version)" }
        return PackageLayerRecord(name: spec.name, version: version, architecture: spec.architecture.rpm,
                                  license: spec.license ?? licenseOverrides[spec.name],
                                  buildTime: spec.sourceDateEpoch.seconds, manifest: read.manifest, statusFragment: nil)
    }
}
