import Foundation
import PkgLayerCore
import PkgLayerOCI

/// Turns an ImageSpec into an image: resolves the packages, makes one layer per package (with that
/// package's own database files), a top layer with the image's own files (accounts, the combined
/// package database, `files:`), assembles it in the local store, tags it, and writes the outputs.
struct ImageBuilder {
    struct Options {
        var outputDirectory: String
        var offline = false
        /// Overrides the spec's lockfile (to read); nil keeps the spec's.
        var lockfile: String?
        var overwrite = true
        /// Licenses for packages whose files do not say (the recipe's own .debs), by package name.
        var licenses: [String: String] = [:]
        var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    }

    struct Result: Codable {
        var image: String
        var digest: String
        var layers: [LayerSummary]
        var outputs: [String: String]
        var lockfile: String?
        var seconds: Double
    }

    struct LayerSummary: Codable {
        var package: String
        var version: String?
        var digest: String
        var size: Int64
    }

    let options: Options
    var licenseOverrides: [String: String] { options.licenses }

    /// `recipePackages`: the recipe's own package files by package name (for this image's format);
    /// `packageAccounts`: accounts the recipe's packages declare.
    func build(_ spec: ImageSpec, recipePackages: [String: String] = [:], packageAccounts: Accounts = Accounts(),
               defaultEpoch: Int64? = nil) throws -> Result {
        let started = Date()
        let architecture = spec.architecture ?? .native
        let store = try ImageStore.open()
        let scratch = try TemporaryDirectory(prefix: "pkglayer-image")

        // 1. Which package files.
        let packages = try resolvePackages(spec, architecture: architecture, recipePackages: recipePackages)

        // 2. One layer source per package.
        let cacheable = spec.layering == .perPackage
        var layers: [PackageLayer] = []
        for (index, package) in packages.enumerated() {
            layers.append(try packageLayer(package, format: spec.format, scratch: "\(scratch.path)/p\(index)", useCache: cacheable,
                                           store: store))
        }

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
        if let author = spec.config.author, annotations[OCIAnnotation.authors] == nil { annotations[OCIAnnotation.authors] = author }
        let request = ImageRequest(layers: layers.map(\.source), topLayer: top, config: try containerConfig(spec.config),
                                   author: spec.config.author, annotations: annotations, epoch: epoch, architecture: architecture,
                                   layering: Self.layering(spec.layering), base: base)
        var image = try assembler.assemble(request)
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

    static func layering(_ choice: ImageSpec.LayeringChoice) -> Layering {
        switch choice {
        case .perPackage: return .perPackage
        case .budget(let n): return .budget(n)
        case .squash: return .squash
        }
    }

    func containerConfig(_ c: ImageSpec.Config) throws -> ContainerConfig {
        var env = c.env
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        let health = c.healthcheck.map {
            Healthcheck(test: $0.test, intervalSeconds: $0.intervalSeconds, timeoutSeconds: $0.timeoutSeconds,
                        startPeriodSeconds: $0.startPeriodSeconds, retries: $0.retries)
        }
        return ContainerConfig(entrypoint: c.entrypoint, cmd: c.cmd, env: env, workingDir: c.workingDir, user: c.user,
                               exposedPorts: c.exposedPorts, volumes: c.volumes, labels: c.labels, stopSignal: c.stopSignal,
                               healthcheck: health)
    }

    /// Where the lockfile was written this run (set by resolvePackages).
    var lockfileWritten: String? { lockfileBox.path }
    let lockfileBox = LockfileBox()
    final class LockfileBox { var path: String? }

    init(options: Options) { self.options = options }
}
