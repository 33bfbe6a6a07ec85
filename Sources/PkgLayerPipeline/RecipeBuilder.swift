import Foundation
import Logging
import PkgLayerArchive
import PkgLayerBuild
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM
import PkgLayerRecipe

/// Builds recipes: orders them by their build dependencies, then for each one either takes its
/// packages from the output cache or runs the sandboxed build and writes them.
public final class RecipeBuilder {
    public struct Options: Sendable {
        public var outputDirectory: String
        public var mirrors: [String]
        public var allowDownload: Bool
        public var rebuild: Bool
        public var formats: [PackageFormat]
        public var workdir: String?
        public var keepWorkDir: Bool
        public var streamLog: Bool
        /// The build context (`--context`): every file a recipe names must be inside it. nil: each
        /// recipe's own directory.
        public var context: String?
        /// The build cache shared through a registry (`--cache REF`), or nil.
        public var remoteCache: RemoteCacheOptions?
        /// `--sandbox none` runs steps without isolation (warned, and recorded in keys and packages).
        public var sandbox: SandboxMode = .bubblewrap

        public init(outputDirectory: String = "out", mirrors: [String] = [], allowDownload: Bool = true, rebuild: Bool = false,
                    formats: [PackageFormat] = PackageFormat.allCases, workdir: String? = nil, keepWorkDir: Bool = false,
                    streamLog: Bool = false, context: String? = nil) {
            self.outputDirectory = outputDirectory; self.mirrors = mirrors; self.allowDownload = allowDownload
            self.rebuild = rebuild; self.formats = formats; self.workdir = workdir; self.keepWorkDir = keepWorkDir
            self.streamLog = streamLog; self.context = context
        }
    }

    /// One package file a recipe produced.
    public struct PackageFile: Codable, Equatable, Sendable {
        public var package: String
        public var format: PackageFormat
        /// In the output directory.
        public var path: String
        public var file: String
        public var sha256: String
        public var size: UInt64
    }

    /// What one recipe's build gave; stored as the cache entry's `result.json`.
    public struct RecipeResult: Codable, Sendable {
        public var recipe: String
        public var name: String
        public var version: String
        public var cacheKey: String
        public var cacheHit: Bool
        public var seconds: Double
        public var sourceDateEpoch: Int64
        public var packages: [PackageFile]
        /// Sonames each package provides, so recipes built against it get the right dependencies.
        public var sonames: [String: [String]]
        public var log: String?
        /// For a cache hit: `local` or `remote`.
        public var cacheSource: String?
    }

    public let options: Options
    let logger = Logger(label: "pkglayer.build")
    let cache = OutputCache()
    /// Results of recipes already built in this run, by recipe path; only touched under `doneLock`
    /// (graph builds run recipes on several threads).
    private var done: [String: RecipeResult] = [:]
    private let doneLock = NSLock()

    func recorded(_ key: String) -> RecipeResult? {
        doneLock.lock(); defer { doneLock.unlock() }
        return done[key]
    }

    func record(_ result: RecipeResult, for key: String) {
        doneLock.lock(); done[key] = result; doneLock.unlock()
    }

    public init(options: Options) { self.options = options }

    /// Builds the recipe at `recipePath` and, first, every recipe it depends on.
    public func build(recipePath: String) throws -> [RecipeResult] {
        let order = try RecipeGraph.order(root: recipePath, context: options.context)
        var results: [RecipeResult] = []
        for recipe in order {
            let key = recipe.absolutePath
            if let earlier = recorded(key) { results.append(earlier); continue }
            let result = try buildOne(recipe)
            record(result, for: key)
            results.append(result)
        }
        return results
    }

    // MARK: - One recipe

