import ArgumentParser
import PkgLayerCore

/// `pkglayer package`'s basic options: what goes in, what comes out, the metadata, relations, files,
/// scripts and time. First in `--help` (a titled group, so ArgumentParser lists it before the rpm, deb
/// and python groups).
struct FpmBasicOptions: ParsableArguments {
    // MARK: Source and target
    @Option(name: [.customShort("s"), .customLong("input-type")], help: "Source type: dir, tar, zip, rpm, deb, empty or python.")
    var inputType: String = "dir"

    @Option(name: [.customShort("t"), .customLong("output-type")], help: "Target type: rpm or deb (repeat, or rpm,deb, for both).")
    var outputTypes: [String] = []

    // MARK: Metadata
    @Option(name: [.customShort("n"), .customLong("name")], help: "The package name (a deb's is lower-cased, _ becomes -, as fpm does).") var name: String?
    @Option(name: [.customShort("v"), .customLong("version")], help: "The package version (fpm's -v; the program's own version is 'pkglayer --version').") var version: String?
    @Option(name: .customLong("iteration"), help: "rpm Release / Debian revision.") var iteration: String?
    @Option(name: .customLong("epoch"), help: "The epoch (rpm Epoch, Debian epoch:).") var epoch: UInt32?
    @Option(name: [.customShort("a"), .customLong("architecture")], help: "x86_64/amd64, aarch64/arm64, noarch/all, native.")
    var architecture: String?
    @Option(name: [.customShort("m"), .customLong("maintainer")], help: "Who maintains the package: 'Name <email>'.") var maintainer: String?
    @Option(name: .customLong("license"), help: "The licence (an SPDX expression).") var license: String?
    @Option(name: .customLong("vendor"), help: "The distributing organisation (rpm Vendor).") var vendor: String?
    @Option(name: .customLong("url"), help: "The project's home page.") var url: String?
    @Option(name: .customLong("description"), help: "First line is the summary unless --rpm-summary is given.")
    var descriptionText: String?
    @Option(name: .customLong("category"), help: "Debian Section / rpm Group.") var category: String?

    // MARK: Where files come from and where the package goes
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

    // MARK: Relations
    @Option(name: [.customShort("d"), .customLong("depends")], help: "A dependency, 'name' or 'name >= 1.0' (repeatable).") var depends: [String] = []
    @Option(name: .customLong("provides"), help: "What the package provides (repeatable).") var provides: [String] = []
    @Option(name: .customLong("conflicts"), help: "Packages it cannot be installed with (repeatable).") var conflicts: [String] = []
    @Option(name: .customLong("replaces"), help: "Packages whose files it takes over (repeatable).") var replaces: [String] = []

    // MARK: Files
    @Option(name: .customLong("config-files"), help: "Mark as config (noreplace) files; globs allowed.") var configFiles: [String] = []
    @Option(name: .customLong("directories"), help: "Directories the package owns (recursively).") var directories: [String] = []

    // MARK: Scripts (each takes a file)
    @Option(name: [.customLong("before-install"), .customLong("pre-install")], help: "A script file run before install.") var beforeInstall: String?
    @Option(name: [.customLong("after-install"), .customLong("post-install")], help: "A script file run after install.") var afterInstall: String?
    @Option(name: [.customLong("before-remove"), .customLong("pre-uninstall")], help: "A script file run before removal.") var beforeRemove: String?
    @Option(name: [.customLong("after-remove"), .customLong("post-uninstall")], help: "A script file run after removal.") var afterRemove: String?
    @Option(name: .customLong("before-upgrade"), help: "A script file run before an upgrade.") var beforeUpgrade: String?
    @Option(name: .customLong("after-upgrade"), help: "A script file run after an upgrade.") var afterUpgrade: String?

    // MARK: Compression and time
    @Option(name: .customLong("source-date-epoch-default"),
            help: "The clock when SOURCE_DATE_EPOCH is unset (default: the newest input mtime).")
    var sourceDateEpochDefault: Int64?
}
