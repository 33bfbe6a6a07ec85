import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry

/// Turns an ImageSpec into an image: resolves the packages, makes one layer per package (with that
/// package's own database files), a top layer with the image's own files (accounts, the combined
/// package database, `files:`), assembles it in the local store, tags it, and writes the outputs.
public struct ImageBuilder {
    public struct Options {
        public var outputDirectory: String
        public var offline = false
        /// Overrides the spec's lockfile (to read); nil keeps the spec's.
        public var lockfile: String?
        public var overwrite = true
        /// Licenses for packages whose files do not say (the recipe's own .debs), by package name.
        public var licenses: [String: String] = [:]
        /// Resolve against the repositories now, ignoring lockfiles (`--refresh`).
        public var refresh = false
        /// How a registry base (`base: HOST/REPO:TAG`) is pulled: trust, credentials, retries.
        public var registry = RegistryOptions()
        /// How many packages are read and layered at once; nil: `PKGLAYER_JOBS`, else one per core.
        /// The image is the same whatever the number.
        public var jobs: Int?
        /// How long the resolution written into the output folder is reused when the image has no
        /// lockfile of its own: `PKGLAYER_RESOLUTION_LIFETIME` seconds, default 24 h.
        public var resolutionLifetime: TimeInterval = ProcessInfo.processInfo.environment["PKGLAYER_RESOLUTION_LIFETIME"]
            .flatMap(TimeInterval.init) ?? 24 * 3600

        public init(outputDirectory: String, offline: Bool = false, lockfile: String? = nil, overwrite: Bool = true,
                    licenses: [String: String] = [:]) {
            self.outputDirectory = outputDirectory; self.offline = offline; self.lockfile = lockfile
            self.overwrite = overwrite; self.licenses = licenses
        }
    }

    public struct Result: Codable, Sendable {
        public var image: String
        public var digest: String
        public var layers: [LayerSummary]
        public var outputs: [String: String]
        public var lockfile: String?
        public var seconds: Double
    }

    public struct LayerSummary: Codable, Sendable {
        public var package: String
        public var version: String?
        public var digest: String
        public var size: Int64
    }

    let options: Options
    let logger = Logger(label: "pkglayer.image")
    var licenseOverrides: [String: String] { options.licenses }