    func buildOne(_ recipe: Recipe) throws -> RecipeResult {
        let started = Date()
        let toolchain = try HostRequirements.check(commands: recipe.build.requires.commands,
                                                   packages: recipe.build.requires.packages)
        let dependencies = try recipe.build.requires.recipes.map { ref -> RecipeResult in
            guard let result = recorded((ref.path as NSString).standardizingPath) ?? recorded(ref.path) else {
                throw PkgLayerError(.invalidInput, "build dependency '\(ref.name)' was not built first", at: ref.location.description)
            }
            return result
        }
        let key = try cacheKey(recipe: recipe, toolchain: toolchain, dependencies: dependencies)

        // Under --cache-trust (or an implied trust key) an entry an earlier run took from the registry unverified
        // is not used: it is fetched and verified again.
        if !options.rebuild, let entry = cache.lookup(key: key, requireVerifiedRemote: options.remoteCache?.trust != nil) {
            var result = try JSONDecoder().decode(RecipeResult.self, from: Data(contentsOf: URL(fileURLWithPath: entry + "/result.json")))
            result.packages = try publish(result.packages, from: entry)
            result.cacheHit = true
            result.cacheSource = "local"
            result.seconds = Date().timeIntervalSince(started)
            result.recipe = recipe.file
            return result
        }
        if !options.rebuild, let remote = options.remoteCache, remote.mode.reads,
           var result = fetchRemote(key: key, remote: remote, recipe: recipe.file) {
            result.packages = try publish(result.packages, from: cache.entryPath(for: key))
            result.cacheHit = true
            result.cacheSource = "remote"
            result.seconds = Date().timeIntervalSince(started)
            result.recipe = recipe.file
            result.log = nil
            return result
        }

        let workspace = try BuildWorkspace(parent: options.workdir)
        workspace.keep = options.keepWorkDir
        let isolated = options.sandbox == .bubblewrap
        if isolated {
            // Before anything is fetched: a runner that cannot create namespaces fails at once, saying why.
            try workspace.sandbox(sourceDateEpoch: SourceDateEpoch(0)).selfTest()
        } else {
            logger.warning("\(recipe.file): building WITHOUT a sandbox (--sandbox none): steps run as host processes, see the whole machine and the network, and can change it; the packages say so")
        }
        if options.keepWorkDir { Progress.note("build directory: \(workspace.root)") }
        let logCopy = try logDestination(for: recipe)
        defer { try? copyLog(from: workspace.logPath, to: logCopy) }

        // Sources and patches.
        let resolver = SourceResolver(cache: .default,
                                      mirrorDirectories: SourceResolver.mirrorDirectories(flags: options.mirrors),
                                      allowDownload: options.allowDownload,
                                      progress: SourceResolver.progressReporter())
        let tree = try SourceTree(root: workspace.sourceDirectory)
        try Progress.stage(Stage.fetch, recipe.file) {
            try tree.populate(recipe.sources.map(sourceRequest), baseDirectory: recipe.directory, resolver: resolver,
                              field: { "\(recipe.sources[$0].location): sources[\($0)]" })
        }
        let clock = try recipe.sourceDateEpoch() ?? SourceDateEpoch(try newestMtime(under: workspace.sourceDirectory))

        // Build dependencies: their packages' files, read-only at /build/deps.
        var depsRoot: String?
        if !dependencies.isEmpty {
            let root = workspace.root + "/deps"
            try installDependencies(dependencies, into: root, scratch: workspace.root + "/deps-staging")
            _ = try BuildDependencySysroot.relocatePkgConfigFiles(hostRoot: root)
            depsRoot = root
        }

        let jobs = recipe.build.resolvedJobs()
        let variables = recipe.variables(architecture: .native, destdir: isolated ? Sandbox.destdirMount : workspace.destdir,
                                         srcdir: isolated ? Sandbox.sourceMount : workspace.sourceDirectory, jobs: jobs)
        let resolved = try recipe.resolvedBuild(variables: variables)
        var sandbox = workspace.sandbox(sourceDateEpoch: clock, network: resolved.network,
                                        environment: resolved.environment, depsRoot: depsRoot)
        sandbox.isolated = isolated
        for warning in sandbox.warnings { logger.warning("\(recipe.file): \(warning)") }
        if !recipe.patches.isEmpty {
            try tree.applyPatches(recipe.patches.map(\.path), strip: recipe.patches.map(\.strip), baseDirectory: recipe.directory, sourceDateEpoch: clock)
        }

        let runner = BuildRunner(sandbox: sandbox, logPath: workspace.logPath)
        runner.streamToStderr = options.streamLog
        let name = recipe.package.name
        runner.onEvent = { event in Progress.note("\(name): \(event.description)") }
        do {
            try runner.run(resolved.steps.map { BuildStep(name: $0.name, script: $0.script, timeout: $0.timeout) }, timeout: resolved.timeout)
        } catch let failure as BuildStepFailure {
            throw PkgLayerError(.invalidInput, failure.summary(logPath: logCopy), at: recipe.file)
        }

        // Package the staged tree.
        if options.rebuild { try? FileManager.default.removeItem(atPath: cache.entryPath(for: key)) }
        var result = try cache.store(key: key) { staging -> RecipeResult in
            try packageStagedTree(recipe: recipe, destdir: workspace.destdir, clock: clock,
                                  dependencies: dependencies, into: staging, key: key)
        }
        if let remote = options.remoteCache, remote.mode.writes { pushRemote(result, logPath: workspace.logPath, remote: remote) }
        result.packages = try publish(result.packages, from: cache.entryPath(for: key))
        result.seconds = Date().timeIntervalSince(started)
        result.log = logCopy
        return result
    }

