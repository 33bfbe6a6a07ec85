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
        Examples:
          pkglayer package -s dir -t rpm -t deb -n hello -v 1.0 -C build usr
          pkglayer package -s dir -t deb -n app -v 2.1 --iteration 3 ./bin/app=/usr/bin/app
          pkglayer package -s rpm -t deb ./hello-1.0-1.x86_64.rpm
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var common: FpmCommonOptions
    @OptionGroup var rpmOptions: FpmRPMOptions
    @OptionGroup var debOptions: FpmDebOptions
    @OptionGroup var pythonOptions: FpmPythonOptions
    @OptionGroup var signing: SigningCommandOptions

    // MARK: Source and target
    @Option(name: [.customShort("s"), .customLong("input-type")], help: "Source type: dir, tar, zip, rpm, deb, empty or python.")
    var inputType: String = "dir"

    @Option(name: [.customShort("t"), .customLong("output-type")], help: "Target type: rpm or deb (repeat, or rpm,deb, for both).")
    var outputTypes: [String] = []

    @Argument(help: "dir: paths or src=dst mappings; tar/rpm/deb: the file to convert.")
    var inputs: [String] = []

    @Option(name: [.customShort("C"), .customLong("chdir")], help: "Change to this directory before finding files (dir source).")
    var chdir: String?

    @Option(name: .customLong("prefix"), help: "A path to prefix files with in the package.")
    var prefix: String?

    @Option(name: [.customShort("x"), .customLong("exclude")], help: "Leave out paths matching this glob (repeatable).")
    var excludes: [String] = []

    @Option(name: [.customShort("p"), .customLong("package")],
            help: "Output file, directory, or template with NAME VERSION ITERATION EPOCH ARCH TYPE FULLVERSION.")
    var packagePath: String?

    @Flag(name: [.customShort("f"), .customLong("force")], help: "Overwrite an existing output file.")
    var force = false

    @Option(name: .customLong("workdir"), help: "Where to stage files (default: $TMPDIR).")
    var workdir: String?

    @Flag(name: .customLong("json"), help: "Print the written packages as JSON.")
    var json = false

    // MARK: Metadata
    @Option(name: [.customShort("n"), .customLong("name")]) var name: String?
    @Option(name: [.customShort("v"), .customLong("version")]) var version: String?
    @Option(name: .customLong("iteration"), help: "rpm Release / Debian revision.") var iteration: String?
    @Option(name: .customLong("epoch")) var epoch: UInt32?
    @Option(name: [.customShort("a"), .customLong("architecture")], help: "x86_64/amd64, aarch64/arm64, noarch/all, native.")
    var architecture: String?
    @Option(name: [.customShort("m"), .customLong("maintainer")]) var maintainer: String?
    @Option(name: .customLong("license")) var license: String?
    @Option(name: .customLong("vendor")) var vendor: String?
    @Option(name: .customLong("url")) var url: String?
    @Option(name: .customLong("description"), help: "First line is the summary unless --rpm-summary is given.")
    var descriptionText: String?
    @Option(name: .customLong("rpm-summary")) var rpmSummary: String?
    @Option(name: .customLong("category"), help: "Debian Section / rpm Group.") var category: String?
    @Option(name: .customLong("deb-priority")) var debPriority: String?

    // MARK: Relations
    @Option(name: [.customShort("d"), .customLong("depends")]) var depends: [String] = []
    @Option(name: .customLong("provides")) var provides: [String] = []
    @Option(name: .customLong("conflicts")) var conflicts: [String] = []
    @Option(name: .customLong("replaces")) var replaces: [String] = []
    @Option(name: .customLong("deb-pre-depends")) var debPreDepends: [String] = []
    @Option(name: .customLong("deb-recommends")) var debRecommends: [String] = []
    @Option(name: .customLong("deb-suggests")) var debSuggests: [String] = []
    @Option(name: .customLong("deb-breaks")) var debBreaks: [String] = []
    @Option(name: .customLong("rpm-obsoletes")) var rpmObsoletes: [String] = []

    // MARK: Files
    @Option(name: .customLong("config-files"), help: "Mark as config (noreplace) files; globs allowed.") var configFiles: [String] = []
    @Option(name: .customLong("directories"), help: "Directories the package owns (recursively).") var directories: [String] = []
    @Flag(name: .customLong("deb-no-default-config-files"), inversion: .prefixedNo, help: "Do not mark files under /etc as config files.")
    var noDefaultConfigFiles = false
    @Option(name: .customLong("rpm-attr"), help: "MODE,USER,GROUP:PATH (- keeps a field).") var rpmAttr: [String] = []
    @Option(name: .customLong("rpm-user")) var rpmUser: String?
    @Option(name: .customLong("rpm-group")) var rpmGroup: String?
    @Option(name: .customLong("deb-user")) var debUser: String?
    @Option(name: .customLong("deb-group")) var debGroup: String?

    // MARK: Scripts (each takes a file)
    @Option(name: [.customLong("before-install"), .customLong("pre-install")]) var beforeInstall: String?
    @Option(name: [.customLong("after-install"), .customLong("post-install")]) var afterInstall: String?
    @Option(name: [.customLong("before-remove"), .customLong("pre-uninstall")]) var beforeRemove: String?
    @Option(name: [.customLong("after-remove"), .customLong("post-uninstall")]) var afterRemove: String?
    @Option(name: .customLong("before-upgrade")) var beforeUpgrade: String?
    @Option(name: .customLong("after-upgrade")) var afterUpgrade: String?
    @Option(name: .customLong("rpm-pretrans")) var rpmPretrans: String?
    @Option(name: .customLong("rpm-posttrans")) var rpmPosttrans: String?

    // MARK: Compression and time
    @Option(name: .customLong("rpm-compression"), help: "gzip (default), xz (xzmt), zstd or none.") var rpmCompression: String = "gzip"
    @Option(name: .customLong("rpm-compression-level")) var rpmCompressionLevel: Int?
    @Option(name: .customLong("deb-compression"), help: "gz (default), xz, zst or none.") var debCompression: String = "gz"
    @Option(name: .customLong("deb-compression-level")) var debCompressionLevel: Int?
    @Option(name: .customLong("source-date-epoch-default"),
            help: "The clock when SOURCE_DATE_EPOCH is unset (default: the newest input mtime).")
    var sourceDateEpochDefault: Int64?

    /// The plain request the pipeline takes.
    var request: PackageRequest {
        var r = PackageRequest()
        r.inputType = inputType
        r.outputTypes = outputTypes
        r.inputs = inputs
        r.chdir = chdir
        r.prefix = prefix
        r.excludes = excludes
        r.force = force
        r.workdir = workdir
        r.name = name
        r.version = version
        r.iteration = iteration
        r.epoch = epoch
        r.architecture = architecture
        r.maintainer = maintainer
        r.license = license
        r.vendor = vendor
        r.url = url
        r.descriptionText = descriptionText
        r.rpmSummary = rpmSummary
        r.category = category
        r.debPriority = debPriority
        r.depends = depends
        r.provides = provides
        r.conflicts = conflicts
        r.replaces = replaces
        r.debPreDepends = debPreDepends
        r.debRecommends = debRecommends
        r.debSuggests = debSuggests
        r.debBreaks = debBreaks
        r.rpmObsoletes = rpmObsoletes
        r.configFiles = configFiles
        r.directories = directories
        r.noDefaultConfigFiles = noDefaultConfigFiles
        r.rpmAttr = rpmAttr
        r.rpmUser = rpmUser
        r.rpmGroup = rpmGroup
        r.debUser = debUser
        r.debGroup = debGroup
        r.beforeInstall = beforeInstall
        r.afterInstall = afterInstall
        r.beforeRemove = beforeRemove
        r.afterRemove = afterRemove
        r.beforeUpgrade = beforeUpgrade
        r.afterUpgrade = afterUpgrade
        r.rpmPretrans = rpmPretrans
        r.rpmPosttrans = rpmPosttrans
        r.rpmCompression = rpmCompression
        r.rpmCompressionLevel = rpmCompressionLevel
        r.debCompression = debCompression
        r.debCompressionLevel = debCompressionLevel
        r.packagePath = packagePath
        r.sourceDateEpochDefault = sourceDateEpochDefault
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
        logging.bootstrapLogging(json: json)
        try runReportingErrors {
            let outputs = try PackageJob(request: request).run()
            if json {
                let objects = outputs.map { ["path": $0.path, "format": $0.format.rawValue, "sha256": $0.sha256, "size": String($0.size)] }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for output in outputs { print("Created \(output.format.rawValue) package: \(output.path)") }
            }
        }
    }
}
