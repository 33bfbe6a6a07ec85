import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline
import PkgLayerRegistry

/// `pkglayer build RECIPE…`: pinned sources → sandboxed build → .rpm and .deb, cached.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build packages from a recipe: fetch pinned sources, compile in a network-off sandbox, write .rpm and .deb.",
        discussion: """
        Examples:
          pkglayer build recipes/nginx.yml
          pkglayer build recipes/hello.yml -o dist --sources ../shared/sources
          pkglayer build recipes/nginx-pcre2.yml --rebuild -v

        Sources are looked up in the cache ($PKGLAYER_CACHE, default ~/.cache/pkglayer), then in mirror
        directories (--sources, $PKGLAYER_SOURCES), then downloaded; each is checked against its sha256.
        A build whose inputs did not change comes back from the output cache without rebuilding.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Recipe files, or directories of recipes, to build (their build dependencies are built first).")
    var recipes: [String]

    @Option(name: [.customShort("o"), .customLong("output")], help: "Where the packages go.")
    var output: String = "out"

    @Option(name: .customLong("sources"), help: "A directory of source files to use before downloading (repeatable).")
    var sources: [String] = []

    @Flag(name: .customLong("offline"), help: "Never download; use only the cache and --sources.")
    var offline = false

    @Flag(name: .customLong("rebuild"), help: "Ignore the output cache and build again.")
    var rebuild = false

    @Option(name: .customLong("format"), help: "rpm, deb, or rpm,deb (default both).")
    var formats: [String] = []

    @Option(name: .customLong("workdir"), help: "Where build directories are made (default $TMPDIR).")
    var workdir: String?

    @Flag(name: .customLong("keep-work-dir"), help: "Keep the build directory for debugging.")
    var keepWorkDir = false

    @Flag(name: [.customShort("v")], help: "Stream the build log to stderr.")
    var streamLog = false

    @Flag(name: .customLong("json"), help: "Print a machine-readable result.")
    var json = false

    @Option(name: .customLong("sandbox"), help: "bubblewrap (default), or none: no isolation, for runners that cannot create namespaces (warned; recorded in the cache key and the packages).")
    var sandbox: String = "bubblewrap"

    @Option(name: [.customShort("j"), .customLong("jobs")], help: "Build this many independent recipes at once.")
    var jobs = 1

    @Flag(name: .customLong("explain-key"), help: "Print each recipe's cache key and what went into it (to see why two runners missed each other), and build nothing.")
    var explainKey = false

    @Flag(name: .customLong("explain-sandbox"), help: "Print what the build steps' sandbox mounts, shares and clears, and build nothing.")
    var explainSandbox = false

    @Flag(name: .customLong("no-image"), help: "Build only the packages, not the recipe's image.")
    var noImage = false

    @Option(name: .customLong("context"), help: ArgumentHelp("The build context: every file a recipe names must be in this directory tree (default: the recipe's own directory).", valueName: "DIR"))
    var context: String?

    @Flag(name: .customLong("refresh"), help: "Resolve the image's packages against the repositories and its registry base's tag again, ignoring lockfiles and the last resolution.")
    var refresh = false

    @Option(name: .customLong("lockfile"), help: "Use this lockfile for the image instead of the recipe's.")
    var lockfile: String?

    @Option(name: .customLong("push"), help: ArgumentHelp("Push the recipe's image to a registry once built (for CI).", valueName: "HOST[:PORT]/REPOSITORY[:TAG]"))
    var push: String?

    @Option(name: .customLong("cache"), help: ArgumentHelp("Share build results through this registry repository: pull an entry before building, push one after ($PKGLAYER_CACHE_REPO).", valueName: "HOST[:PORT]/REPOSITORY"))
    var cacheRepository: String?

    @Option(name: .customLong("cache-mode"), help: "read (take hits, never push: for untrusted branches), write, or readwrite (default).")
    var cacheMode: String?

    @Option(name: .customLong("cache-sign-key"), help: ArgumentHelp(
        "Sign the cache entries this run pushes with this OpenPGP secret key: a key file or a key id in the GnuPG home ($PKGLAYER_CACHE_SIGN_KEY, which may also hold the armored key itself). Default: the --sign-key, if given.",
        valueName: "FILE|KEYID"))
    var cacheSignKey: String?

    @Option(name: .customLong("cache-sign-passphrase-file"), help: ArgumentHelp(
        "Read the cache key's passphrase from this file ($PKGLAYER_CACHE_SIGN_PASSPHRASE_FILE, $PKGLAYER_CACHE_SIGN_PASSPHRASE; default: --sign-key's).", valueName: "FILE"))
    var cacheSignPassphraseFile: String?

    @Option(name: .customLong("cache-trust"), help: ArgumentHelp(
        "Take only remote cache entries signed by this OpenPGP public key ($PKGLAYER_CACHE_TRUST); any other entry is a miss, warned once, and the recipe is built. Default: the key this run signs entries with (--cache-sign-key, else --sign-key), if any.",
        valueName: "FILE"))
    var cacheTrust: String?

    @OptionGroup var registryOptions: RegistryCommandOptions

    @OptionGroup var signing: SigningCommandOptions

    @Option(name: .customLong("publish"), help: ArgumentHelp("Publish the built packages into this yum/apt repository directory (as 'pkglayer publish --repo DIR').", valueName: "DIR"))
    var publish: String?

    func run() throws {
        global.bootstrapLogging(json: json)
        try runReportingErrors {
            // A mirror that is not there is a mistake worth saying, even when every recipe is a cache hit.
            for directory in sources {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw PkgLayerError(.usage, "'\(directory)' is not a directory; --sources names a directory of source tarballs (matched by sha256 or file name)", at: "--sources")
                }
            }
            let selected = try PackageFormat.parseList(formats, field: "--format")
            var options = RecipeBuilder.Options(
                outputDirectory: output, mirrors: sources, allowDownload: !offline, rebuild: rebuild,
                formats: selected.isEmpty ? PackageFormat.allCases : selected, workdir: workdir,
                keepWorkDir: keepWorkDir, streamLog: streamLog, context: context)
            guard let mode = SandboxMode(rawValue: sandbox) else {
                throw PkgLayerError(.usage, "unknown sandbox '\(sandbox)'; use bubblewrap or none", at: "--sandbox")
            }
            options.sandbox = mode
            // Loaded (its passphrase checked) before anything is built.
            let signingKey = explainKey || explainSandbox ? nil : try signing.options.map { try SigningKey($0) }
            options.remoteCache = try remoteCache(signingKey: signingKey, loadKeys: !(explainKey || explainSandbox))
            let builder = RecipeBuilder(options: options)
            if explainKey {
                for recipe in recipes { print(try builder.explainKeys(recipePath: recipe), terminator: "") }
                return
            }
            if explainSandbox {
                for recipe in recipes { print(try builder.sandboxExplanation(recipePath: recipe)) }
                return
            }
            let roots = try RecipeGraph.expand(recipes)
            guard jobs >= 1 else { throw PkgLayerError(.usage, "must be 1 or more", at: "--jobs") }
            let outcomes = try builder.buildGraph(roots, jobs: jobs)
            var results: [RecipeBuilder.RecipeResult] = []
            var failures: [String] = []
            for (recipe, outcome) in outcomes {
                switch outcome {
                case .done(let result): results.append(result)
                case .failed(let message):
                    failures.append(recipe.file)
                    Console.write("pkglayer: error: \(message)\n")
                case .skipped(let dependency):
                    failures.append(recipe.file)
                    Console.write("pkglayer: error: \(recipe.file): not built, because \(dependency) failed\n")
                }
            }
            if failures.isEmpty, let signingKey { results = try builder.sign(results, with: signingKey) }
            if failures.isEmpty, let publish {
                var request = PublishRequest(repository: publish, packages: results.flatMap { $0.packages.map(\.path) })
                request.signing = signing.options
                let published = try request.run()
                Console.write("published \(published.added.count) new package(s) into \(publish)\(published.signedBy.map { ", signed by \($0)" } ?? "")\n")
            }
            var images: [ImageBuilder.Result] = []
            if failures.isEmpty, !noImage {
                let imageRequest = RecipeImageRequest(outputDirectory: output, offline: offline, lockfile: lockfile, refresh: refresh, registry: registryOptions.registryOptions())
                for root in roots {
                    let graph = try builder.graphResults(root: root, from: results)
                    if let image = try builder.buildImage(recipePath: root, results: graph, request: imageRequest) { images.append(image) }
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
            } else {
                for result in results {
                    let how = result.cacheHit ? "cached" : "built in \(String(format: "%.1f", result.seconds)) s"
                    FileHandle.standardError.write(Data("\(result.recipe): \(how)\n".utf8))
                    for package in result.packages { print(package.path) }
                }
                for image in images { ImageCommand.report(image, json: false) }
            }
            if outcomes.count > 1 {
                let built = results.filter { !$0.cacheHit }.count, cached = results.count - built
                let skipped = outcomes.filter { if case .skipped = $0.outcome { return true } else { return false } }.count
                Console.write("\(outcomes.count) recipes: \(built) built, \(cached) from the cache, \(failures.count - skipped) failed, \(skipped) not built\n")
            }
            guard failures.isEmpty else { throw ExitCode(1) }
            if let push {
                guard images.count == 1 else {
                    throw PkgLayerError(.usage, "--push needs exactly one recipe with an image: section (\(images.count) images were built)", at: "--push")
                }
                try ImageCommand.push(images[0], to: push, options: registryOptions.registryOptions())
            }
        }
    }
}

extension BuildCommand {
    /// `--cache REF` (or $PKGLAYER_CACHE_REPO) with `--cache-mode` and the entries' signing key and trusted
    /// key (see `RemoteCacheOptions.configureSigning`), or nil.
    func remoteCache(signingKey: SigningKey?, loadKeys: Bool) throws -> RemoteCacheOptions? {
        let given = RemoteCacheOptions.repositoryText(flag: cacheRepository)
        guard let mode = RemoteCacheOptions.Mode(rawValue: cacheMode ?? "readwrite") else {
            throw PkgLayerError(.usage, "unknown cache mode '\(cacheMode ?? "")'; use read, write or readwrite", at: "--cache-mode")
        }
        guard let given else {
            for (flag, value) in [("--cache-mode", cacheMode), ("--cache-sign-key", cacheSignKey), ("--cache-sign-passphrase-file", cacheSignPassphraseFile), ("--cache-trust", cacheTrust)] where value != nil {
                throw PkgLayerError(.usage, "only means something with a registry cache: add --cache HOST/REPOSITORY (or set PKGLAYER_CACHE_REPO)", at: flag)
            }
            return nil
        }
        let reference = try RegistryReference(parsing: given)
        var remote = RemoteCacheOptions(repository: reference, mode: mode, registry: registryOptions.registryOptions())
        if loadKeys {
            try remote.configureSigning(signKey: cacheSignKey, passphraseFile: cacheSignPassphraseFile, trust: cacheTrust,
                                        packageKey: signingKey, packageSigning: signing.options, gnupgHome: signing.gnupgHome)
        }
        return remote
    }
}
