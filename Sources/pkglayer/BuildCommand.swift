import ArgumentParser
import Foundation
import PkgLayerCore

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

    @Argument(help: "Recipe files to build (their build dependencies are built first).")
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

    func run() throws {
        global.bootstrapLogging()
        try runReportingErrors {
            var selected: [PackageFormat] = []
            for value in formats.flatMap({ $0.split(separator: ",").map(String.init) }) {
                guard let format = PackageFormat(rawValue: value.lowercased()) else {
                    throw PkgLayerError(.usage, "unknown format '\(value)'; use rpm, deb or rpm,deb", at: "--format")
                }
                if !selected.contains(format) { selected.append(format) }
            }
            let options = RecipeBuilder.Options(
                outputDirectory: output, mirrors: sources, allowDownload: !offline, rebuild: rebuild,
                formats: selected.isEmpty ? PackageFormat.allCases : selected, workdir: workdir,
                keepWorkDir: keepWorkDir, streamLog: streamLog)
            let builder = RecipeBuilder(options: options)
            var results: [RecipeBuilder.RecipeResult] = []
            for recipe in recipes { results += try builder.build(recipePath: recipe) }
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
            }
        }
    }
}

enum PackageFormat: String, CaseIterable, Codable {
    case rpm, deb
}
