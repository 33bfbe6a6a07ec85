import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline

/// `pkglayer publish --repo DIR FILE…`: add packages to a yum and apt repository a static HTTP server can serve.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Add .rpm and .deb files to a signed yum (repodata/) and apt (pool/, dists/) repository directory.",
        discussion: """
            Incremental (only new packages are read), atomic (a reader never sees metadata naming files that are not \
            there; a killed publish leaves the previous repository) and deterministic (the same packages give the same \
            metadata bytes, signatures included). A package whose name, version and architecture is already there \
            with other bytes is refused. With --sign-key, rpms and debs that are not signed yet are signed first.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("repo"), help: ArgumentHelp("The repository directory (created when missing).", valueName: "DIR"))
    var repo: String
    @OptionGroup var signing: SigningCommandOptions
    @Option(name: .customLong("keep"), help: ArgumentHelp("Keep only the N newest versions of each package and architecture.", valueName: "N"))
    var keep: Int?
    @Option(name: .customLong("suite"), help: "apt: the suite (dists/SUITE).") var suite = "stable"
    @Option(name: .customLong("component"), help: "apt: the component.") var component = "main"
    @Option(name: .customLong("origin"), help: "apt: the Release's Origin.") var origin: String?
    @Option(name: .customLong("label"), help: "apt: the Release's Label.") var label: String?
    @Option(name: .customLong("valid-for"), help: ArgumentHelp("apt: Valid-Until is the Release's date plus this many days.", valueName: "DAYS"))
    var validFor: Int?
    @Option(name: .customLong("yum-compression"), help: "yum metadata: gzip (default, every dnf and yum) or zstd.")
    var yumCompression = "gzip"
    @Flag(name: .customLong("no-sign-packages"), help: "With --sign-key, sign only the repository metadata, not the packages.")
    var noSignPackages = false
    @Flag(name: .customLong("unsigned"), help: "Publish without signatures even if the repository is signed now (its signatures are removed). Without it, a signed repository refuses a publish that has no --sign-key.")
    var unsigned = false
    @Flag(name: .customLong("json"), help: "Print what was published as JSON.") var json = false
    @Argument(help: "The packages (.rpm, .deb).") var files: [String] = []

    func run() throws {
        global.bootstrapLogging(json: json)
        try runReportingErrors {
            var request = PublishRequest(repository: repo, packages: files)
            request.signing = signing.options
            request.signPackages = !noSignPackages
            request.keep = keep
            request.suite = suite
            request.component = component
            request.origin = origin
            request.label = label
            request.validForDays = validFor
            request.yumCompression = yumCompression
            request.allowUnsigned = unsigned
            let result = try request.run()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                for path in result.added { print("Published: \(path)") }
                for path in result.unchanged { print("Already there: \(path)") }
                for path in result.removed { print("Removed (--keep): \(path)") }
                Console.write("\(result.repository): \(result.rpmCount) rpm, \(result.debCount) deb; \(result.metadataChanged ? "metadata written" : "metadata unchanged")\(result.signedBy.map { ", signed by \($0)" } ?? "")\n")
            }
        }
    }
}
