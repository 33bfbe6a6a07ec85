import ArgumentParser
import PkgLayerCore
import PkgLayerPipeline

/// fpm's `--rpm-*` options (lib/fpm/package/rpm.rb) beyond the ones `PackageCommand` declares itself.
struct FpmRPMOptions: ParsableArguments {
    @Option(name: .customLong("rpm-summary")) var rpmSummary: String?
    @Option(name: .customLong("rpm-obsoletes")) var rpmObsoletes: [String] = []
    @Option(name: .customLong("rpm-attr"), help: "MODE,USER,GROUP:PATH (- keeps a field).") var rpmAttr: [String] = []
    @Option(name: .customLong("rpm-user")) var rpmUser: String?
    @Option(name: .customLong("rpm-group")) var rpmGroup: String?
    @Option(name: .customLong("rpm-pretrans")) var rpmPretrans: String?
    @Option(name: .customLong("rpm-posttrans")) var rpmPosttrans: String?
    @Option(name: .customLong("rpm-compression"), help: "gzip (default), xz (xzmt), zstd or none.") var rpmCompression: String = "gzip"
    @Option(name: .customLong("rpm-compression-level")) var rpmCompressionLevel: Int?
    @Flag(name: .customLong("rpm-use-file-permissions"), inversion: .prefixedNo, help: "Keep the owners on disk in the rpm.")
    var useFilePermissions = false
    @Option(name: .customLong("rpm-defattrfile"), help: "Mode of every file in the rpm (octal, or - to keep).") var defattrFile: String?
    @Option(name: .customLong("rpm-defattrdir"), help: "Mode of every directory in the rpm (octal, or - to keep).") var defattrDir: String?
    @Option(name: .customLong("rpm-rpmbuild-define"), help: "fpm: passed to rpmbuild (no effect: no rpmbuild runs; a warning).")
    var rpmbuildDefines: [String] = []
    @Option(name: .customLong("rpm-dist"), help: "Distribution tag, appended to the release (.el7).") var dist: String?
    @Option(name: .customLong("rpm-digest"), help: "File digest: md5, sha1, sha256, sha384 or sha512.") var digest: String?
    @Option(name: .customLong("rpm-os"), help: "The OS tag (default linux).") var os: String?
    @Option(name: .customLong("rpm-changelog"), help: "A file in rpm's %changelog format.") var changelog: String?
    @Flag(name: .customLong("rpm-sign"), inversion: .prefixedNo, help: "Sign the rpm (fpm's flag; the key comes from --sign-key or $PKGLAYER_SIGN_KEY).")
    var sign = false
    @Flag(name: .customLong("rpm-auto-add-directories"), inversion: .prefixedNo, help: "Own every directory in the rpm that is not a standard one.")
    var autoAddDirectories = false
    @Option(name: .customLong("rpm-auto-add-exclude-directories"), help: "Directories --rpm-auto-add-directories leaves alone.")
    var autoAddExcludeDirectories: [String] = []
    @Flag(name: .customLong("rpm-autoreqprov"), inversion: .prefixedNo, help: "Shared-library requires and provides from the ELF files.")
    var autoReqProv = false
    @Flag(name: .customLong("rpm-autoreq"), inversion: .prefixedNo, help: "Shared-library requires from the ELF files.")
    var autoReq = false
    @Flag(name: .customLong("rpm-autoprov"), inversion: .prefixedNo, help: "Shared-library provides from the ELF files.")
    var autoProv = false
    @Option(name: .customLong("rpm-init"), help: "Install FILE as /etc/rc.d/init.d/NAME.") var initScripts: [String] = []
    @Option(name: .customLong("rpm-filter-from-provides"), help: "Drop provides matching this regular expression.")
    var filterFromProvides: [String] = []
    @Option(name: .customLong("rpm-filter-from-requires"), help: "Drop requires matching this regular expression.")
    var filterFromRequires: [String] = []
    @Option(name: .customLong("rpm-tag"), help: "An extra header tag: 'Name: value'.") var tags: [String] = []
    @Flag(name: .customLong("rpm-ignore-iteration-in-dependencies"), inversion: .prefixedNo,
          help: "Turn 'name = X' requires into 'name >= X' and 'name < X+1'.")
    var ignoreIteration = false
    @Flag(name: .customLong("rpm-verbatim-gem-dependencies"), inversion: .prefixedNo, help: "fpm: gem input only (no effect; a warning).")
    var verbatimGemDependencies = false
    @Flag(name: .customLong("rpm-macro-expansion"), inversion: .prefixedNo, help: "fpm: rpmbuild's %pre -e (no effect: scripts are kept verbatim; a warning).")
    var macroExpansion = false
    @Option(name: .customLong("rpm-verifyscript"), help: "A %verifyscript file.") var verifyScript: String?
    @Option(name: .customLong("rpm-trigger-before-install"), help: "'[OPT]PACKAGE[,PACKAGE]: FILE' (%triggerprein).") var triggerBeforeInstall: [String] = []
    @Option(name: .customLong("rpm-trigger-after-install"), help: "'[OPT]PACKAGE: FILE' (%triggerin).") var triggerAfterInstall: [String] = []
    @Option(name: .customLong("rpm-trigger-before-uninstall"), help: "'[OPT]PACKAGE: FILE' (%triggerun).") var triggerBeforeUninstall: [String] = []
    @Option(name: .customLong("rpm-trigger-after-target-uninstall"), help: "'[OPT]PACKAGE: FILE' (%triggerpostun).")
    var triggerAfterTargetUninstall: [String] = []
    @Flag(name: .customLong("rpm-old-perl-dependency-name"), inversion: .prefixedNo, help: "fpm: cpan input only (no effect; a warning).")
    var oldPerlDependencyName = false

