import Foundation
import PkgLayerArchive
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

/// What the package-layer cache keeps per package file: enough to skip reading the package again,
/// and the layer it gave (written into the store when the package was read).
private struct PackageLayerRecord: Codable {
    var name: String
    var version: String
    var architecture: String
    var license: String?
    var buildTime: Int64
    var statusFragment: String?
    var depends: [String]
    var provides: [String]
    var layer: StoredLayer? = nil
}

/// A layer blob as the package-layer cache records it.
private struct StoredLayer: Codable {
    var digest: String
    var size: Int64
    var diffID: String
    var uncompressedSize: Int64

    init(_ blob: LayerBlob) {
        digest = blob.descriptor.digest.description; size = blob.descriptor.size
        diffID = blob.diffID.description; uncompressedSize = blob.uncompressedSize
    }

    var blob: LayerBlob? {
        guard let digest = Digest(parsing: digest), let diffID = Digest(parsing: diffID) else { return nil }
        return LayerBlob(descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size), diffID: diffID,
                         uncompressedSize: uncompressedSize)
    }
}

/// A package read: what the record keeps, its manifest, and (read without staging) the spool holding
/// its contents.
private struct ReadLayer {
    var record: PackageLayerRecord
    var manifest: FileManifest
    var spool: LayerSpool? = nil
}

extension ImageBuilder {
    /// Reads a package into a layer: its files plus, for a .deb, its own dpkg database files
    /// (`info/<pkg>.list`, `.md5sums`, scripts, `status.d/<pkg>`), so the same .deb gives the same layer
    /// in every image.
    ///
    /// With `useCache` (one layer per package), the layer is written into the store right here, on
    /// this package's own core, and handed to the assembler ready-made; a .deb is then read once
    /// without staging its files (its contents wait in a spool until the manifest is known). A package
    /// file seen before (same sha256, same layer settings) whose layer is still in the store is not
    /// read at all. Without `useCache` (merged layerings need the files) the package is staged under
    /// `scratch` and the assembler writes the layers. `threads`: the cores one layer's gzip may use.
    func packageLayer(_ package: ImagePackage, format: PackageFormat, scratch: String, useCache: Bool,
                      store: ImageStore, threads: Int = Compression.defaultThreads) throws -> PackageLayer {
        let cacheDirectory = (store.cacheRoot as NSString).appendingPathComponent("package-layers")
        let settings = "gzip \(GzipEngine.current.rawValue) \(Self.compressionLevel) \(LayerCache.formatVersion)"
        let key = Digest.sha256(Data("pkglayer-package-layer/3\n\(format.rawValue)\n\(package.sha256)\n\(licenseOverrides.sorted { $0.key < $1.key })\n\(settings)\n".utf8)).hex
        let recordPath = "\(cacheDirectory)/\(key).json"
        if useCache, let data = FileManager.default.contents(atPath: recordPath),
           let record = try? JSONDecoder().decode(PackageLayerRecord.self, from: data),
           let blob = record.layer?.blob, store.blobs.has(blob.descriptor.digest, size: blob.descriptor.size) {
            return layer(from: record, manifest: try FileManifest(entries: [], implicitDirectoryMtime: 0), blob: blob,
                         package: package, format: format)
        }
        var read: ReadLayer
        switch format {
        case .deb where useCache && Self.streamLayers: read = try streamedDebRecord(package, scratch: scratch)
        case .deb: read = try debRecord(package, scratch: scratch)
        case .rpm: read = try rpmRecord(package, scratch: scratch)
        }
        guard useCache else { return layer(from: read.record, manifest: read.manifest, blob: nil, package: package, format: format) }
        let writer = LayerWriter(compressionLevel: Self.compressionLevel, threads: threads, cache: store.layerCache)
        let blob = try writer.write(read.manifest, to: store.blobs, spool: read.spool)
        read.record.layer = StoredLayer(blob)
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let file = try AtomicFile(path: recordPath, overwrite: true)
        try file.write(Array(try encoder.encode(read.record)))
        try file.commit()
        return layer(from: read.record, manifest: read.manifest, blob: blob, package: package, format: format)
    }

    private func layer(from record: PackageLayerRecord, manifest: FileManifest, blob: LayerBlob?, package: ImagePackage,
                       format: PackageFormat) -> PackageLayer {
        let origin = LayerOrigin(name: record.name, version: record.version, format: format.rawValue, license: record.license,
                                 packageSHA256: package.sha256)
        return PackageLayer(source: LayerSource(manifest: manifest, origin: origin, layer: blob), package: package,
                            architecture: record.architecture, buildTime: record.buildTime, statusFragment: record.statusFragment,
                            name: record.name, depends: record.depends, provides: record.provides)
    }