    /// `recipePackages`: the recipe's own package files by package name (for this image's format);
    /// `packageAccounts`: accounts the recipe's packages declare.
    public func build(_ spec: ImageSpec, recipePackages: [String: String] = [:], packageAccounts: Accounts = Accounts(),
               defaultEpoch: Int64? = nil) throws -> Result {
        let started = Date()
        let architecture = spec.architecture ?? .native
        let store = try ImageStore.open()
        let scratch = try TemporaryDirectory(prefix: "pkglayer-image")

        // 1. Which package files.
        let packages = try Progress.stage(Stage.resolve, spec.reference) {
            try resolvePackages(spec, architecture: architecture, recipePackages: recipePackages)
        }

        // 2. One layer source per package, the packages side by side (largest first, so the last one
        // to finish is small); each package's bytes do not depend on how many run at once.
        let cacheable = spec.layering == .perPackage
        let jobs = max(1, min(options.jobs ?? Self.defaultJobs, packages.count))
        let threads = max(1, Compression.defaultThreads / jobs)
        var layers = try Self.inParallel(packages.count, jobs: jobs, order: Self.largestFirst(packages)) { index in
            let package = packages[index]
            return try Progress.stage(Stage.layer, (package.path as NSString).lastPathComponent) {
                do {
                    return try packageLayer(package, format: spec.format, scratch: "\(scratch.path)/p\(index)", useCache: cacheable, store: store,
                                            threads: threads)
                } catch {
                    throw refusal(error, layering: package)
                }
            }
        }
        // A library below what needs it: changing an application leaves the library layers' chain as it was.
        layers = Self.dependencyOrder(layers)
        // Every package was read and accepted: only now may the resolution be pinned (ImageBuilder+Resolve.swift).
        try writeResolvedLockfile(spec)

        let epoch = try SourceDateEpoch.resolve(default: defaultEpoch) {
            // The newest package decides, so an image of the same packages keeps its date.
            layers.map(\.buildTime).max() ?? 0
        }

        // 3. The base, and the image's own files on top (extending the base's passwd, group and status).
        let base = try resolveBase(spec, store: store, architecture: architecture)
        let top = try topLayer(spec, packages: packages, layers: layers, packageAccounts: packageAccounts, epoch: epoch,
                               scratch: "\(scratch.path)/top", architecture: architecture,
                               baseFiles: try baseFiles(base, store: store))

        // 4. Assemble, tag, write.
        var layerWriter = LayerWriter(cache: store.layerCache)
        layerWriter.compressionLevel = ImageBuilder.compressionLevel
        let assembler = ImageAssembler(store: store.blobs, layerWriter: layerWriter)
        var annotations = spec.annotations
        annotations[OCIAnnotation.title] = annotations[OCIAnnotation.title] ?? spec.name
        annotations[OCIAnnotation.version] = annotations[OCIAnnotation.version] ?? spec.tag
        if let author = spec.author, annotations[OCIAnnotation.authors] == nil { annotations[OCIAnnotation.authors] = author }
        let request = ImageRequest(layers: layers.map(\.source), topLayer: top, config: try containerConfig(spec.config),
                                   author: spec.author, annotations: annotations, epoch: epoch, architecture: architecture,
                                   layering: spec.layering, base: base)
        var image = try Progress.stage(Stage.image, spec.reference) { try assembler.assemble(request) }
        if spec.scripts == .run, let scripts = try runScripts(image: image, store: store, layers: layers, format: spec.format,
                                                              epoch: epoch, scratch: "\(scratch.path)/scripts") {
            // The scripts' changes go on top of everything, the image's own files included.
            var withScripts = request
            withScripts.layers += (top.map { [LayerSource(manifest: $0, origin: LayerOrigin(name: "image files"), comment: "the image's own files")] } ?? [])
                + [scripts]
            withScripts.topLayer = nil
            image = try assembler.assemble(withScripts)
        }
        try store.tag(image, as: spec.reference)
        let outputs = try writeOutputs(spec, image: image, store: store, origins: layers.map(\.source.origin), epoch: epoch)

        var summaries: [LayerSummary] = []
        for (i, layer) in image.layers.enumerated() {
            let name = layer.descriptor.annotations[LayerOrigin.nameAnnotation] ?? (i == image.layers.count - 1 && top != nil ? "image files" : "layer \(i)")
            summaries.append(LayerSummary(package: name, version: layer.descriptor.annotations[LayerOrigin.versionAnnotation],
                                          digest: layer.descriptor.digest.description, size: layer.descriptor.size))
        }
        return Result(image: spec.reference, digest: image.manifest.digest.description, layers: summaries, outputs: outputs,
                      lockfile: lockfileWritten, seconds: Date().timeIntervalSince(started))
    }

    /// gzip level for layers: 2 by default, measured in the benchmark (README): about a third of level
    /// 6's deflate time for 9% larger layers, within 4% of umoci's (pgzip's default) layer size.
    /// `PKGLAYER_LAYER_GZIP_LEVEL` (1–9) overrides it.
    static var compressionLevel: Int {
        if let text = ProcessInfo.processInfo.environment["PKGLAYER_LAYER_GZIP_LEVEL"], let level = Int(text), (1...9).contains(level) { return level }
        return 2
    }

    /// The image config as written: the spec's, with a default PATH when the spec sets none.
    func containerConfig(_ c: ContainerConfig) throws -> ContainerConfig {
        var config = c
        if !config.env.contains(where: { $0.hasPrefix("PATH=") }) {
            config.env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        return config
    }

    /// Where the lockfile was written this run (set by resolvePackages).
    var lockfileWritten: String? { lockfileBox.path }
    let lockfileBox = LockfileBox()
    final class LockfileBox {
        var path: String?
        /// The resolution's lockfile, until the packages are layered (`writeResolvedLockfile`).
        var pending: PendingLockfile?
        /// Repository packages' labels (name, version, URL) by file, for errors (`refusal`).
        var labels: [String: String] = [:]
    }

    public init(options: Options) { self.options = options }

    /// An image file (`pkglayer image FILE`): the keys of a recipe's `image:` section; `tag` overrides its tag.
    public func build(imageFile path: String, tag: String? = nil, context: String? = nil) throws -> Result {
        var spec = try ImageSpec.load(path: path, context: context)
        if let tag { spec.tag = tag }
        return try build(spec)
    }
}
