import Foundation

/// The parts of a package's control area beyond relations and maintainer scripts: changelogs,
/// triggers, verify scripts, per-format extra fields. Plain values in Core; the RPM and Deb rooms
/// write them, the pipeline fills them from fpm's options and recipes.
public struct ChangelogEntry: Sendable, Equatable, Codable {
    /// Seconds since 1970 (rpm CHANGELOGTIME; Debian's trailer line date).
    public var date: Int64
    /// `Jane Doe <jane@example.com>`.
    public var author: String
    /// The version this entry describes (`1.2-3`); nil: the package's own full version.
    public var version: String?
    /// The entry's text, one change per line, without bullets or indentation.
    public var text: String

    public init(date: Int64, author: String, version: String? = nil, text: String) {
        self.date = date; self.author = author; self.version = version; self.text = text
    }
}

/// An rpm trigger (`%triggerin -- nginx`): a script run when another package is installed or removed.
public struct RPMTrigger: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// fpm's `--rpm-trigger-before-install` (%triggerprein)
        case beforeInstall = "before-install"
        /// `--rpm-trigger-after-install` (%triggerin)
        case afterInstall = "after-install"
        /// `--rpm-trigger-before-uninstall` (%triggerun)
        case beforeUninstall = "before-uninstall"
        /// `--rpm-trigger-after-target-uninstall` (%triggerpostun)
        case afterTargetUninstall = "after-target-uninstall"
    }
    public var kind: Kind
    /// The packages (with optional version constraints) whose install or removal fires it.
    public var targets: [Dependency]
    public var script: String

    public init(kind: Kind, targets: [Dependency], script: String) {
        self.kind = kind; self.targets = targets; self.script = script
    }
}

/// rpm's per-file digest algorithm (FILEDIGESTALGO), fpm's `--rpm-digest`.
public enum FileDigestAlgorithm: String, Sendable, Equatable, Codable, CaseIterable {
    case md5, sha1, sha256, sha384, sha512
}

/// What only one format can say, carried on the spec so one manifest and one spec still feed both.
public struct FormatExtras: Sendable, Equatable {
    // rpm
    /// `%verifyscript` (fpm `--rpm-verifyscript`).
    public var rpmVerifyScript: String?
    public var rpmTriggers: [RPMTrigger] = []
    /// Per-file digests; nil: sha256 (rpm's default since 4.14).
    public var rpmFileDigest: FileDigestAlgorithm?
    /// `--rpm-os` (OS tag); nil: `linux`.
    public var rpmOS: String?
    /// Extra header tags as written (`--rpm-tag 'Packager: x'`), name and value.
    public var rpmTags: [(name: String, value: String)] = []
    // deb
    /// Extra control fields (`--deb-field 'X-Foo: bar'`), in order.
    public var debFields: [(name: String, value: String)] = []
    /// A control file that replaces the generated one (`--deb-custom-control`).
    public var debCustomControl: String?
    /// debconf `config` script and `templates` (`--deb-config`, `--deb-templates`).
    public var debConfig: String?
    public var debTemplates: String?
    /// The `shlibs` control file (`--deb-shlibs`).
    public var debShlibs: String?
    /// The `triggers` control file's lines (`interest NAME`, `activate-noawait NAME`, …).
    public var debTriggers: [String] = []
    /// `postrm purge` (`--deb-after-purge`).
    public var debAfterPurge: String?
    /// Installed-Size in KiB instead of the computed one (`--deb-installed-size`).
    public var debInstalledSizeKiB: UInt64?
    /// Prefix maintainer scripts with `set -e` (`--deb-maintainerscripts-force-errorchecks`).
    public var debForceErrorChecks = false
    /// More control-area members, as written (`--deb-meta-file FILE`: named by the file's base name).
    public var debMetaFiles: [(name: String, content: String)] = []

    public init() {}

    public static func == (a: FormatExtras, b: FormatExtras) -> Bool {
        a.rpmVerifyScript == b.rpmVerifyScript && a.rpmTriggers == b.rpmTriggers && a.rpmFileDigest == b.rpmFileDigest
            && a.rpmOS == b.rpmOS && a.rpmTags.map { "\($0.name)\u{0}\($0.value)" } == b.rpmTags.map { "\($0.name)\u{0}\($0.value)" }
            && a.debFields.map { "\($0.name)\u{0}\($0.value)" } == b.debFields.map { "\($0.name)\u{0}\($0.value)" }
            && a.debCustomControl == b.debCustomControl && a.debConfig == b.debConfig && a.debTemplates == b.debTemplates
            && a.debShlibs == b.debShlibs && a.debTriggers == b.debTriggers && a.debAfterPurge == b.debAfterPurge
            && a.debInstalledSizeKiB == b.debInstalledSizeKiB && a.debForceErrorChecks == b.debForceErrorChecks
            && a.debMetaFiles.map { "\($0.name)\u{0}\($0.content)" } == b.debMetaFiles.map { "\($0.name)\u{0}\($0.content)" }
    }
}
