import PkgLayerCore

/// What `pkglayer package` asks for, as plain values: fpm's options, parsed but not interpreted. The
/// executable fills it from the command line; `PackageJob` reads the sources and writes the packages.
public struct PackageRequest: Sendable {
    /// `-s`: dir, tar, rpm or deb.
    public var inputType: String = "dir"
    /// Signs every package written (`--sign-key`, or `$PKGLAYER_SIGN_KEY`).
    public var signing: SigningOptions? = nil
    /// fpm's `--rpm-sign`: asks for a signed rpm; needs a key (`--sign-key` or `$PKGLAYER_SIGN_KEY`).
    public var rpmSign: Bool = false
    /// `-t`: rpm, deb, or both (repeated or comma-separated).
    public var outputTypes: [String] = []
    public var inputs: [String] = []
    public var chdir: String? = nil
    public var prefix: String? = nil
    public var excludes: [String] = []
    public var force: Bool = false
    public var workdir: String? = nil
    public var name: String? = nil
    public var version: String? = nil
    public var iteration: String? = nil
    public var epoch: UInt32? = nil
    public var architecture: String? = nil
    public var maintainer: String? = nil
    public var license: String? = nil
    public var vendor: String? = nil
    public var url: String? = nil
    public var descriptionText: String? = nil
    public var rpmSummary: String? = nil
    public var category: String? = nil
    public var debPriority: String? = nil
    public var depends: [String] = []
    public var provides: [String] = []
    public var conflicts: [String] = []
    public var replaces: [String] = []
    public var debPreDepends: [String] = []
    public var debRecommends: [String] = []
    public var debSuggests: [String] = []
    public var debBreaks: [String] = []
    public var rpmObsoletes: [String] = []
    public var configFiles: [String] = []
    public var directories: [String] = []
    public var noDefaultConfigFiles: Bool = false
    public var rpmAttr: [String] = []
    public var rpmUser: String? = nil
    public var rpmGroup: String? = nil
    public var debUser: String? = nil
    public var debGroup: String? = nil
    public var beforeInstall: String? = nil
    public var afterInstall: String? = nil
    public var beforeRemove: String? = nil
    public var afterRemove: String? = nil
    public var beforeUpgrade: String? = nil
    public var afterUpgrade: String? = nil
    public var rpmPretrans: String? = nil
    public var rpmPosttrans: String? = nil
    public var rpmCompression: String = "gzip"
    public var rpmCompressionLevel: Int? = nil
    public var debCompression: String = "gz"
    public var debCompressionLevel: Int? = nil

    /// `-p`: an output file, a directory, or a template.
    public var packagePath: String? = nil
    /// The clock when SOURCE_DATE_EPOCH is unset.
    public var sourceDateEpochDefault: Int64? = nil
    /// `--source-date-epoch-from-changelog`: the clock is the newest changelog entry's date.
    public var sourceDateEpochFromChangelog: Bool = false

    /// `--no-depends`: drop every dependency (given, converted or automatic).
    public var noDepends: Bool = false
    /// `--no-auto-depends`: compute no dependency automatically (wins over `--rpm-autoreq`).
    public var noAutoDepends: Bool = false
    /// `-S`: appended to the package name as `NAME-SUFFIX`.
    public var packageNameSuffix: String? = nil
    /// `--exclude-file`: files of newline-separated `-x` patterns.
    public var excludeFiles: [String] = []
    /// `--inputs`: files of newline-separated inputs, added after the arguments.
    public var inputsFiles: [String] = []
    /// `--template-scripts` (implied by `--template-value`).
    public var templateScripts: Bool = false
    /// `--template-value KEY=VALUE`.
    public var templateValues: [String] = []
    /// `--debug-workspace`: keep the work directory and report where it is.
    public var debugWorkspace: Bool = false
    /// Options accepted for fpm's sake that have no effect here, by flag (the job warns once each).
    public var noEffect: [String] = []

    public var rpm = RPMOptions()
    public var deb = DebOptions()
    /// fpm's `--python-*` options, for `-s python` (read by `PythonSource`).
    public var python = PythonOptions()

    public init() {}
}

/// fpm's `--rpm-*` options beyond the ones above.
public struct RPMOptions: Sendable {
    public var useFilePermissions = false
    /// `--rpm-defattrfile` / `--rpm-defattrdir`: an octal mode, or `-` (keep).
    public var defattrFile: String? = nil
    public var defattrDir: String? = nil
    /// `--rpm-dist`: appended to the release as `.DIST` (rpmbuild's `%{?dist}`).
    public var dist: String? = nil
    public var digest: String? = nil
    public var os: String? = nil
    /// `--rpm-changelog`: a file in rpm's `%changelog` format.
    public var changelog: String? = nil
    public var autoAddDirectories = false
    public var autoAddExcludeDirectories: [String] = []
    public var autoReqProv = false
    public var autoReq = false
    public var autoProv = false
    /// `--rpm-init`: installed as `/etc/rc.d/init.d/NAME`.
    public var initScripts: [String] = []
    public var filterFromProvides: [String] = []
    public var filterFromRequires: [String] = []
    /// `--rpm-tag 'Name: value'`.
    public var tags: [String] = []
    public var ignoreIterationInDependencies = false
    public var verifyScript: String? = nil
    /// `--rpm-trigger-KIND '[OPT]PACKAGES: FILE'`, in order.
    public var triggers: [(kind: RPMTrigger.Kind, value: String)] = []
    public init() {}
}

/// fpm's `--deb-*` options beyond the ones above.
public struct DebOptions: Sendable {
    public var ignoreIterationInDependencies = false
    public var buildDepends: [String] = []
    /// `--deb-dist`: the .changes file's Distribution (fpm's default: unstable).
    public var dist: String? = nil
    public var customControl: String? = nil
    public var config: String? = nil
    public var templates: String? = nil
    public var installedSize: String? = nil
    public var useFilePermissions = false
    public var changelog: String? = nil
    public var generateChanges = false
    public var upstreamChangelog: String? = nil
    public var metaFiles: [String] = []
    public var interest: [String] = []
    public var activate: [String] = []
    public var interestNoawait: [String] = []
    public var activateNoawait: [String] = []
    /// `--deb-field 'Name: value'`.
    public var fields: [String] = []
    /// Init, default and upstart files become config files (fpm's default: on).
    public var autoConfigFiles = true
    public var shlibs: String? = nil
    public var initScripts: [String] = []
    public var defaults: [String] = []
    public var upstarts: [String] = []
    public var systemd: [String] = []
    public var systemdPath: String = "lib/systemd/system"
    public var systemdEnable = false
    public var systemdAutoStart = false
    public var systemdRestartAfterUpgrade = true
    public var afterPurge: String? = nil
    public var maintainerScriptsForceErrorChecks = false
    public init() {}
}