    func apply(to r: inout PackageRequest) {
        r.rpmSummary = rpmSummary
        r.rpmObsoletes = rpmObsoletes
        r.rpmAttr = rpmAttr
        r.rpmUser = rpmUser
        r.rpmGroup = rpmGroup
        r.rpmPretrans = rpmPretrans
        r.rpmPosttrans = rpmPosttrans
        r.rpmCompression = rpmCompression
        r.rpmCompressionLevel = rpmCompressionLevel
        var o = RPMOptions()
        o.useFilePermissions = useFilePermissions
        o.defattrFile = defattrFile
        o.defattrDir = defattrDir
        o.dist = dist
        o.digest = digest
        o.os = os
        o.changelog = changelog
        o.autoAddDirectories = autoAddDirectories
        o.autoAddExcludeDirectories = autoAddExcludeDirectories
        o.autoReqProv = autoReqProv
        o.autoReq = autoReq
        o.autoProv = autoProv
        o.initScripts = initScripts
        o.filterFromProvides = filterFromProvides
        o.filterFromRequires = filterFromRequires
        o.tags = tags
        o.ignoreIterationInDependencies = ignoreIteration
        o.verifyScript = verifyScript
        o.triggers = triggerBeforeInstall.map { (.beforeInstall, $0) } + triggerAfterInstall.map { (.afterInstall, $0) }
            + triggerBeforeUninstall.map { (.beforeUninstall, $0) } + triggerAfterTargetUninstall.map { (.afterTargetUninstall, $0) }
        r.rpm = o
        if !rpmbuildDefines.isEmpty { r.noEffect.append("--rpm-rpmbuild-define") }
        r.rpmSign = sign
        if verbatimGemDependencies { r.noEffect.append("--rpm-verbatim-gem-dependencies") }
        if macroExpansion { r.noEffect.append("--rpm-macro-expansion") }
        if oldPerlDependencyName { r.noEffect.append("--rpm-old-perl-dependency-name") }
    }
}