    private func debRecord(_ package: ImagePackage, scratch: String) throws -> ReadLayer {
        let read = try DebReader().readPackage(path: package.path, extractTo: "\(scratch)/root")
        let installed = try DpkgInstalledPackage(deb: package.path, read: read)
        let database = DpkgDatabase()
        let files = database.packageFiles(for: installed)
        let entries = try DpkgDatabase.manifestEntries(files, stagingRoot: "\(scratch)/db", epoch: read.package.spec.sourceDateEpoch)
        return try debRecord(read: read, installed: installed, files: files, databaseEntries: entries) { copyright in
            copyright.sourcePath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        }
    }

    /// A .deb read once, its contents going into a spool (no staged tree); the dpkg database files go
    /// into the spool too. The layer written from it has the bytes the staged path gives: the same
    /// manifest, the same contents.
    private func streamedDebRecord(_ package: ImagePackage, scratch: String) throws -> ReadLayer {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let spool = try LayerSpool(directory: scratch)
        let receiver = DebSpoolReceiver(spool)
        let read = try DebReader().readPackage(path: package.path, content: receiver)
        let installed = try DpkgInstalledPackage(deb: package.path, read: read, md5BySHA256: receiver.md5BySHA256)
        let files = DpkgDatabase().packageFiles(for: installed)
        let epoch = read.package.spec.sourceDateEpoch
        var entries: [ManifestEntry] = []
        for file in files {
            let sha256 = Digest.sha256(file.contents).hex
            spool.begin()
            try file.contents.withUnsafeBytes { try spool.write($0) }
            spool.end(sha256: sha256)
            entries.append(ManifestEntry(path: try ManifestPath.normalize(file.path, field: file.path), kind: .file, mode: file.mode,
                                         mtime: epoch.seconds, size: UInt64(file.contents.count), sha256: sha256))
        }
        var made = try debRecord(read: read, installed: installed, files: files, databaseEntries: entries) { copyright in
            (copyright.sha256.flatMap { try? spool.contents(sha256: $0) }).map { String(decoding: $0, as: UTF8.self) }
        }
        made.spool = spool
        return made
    }

    private func debRecord(read: DebReader.ReadResult, installed: DpkgInstalledPackage, files: [DpkgDatabaseFile],
                           databaseEntries: [ManifestEntry], text: (ManifestEntry) -> String?) throws -> ReadLayer {
        let database = DpkgDatabase()
        let spec = read.package.spec
        let manifest = try FileManifest(entries: read.package.manifest.entries + databaseEntries,
                                        implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
        var license = spec.license ?? licenseOverrides[installed.name]
        if license == nil, let copyright = read.package.manifest.entries.first(where: { $0.path == "/usr/share/doc/\(installed.name)/copyright" }),
           copyright.kind == .file, let text = text(copyright) {
            license = DebCopyright.licenses(text)
        }
        let fragment = files.first { $0.path.hasPrefix("\(database.adminDirectory)/status.d/") }.map { String(decoding: $0.contents, as: UTF8.self) }
        let record = PackageLayerRecord(name: installed.name, version: installed.version, architecture: installed.architecture,
                                        license: license, buildTime: spec.sourceDateEpoch.seconds, statusFragment: fragment,
                                        depends: Self.names(spec.preDepends + spec.depends), provides: [installed.name] + Self.names(spec.provides))
        return ReadLayer(record: record, manifest: manifest)
    }

    private func rpmRecord(_ package: ImagePackage, scratch: String) throws -> ReadLayer {
        let read = try RPMReader().read(path: package.path, extractTo: "\(scratch)/root")
        let spec = read.spec
        var version = spec.version
        if let release = spec.release, !release.isEmpty { version += "-\(release)" }
        if let epoch = spec.epoch, epoch > 0 { version = "\(epoch):\(version)" }
        let record = PackageLayerRecord(name: spec.name, version: version, architecture: spec.architecture.rpm,
                                        license: spec.license ?? licenseOverrides[spec.name],
                                        buildTime: spec.sourceDateEpoch.seconds, statusFragment: nil,
                                        depends: Self.names(spec.depends + spec.preDepends), provides: [spec.name] + Self.names(spec.provides))
        return ReadLayer(record: record, manifest: read.manifest)
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


/// Puts a .deb's contents into a layer spool as DebReader reads them, keeping each content's md5 for
/// dpkg's database (conffiles, generated md5sums).
private final class DebSpoolReceiver: DebContentSink {
    let spool: LayerSpool
    var md5BySHA256: [String: String] = [:]

    init(_ spool: LayerSpool) { self.spool = spool }

    func beginFile() { spool.begin() }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try spool.write(bytes) }
    func endFile(sha256: String, md5: String) {
        spool.end(sha256: sha256)
        md5BySHA256[sha256] = md5
    }
}
