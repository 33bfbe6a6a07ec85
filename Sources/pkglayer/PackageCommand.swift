import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline

/// `pkglayer package`: fpm's command line, so fpm users switch without relearning.
struct PackageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Make .rpm and .deb packages from a directory, a tarball or another package (fpm's flags).",
        discussion: """
        Examples (each pastes as it is):
          pkglayer package -s dir -t rpm -t deb \\
              -n hello -v 1.0 -C build usr
          pkglayer package -s dir -t deb -n app -v 2.1 \\
              --iteration 3 ./bin/app=/usr/bin/app
          pkglayer package -s rpm -t deb \\
              ./hello-1.0-1.x86_64.rpm

        The basic options come first; fpm's other options, then the rpm, deb and python ones, follow under their own headings.
        """
    )

    @OptionGroup(title: "Options") var basic: FpmBasicOptions

    @Argument(help: "dir: paths or src=dst mappings; tar/rpm/deb: the file to convert.")
    var inputs: [String] = []

    // MARK: Under their own headings in --help
    @OptionGroup(title: "Signing") var signing: SigningCommandOptions
    @OptionGroup(title: "fpm's other options") var common: FpmCommonOptions
    @OptionGroup(title: "rpm options (-t rpm)") var rpmOptions: FpmRPMOptions
    @OptionGroup(title: "deb options (-t deb)") var debOptions: FpmDebOptions
    @OptionGroup(title: "python source options (-s python)") var pythonOptions: FpmPythonOptions
    @OptionGroup(title: "Logging") var global: GlobalOptions

    /// The plain request the pipeline takes.
    var request: PackageRequest {
        var r = PackageRequest()
        r.inputType = basic.inputType
        r.outputTypes = basic.outputTypes
        r.inputs = inputs
        r.chdir = basic.chdir
        r.prefix = basic.prefix
        r.excludes = basic.excludes
        r.force = basic.force
        r.workdir = basic.workdir
        r.name = basic.name
        r.version = basic.version
        r.iteration = basic.iteration
        r.epoch = basic.epoch
        r.architecture = basic.architecture
        r.maintainer = basic.maintainer
        r.license = basic.license
        r.vendor = basic.vendor
        r.url = basic.url
        r.descriptionText = basic.descriptionText
        r.category = basic.category
        r.depends = basic.depends
        r.provides = basic.provides
        r.conflicts = basic.conflicts
        r.replaces = basic.replaces
        r.configFiles = basic.configFiles
        r.directories = basic.directories
        r.beforeInstall = basic.beforeInstall
        r.afterInstall = basic.afterInstall
        r.beforeRemove = basic.beforeRemove
        r.afterRemove = basic.afterRemove
        r.beforeUpgrade = basic.beforeUpgrade
        r.afterUpgrade = basic.afterUpgrade
        r.packagePath = basic.packagePath
        r.sourceDateEpochDefault = basic.sourceDateEpochDefault
        common.apply(to: &r)
        rpmOptions.apply(to: &r)
        debOptions.apply(to: &r)
        pythonOptions.apply(to: &r)
        r.signing = signing.options
        return r
    }

    func run() throws {
        if !common.fpmOptionsFiles.isEmpty {
            // fpm reads the file's flags as if they stood where the option is: expand and parse again.
            var loaded: [String] = []
            let given = Array(CommandLine.arguments.dropFirst())
            let start = given.firstIndex(of: Self.configuration.commandName ?? "package").map { $0 + 1 } ?? 0
            let expanded = try Self.parse(try FpmOptionsFile.expand(Array(given[start...]), loaded: &loaded))
            guard expanded.common.fpmOptionsFiles.isEmpty else { throw ValidationError("--fpm-options-file could not be expanded") }
            try expanded.run()
            return
        }
        let level = try common.logLevel()
        var logging = global
        logging.verbose = logging.verbose || level.verbose
        logging.debug = logging.debug || level.debug
        logging.bootstrapLogging(json: basic.json)
        try runReportingErrors {
            let outputs = try PackageJob(request: request).run()
            if basic.json {
                // Numbers as numbers, paths as written (no escaped slashes), sorted keys.
                struct Written: Encodable { var path: String; var format: String; var sha256: String; var size: UInt64 }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(outputs.map { Written(path: $0.path, format: $0.format.rawValue, sha256: $0.sha256, size: $0.size) })
                print(String(decoding: data, as: UTF8.self))
            } else {
                for output in outputs { print("Created \(output.format.rawValue) package: \(output.path)") }
            }
        }
    }
}