    private func sourceRequest(_ source: Recipe.Source) -> SourceRequest {
        switch source.origin {
        case .url(let url):
            return SourceRequest(url: url, sha256: source.sha256, stripComponents: source.effectiveStripComponents,
                                 extractTo: source.extractTo)
        case .local(let path, _):
            return SourceRequest(localPath: path, sha256: source.sha256, stripComponents: source.effectiveStripComponents,
                                 extractTo: source.extractTo)
        }
    }

    /// The key of everything that goes into the packages.
    private func cacheKey(recipe: Recipe, toolchain: ToolchainIdentity, dependencies: [RecipeResult]) throws -> String {
        Digest.sha256(Array(try cacheKeyText(recipe: recipe, toolchain: toolchain,
                                             dependencies: dependencies.map { ($0.name, $0.cacheKey) }).utf8)).hex
    }

    /// What the cache key hashes, one component a line: pkglayer's version, the canonical recipe's
    /// digest (its fields, sources' sha256s and local files' digests — never paths), the toolchain
    /// (compiler and declared build packages' versions, bubblewrap), the architecture, the formats,
    /// SOURCE_DATE_EPOCH when set, and each build dependency's own key. Nothing of the machine's
    /// name, the user, the time or where the recipe lies.
    func cacheKeyText(recipe: Recipe, toolchain: ToolchainIdentity, dependencies: [(name: String, key: String)]) throws -> String {
        var text = "pkglayer \(PkgLayerVersion.current)\n"
        text += "recipe \(try recipe.canonicalDigest())\n"
        text += "toolchain \(toolchain.canonicalText)\n"
        text += "arch \(Architecture.native.rpm)\n"
        text += "formats \(options.formats.map(\.rawValue).joined(separator: ","))\n"
        if let env = try SourceDateEpoch.fromEnvironment() { text += "epoch \(env.seconds)\n" }
        if options.sandbox == .none { text += "sandbox none\n" }
        for dep in dependencies.sorted(by: { $0.name < $1.name }) { text += "dependency \(dep.name) \(dep.key)\n" }
        return text
    }

    /// `--explain-key`: every recipe of `recipePath`'s graph with its cache key and what went into it,
    /// computed without building anything.
    public func explainKeys(recipePath: String) throws -> String {
        let order = try RecipeGraph.order(root: recipePath, context: options.context)
        let keys = try cacheKeys(for: order)
        return order.map { recipe in
            guard let entry = keys[(recipe.absolutePath as NSString).standardizingPath] else { return "" }
            return "\(recipe.file): \(entry.key)\n" + entry.text.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n") + "\n"
        }.joined()
    }

    // MARK: - Packaging

