import ArgumentParser
import PkgLayerPipeline

/// fpm's general options (lib/fpm/command.rb) beyond the ones `PackageCommand` declares itself.
struct FpmCommonOptions: ParsableArguments {
    @Flag(name: .customLong("no-depends"), help: "List no dependencies at all (given, converted or automatic).")
    var noDepends = false
    @Flag(name: .customLong("no-auto-depends"), help: "Compute no dependency automatically (wins over --rpm-autoreq).")
    var noAutoDepends = false
    @Option(name: [.customShort("S"), .customLong("package-name-suffix")], help: "Append -SUFFIX to the package name.")
    var packageNameSuffix: String?
    @Flag(name: [.customShort("e"), .customLong("edit")], help: "fpm: edit the spec before building (no effect: pkglayer writes no spec file; a warning).")
    var edit = false
    @Option(name: .customLong("exclude-file"), help: "A file of -x patterns, one a line.")
    var excludeFiles: [String] = []
    @Option(name: .customLong("inputs"), help: "A file of inputs (paths or src=dst), one a line.")
    var inputsFiles: [String] = []
    @Flag(name: .customLong("template-scripts"), help: "Render <%= name %>, version, iteration, epoch, architecture, prefix and --template-value keys in scripts.")
    var templateScripts = false
    @Option(name: .customLong("template-value"), help: "KEY=VALUE for script templates (implies --template-scripts).")
    var templateValues: [String] = []
    @Flag(name: .customLong("source-date-epoch-from-changelog"), help: "The clock is the newest --rpm-changelog/--deb-changelog entry.")
    var sourceDateEpochFromChangelog = false
    @Option(name: .customLong("fpm-options-file"), help: "Read more options from this file (fpm's format: flags, one or more a line, # comments).")
    var fpmOptionsFiles: [String] = []
    @Option(name: .customLong("log"), help: "Log level: error, warn, info or debug.")
    var log: String?
    @Flag(name: .customLong("debug-workspace"), help: "Keep the work directory and print where it is.")
    var debugWorkspace = false

    func apply(to r: inout PackageRequest) {
        r.noDepends = noDepends
        r.noAutoDepends = noAutoDepends
        r.packageNameSuffix = packageNameSuffix
        if edit { r.noEffect.append("--edit") }
        r.excludeFiles = excludeFiles
        r.inputsFiles = inputsFiles
        r.templateScripts = templateScripts || !templateValues.isEmpty
        r.templateValues = templateValues
        r.sourceDateEpochFromChangelog = sourceDateEpochFromChangelog
        r.debugWorkspace = debugWorkspace
    }

    /// `--log` in the console's terms: (verbose, debug).
    func logLevel() throws -> (verbose: Bool, debug: Bool) {
        guard let log else { return (false, false) }
        switch log.lowercased() {
        case "debug": return (true, true)
        case "info": return (true, false)
        case "warn", "error", "fatal": return (false, false)
        default: throw ValidationError("--log: unknown level '\(log)'; use error, warn, info or debug")
        }
    }
}
