import ArgumentParser
import PkgLayerPipeline

/// fpm's `--deb-*` options (lib/fpm/package/deb.rb) beyond the ones `PackageCommand` declares itself.
struct FpmDebOptions: ParsableArguments {
    @Option(name: .customLong("deb-priority")) var debPriority: String?
    @Option(name: .customLong("deb-pre-depends")) var debPreDepends: [String] = []
    @Option(name: .customLong("deb-recommends")) var debRecommends: [String] = []
    @Option(name: .customLong("deb-suggests")) var debSuggests: [String] = []
    @Option(name: .customLong("deb-breaks")) var debBreaks: [String] = []
    @Flag(name: .customLong("deb-no-default-config-files"), inversion: .prefixedNo, help: "Do not mark files under /etc as config files.")
    var noDefaultConfigFiles = false
    @Option(name: .customLong("deb-user")) var debUser: String?
    @Option(name: .customLong("deb-group")) var debGroup: String?
    @Option(name: .customLong("deb-compression"), help: "gz (default), xz, zst or none.") var debCompression: String = "gz"
    @Option(name: .customLong("deb-compression-level")) var debCompressionLevel: Int?
    @Flag(name: .customLong("deb-ignore-iteration-in-dependencies"), inversion: .prefixedNo,
          help: "Turn 'name (= X)' into 'name (>= X)' and 'name (<< X+1)'.")
    var ignoreIteration = false
    @Option(name: .customLong("deb-build-depends"), help: "A Build-Depends entry.") var buildDepends: [String] = []
    @Option(name: .customLong("deb-dist"), help: "Distribution for the .changes file (default unstable).") var dist: String?
    @Option(name: .customLong("deb-custom-control"), help: "A control file to use instead of the generated one.") var customControl: String?
    @Option(name: .customLong("deb-config"), help: "The debconf config script.") var config: String?
    @Option(name: .customLong("deb-templates"), help: "The debconf templates file.") var templates: String?
    @Option(name: .customLong("deb-installed-size"), help: "Installed-Size in KiB instead of the computed one.") var installedSize: String?
    @Flag(name: .customLong("deb-use-file-permissions"), inversion: .prefixedNo, help: "Keep the owners on disk in the deb.")
    var useFilePermissions = false
    @Option(name: .customLong("deb-changelog"), help: "Installed as /usr/share/doc/NAME/changelog.Debian.gz.") var changelog: String?
    @Flag(name: .customLong("deb-generate-changes"), inversion: .prefixedNo, help: "Also write NAME_VERSION_ARCH.changes.")
    var generateChanges = false
    @Option(name: .customLong("deb-upstream-changelog"), help: "Installed as /usr/share/doc/NAME/changelog.gz.") var upstreamChangelog: String?
    @Option(name: .customLong("deb-meta-file"), help: "A file for the control area (DEBIAN/).") var metaFiles: [String] = []
    @Option(name: .customLong("deb-interest"), help: "dpkg trigger: interest EVENT.") var interest: [String] = []
    @Option(name: .customLong("deb-activate"), help: "dpkg trigger: activate EVENT.") var activate: [String] = []
    @Option(name: .customLong("deb-interest-noawait"), help: "dpkg trigger: interest-noawait EVENT.") var interestNoawait: [String] = []
    @Option(name: .customLong("deb-activate-noawait"), help: "dpkg trigger: activate-noawait EVENT.") var activateNoawait: [String] = []
    @Option(name: .customLong("deb-field"), help: "An extra control field: 'Name: value'.") var fields: [String] = []
    @Flag(name: .customLong("deb-auto-config-files"), inversion: .prefixedNo, help: "Init, default and upstart files are config files (default on).")
    var autoConfigFiles = true
    @Option(name: .customLong("deb-shlibs"), help: "The shlibs control file's content.") var shlibs: String?
    @Option(name: .customLong("deb-init"), help: "Install FILE as /etc/init.d/NAME.") var initScripts: [String] = []
    @Option(name: .customLong("deb-default"), help: "Install FILE as /etc/default/NAME.") var defaults: [String] = []
    @Option(name: .customLong("deb-upstart"), help: "Install FILE as /etc/init/NAME.conf.") var upstarts: [String] = []
    @Option(name: .customLong("deb-systemd"), help: "Install a systemd unit and the maintainer-script snippets for it.") var systemd: [String] = []
    @Option(name: .customLong("deb-systemd-path"), help: "Where units go (default lib/systemd/system).") var systemdPath: String?
    @Flag(name: .customLong("deb-systemd-enable"), inversion: .prefixedNo, help: "Enable the units on install.")
    var systemdEnable = false
    @Flag(name: .customLong("deb-systemd-auto-start"), inversion: .prefixedNo, help: "Start the units after install.")
    var systemdAutoStart = false
    @Flag(name: .customLong("deb-systemd-restart-after-upgrade"), inversion: .prefixedNo, help: "Restart the units after an upgrade (default on).")
    var systemdRestartAfterUpgrade = true
    @Option(name: .customLong("deb-after-purge"), help: "A script run by postrm purge.") var afterPurge: String?
    @Flag(name: .customLong("deb-maintainerscripts-force-errorchecks"), inversion: .prefixedNo, help: "Run maintainer scripts with set -e.")
    var forceErrorChecks = false

    func apply(to r: inout PackageRequest) {
        r.debPriority = debPriority
        r.debPreDepends = debPreDepends
        r.debRecommends = debRecommends
        r.debSuggests = debSuggests
        r.debBreaks = debBreaks
        r.noDefaultConfigFiles = noDefaultConfigFiles
        r.debUser = debUser
        r.debGroup = debGroup
        r.debCompression = debCompression
        r.debCompressionLevel = debCompressionLevel
        var o = DebOptions()
        o.ignoreIterationInDependencies = ignoreIteration
        o.buildDepends = buildDepends
        o.dist = dist
        o.customControl = customControl
        o.config = config
        o.templates = templates
        o.installedSize = installedSize
        o.useFilePermissions = useFilePermissions
        o.changelog = changelog
        o.generateChanges = generateChanges
        o.upstreamChangelog = upstreamChangelog
        o.metaFiles = metaFiles
        o.interest = interest
        o.activate = activate
        o.interestNoawait = interestNoawait
        o.activateNoawait = activateNoawait
        o.fields = fields
        o.autoConfigFiles = autoConfigFiles
        o.shlibs = shlibs
        o.initScripts = initScripts
        o.defaults = defaults
        o.upstarts = upstarts
        o.systemd = systemd
        if let systemdPath { o.systemdPath = systemdPath }
        o.systemdEnable = systemdEnable
        o.systemdAutoStart = systemdAutoStart
        o.systemdRestartAfterUpgrade = systemdRestartAfterUpgrade
        o.afterPurge = afterPurge
        o.maintainerScriptsForceErrorChecks = forceErrorChecks
        r.deb = o
    }
}