    private func packageStagedTree(recipe: Recipe, destdir: String, clock: SourceDateEpoch,
                                   dependencies: [RecipeResult], into staging: String, key: String) throws -> RecipeResult {
        var packages: [PackageFile] = []
        var sonames: [String: [String]] = [:]
        var knownProviders: [String: Dependency] = [:]
        for dep in dependencies {
            for (package, names) in dep.sonames {
                for soname in names { knownProviders[soname] = Dependency(name: package, versionOperator: .greaterOrEqual, version: dep.version) }
            }
        }

        for format in options.formats {
            let lowered = try recipe.packages(for: format, architecture: .native, sourceDateEpoch: clock)
            let first = lowered[0]
            var builder = ManifestBuilder(inputs: [.init(source: destdir, destination: "/")])
            builder.configFiles = first.configFiles
            builder.attributes = first.attributes
            builder.sourceDateEpoch = clock
            let staged = try builder.build().manifest
            let split = try PackageSplitter.split(staged, into: lowered)

            // Sonames each package provides, for siblings and for recipes that build against these.
            var siblingProviders = knownProviders
            for (package, manifest) in zip(lowered, split) {
                let scan = try SharedLibraryDependencies(knownProviders: [:]).scan(manifest: manifest)
                sonames[package.spec.name] = scan.providedSonames
                for soname in scan.providedSonames {
                    siblingProviders[soname] = Dependency(name: package.spec.name, versionOperator: .equal,
                                                          version: recipe.package.fullVersion)
                }
            }

            for (package, manifest) in zip(lowered, split) {
                var spec = package.spec
                if package.automaticSharedLibraryDependencies {
                    var providers = siblingProviders
                    for soname in sonames[spec.name] ?? [] { providers[soname] = nil }
                    let scan = try SharedLibraryDependencies(knownProviders: providers).scan(manifest: manifest)
                    for warning in scan.warnings { logger.warning("\(spec.name): \(warning)") }
                    switch format {
                    case .rpm:
                        spec.depends = merge(spec.depends, scan.rpmRequiresDependencies)
                        spec.provides = merge(spec.provides, scan.rpmProvidesDependencies)
                    case .deb:
                        spec.depends = merge(spec.depends, scan.debDepends.filter { $0.name != spec.name })
                    }
                }
                if options.sandbox == .none {
                    spec.extras.debFields.append((name: "X-Pkglayer-Sandbox", value: "none"))
                    spec.extras.rpmTags.append((name: "BuildHost", value: "pkglayer-unsandboxed"))
                }
                // Service units (`services:`): their files and the maintainer-script snippets.
                let packaged = try package.applyServices(format: format, to: &spec, manifest: manifest)
                let packager = Packagers.packager(for: format, overwrite: true)
                let fileName = packager.fileName(for: spec)
                let finalSpec = spec
                let written = try Progress.stage(Stage.package, fileName) {
                    try packager.pack(spec: finalSpec, manifest: packaged, to: staging + "/" + fileName)
                }
                for warning in written.warnings { logger.warning("\(spec.name).\(format.fileExtension): \(warning)") }
                let output = written.output
                let file = (output.path as NSString).lastPathComponent
                packages.append(PackageFile(package: spec.name, format: format, path: file, file: file,
                                            sha256: output.sha256, size: output.size))
            }
        }
        let result = RecipeResult(recipe: recipe.file, name: recipe.package.name, version: recipe.package.fullVersion,
                                  cacheKey: key, cacheHit: false, seconds: 0, sourceDateEpoch: clock.seconds,
                                  packages: packages, sonames: sonames, log: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(result).write(to: URL(fileURLWithPath: staging + "/result.json"))
        return result
    }

    private func merge(_ a: [Dependency], _ b: [Dependency]) -> [Dependency] {
        var out = a
        for dep in b where !out.contains(dep) { out.append(dep) }
        return out
    }

    // MARK: - Files

    /// Copies a cache entry's packages into the output directory, each atomically.
    private func publish(_ files: [PackageFile], from entry: String) throws -> [PackageFile] {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        return try files.map { file in
            var out = file
            let target = (options.outputDirectory as NSString).appendingPathComponent(file.file)
            let atomic = try AtomicFile(path: target, overwrite: true)
            try atomic.append(contentsOf: entry + "/" + file.file)
            try atomic.commit()
            out.path = target
            return out
        }
    }

    private func logDestination(for recipe: Recipe) throws -> String {
        let dir = (options.outputDirectory as NSString).appendingPathComponent("logs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (dir as NSString).appendingPathComponent("\(recipe.package.name)-\(recipe.package.version).build.log")
    }

    private func copyLog(from source: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: source) else { return }
        let atomic = try AtomicFile(path: destination, overwrite: true)
        try atomic.append(contentsOf: source)
        try atomic.commit()
    }

    /// Extracts the dependency recipes' rpms (every package of each) into one tree. The packages'
    /// content shapes that tree, so each is merged without following anything in it
    /// (`BuildDependencySysroot.merge`): a symlink one package ships cannot send another's files out.
    private func installDependencies(_ dependencies: [RecipeResult], into root: String, scratch: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for dep in dependencies {
            guard let entry = cache.lookup(key: dep.cacheKey) else {
                throw PkgLayerError(.io, "the cache entry of build dependency \(dep.name) disappeared; build again with --rebuild", at: dep.recipe)
            }
            for (index, file) in dep.packages.enumerated() where file.format == .rpm || !dep.packages.contains(where: { $0.format == .rpm }) {
                let staging = "\(scratch)/\(dep.name)-\(index)"
                _ = try Packagers.reader(for: file.format).read(path: entry + "/" + file.file, extractTo: staging)
                try BuildDependencySysroot.merge(staging, into: root, package: file.file)
            }
        }
    }

    private func newestMtime(under root: String) throws -> Int64 {
        var newest: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: root) else { return 0 }
        for case let relative as String in walker {
            var st = stat()
            if lstat(root + "/" + relative, &st) == 0 { newest = max(newest, Int64(st.st_mtim.tv_sec)) }
        }
        return newest
    }
}
