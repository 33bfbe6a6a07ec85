import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Small pieces of `PackageJob`: the work directory, files named by options, fpm's spellings.
extension PackageJob {
    /// The work directory: removed when dropped, unless `--debug-workspace` keeps it.
    final class Workspace {
        let path: String
        private let temporary: TemporaryDirectory?

        init(parent: String?, keep: Bool) throws {
            if keep {
                let base = parent ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
                let path = (base as NSString).appendingPathComponent("pkglayer-workspace-\(UUID().uuidString.prefix(8).lowercased())")
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                self.path = path
                temporary = nil
            } else {
                let dir = try TemporaryDirectory(parent: parent, prefix: "pkglayer-package")
                path = dir.path
                temporary = dir
            }
        }
    }

    /// Why an option fpm has is accepted but changes nothing here.
    static func noEffectReason(_ flag: String) -> String {
        switch flag {
        case "--rpm-rpmbuild-define":
            return "has no effect: pkglayer writes the rpm itself and runs no rpmbuild, so there are no rpmbuild macros to define"
        case "--rpm-macro-expansion":
            return "has no effect: pkglayer keeps scripts verbatim and does not ask rpm to expand macros in them at install time"
        case "--rpm-verbatim-gem-dependencies":
            return "has no effect: it only changes dependency names of gem input (-s gem), which pkglayer does not read"
        case "--rpm-old-perl-dependency-name":
            return "has no effect: it only changes the perl dependency of cpan input (-s cpan), which pkglayer does not read"
        case "--edit":
            return "has no effect: pkglayer writes packages directly, with no spec or control file to edit first; use --rpm-tag, --deb-field or --deb-custom-control"
        case "--deb-dist":
            return "has no effect without --deb-generate-changes: it names the distribution in the .changes file"
        default:
            return "has no effect"
        }
    }

    /// `-s` types fpm has and pkglayer does not read.
    static let unsupportedInputTypes = ["apk", "cpan", "freebsd", "gem", "npm", "osxpkg", "p5p", "pacman", "pear",
                                        "pkgin", "pleaserun", "puppet", "sh", "snap", "solaris", "virtualenv"]

    static func unsupportedInputType(_ type: String) -> PkgLayerError {
        let supported = "dir, tar, zip, rpm, deb, empty or python"
        if unsupportedInputTypes.contains(type) {
            return PkgLayerError(.usage, "-s \(type) is not supported by pkglayer (fpm's \(unsupportedInputTypes.joined(separator: ", ")) inputs are not); use \(supported)",
                                 at: "-s")
        }
        return PkgLayerError(.usage, "unknown input type '\(type)'; use \(supported)", at: "-s")
    }

    /// Compression by fpm's names: `xzmt` is xz (pkglayer's xz is multi-threaded anyway); level 0 of
    /// gzip is fpm's "store only" (none); bzip2 is not written: a warning and the format's default.
    func compression(_ name: String, level: Int?, field: String) throws -> Compression {
        switch name.lowercased() {
        case "xzmt": return try Compression(name: "xz", level: level, field: field)
        case "bzip2":
            logger.warning("\(field) bzip2: pkglayer does not write bzip2; using gzip (which every rpm and dpkg reads) instead")
            return try Compression(name: "gzip", level: level.map { max($0, 1) }, field: field)
        case "gzip" where level == 0, "gz" where level == 0: return .none
        default: return try Compression(name: name, level: level, field: field)
        }
    }

    /// A text file an option names (a script, a changelog), naming the option when it cannot be read.
    func readText(_ path: String, flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PkgLayerError(.usage, "cannot read '\(path)'", at: flag)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PkgLayerError(.usage, "'\(path)' is not UTF-8 text", at: flag)
        }
        return text
    }

    /// The non-empty lines of the files `--inputs` or `--exclude-file` name.
    func listFiles(_ paths: [String], flag: String) throws -> [String] {
        try paths.flatMap { path in
            try readText(path, flag: flag).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// `-x` patterns plus those of `--exclude-file`.
    func allExcludes() throws -> [String] {
        request.excludes + (try listFiles(request.excludeFiles, flag: "--exclude-file"))
    }

    /// `-s empty`: a package with no files, only metadata and relations (a meta-package).
    func emptySource() throws -> (PackageSpec, FileManifest) {
        guard request.inputs.isEmpty else {
            throw PkgLayerError(.usage, "-s empty takes no inputs (got '\(request.inputs.joined(separator: " "))')", at: "-s empty")
        }
        guard let name = request.name else {
            throw PkgLayerError(.usage, "a package name is required for -s empty", at: "-n/--name")
        }
        let clock = try SourceDateEpoch.fromEnvironment() ?? SourceDateEpoch(request.sourceDateEpochDefault ?? 0)
        let arch = Architecture(parsing: request.architecture ?? "all") ?? .noarch  // applyMetadataFlags checks -a
        let spec = PackageSpec(name: name, version: request.version ?? "1.0", architecture: arch, sourceDateEpoch: clock)
        return (spec, try FileManifest(entries: [], implicitDirectoryMtime: clock.seconds))
    }
}

extension PackageJob {
    /// The options given that only one format reads, when that format is not among the targets
    /// (fpm ignores them silently; pkglayer says so once).
    func formatOnlyOptionsWithoutTheirFormat(targets: [PackageFormat]) -> [String] {
        let r = request, rpm = r.rpm, deb = r.deb
        var unused: [String] = []
        if !targets.contains(.rpm) {
            let given: [(String, Bool)] = [
                ("--rpm-attr", !r.rpmAttr.isEmpty), ("--rpm-user", r.rpmUser != nil), ("--rpm-group", r.rpmGroup != nil),
                ("--rpm-compression", r.rpmCompression != "gzip"), ("--rpm-compression-level", r.rpmCompressionLevel != nil),
                ("--rpm-use-file-permissions", rpm.useFilePermissions), ("--rpm-defattrfile", rpm.defattrFile != nil),
                ("--rpm-defattrdir", rpm.defattrDir != nil), ("--rpm-dist", rpm.dist != nil), ("--rpm-digest", rpm.digest != nil),
                ("--rpm-os", rpm.os != nil), ("--rpm-auto-add-directories", rpm.autoAddDirectories),
                ("--rpm-autoreq/--rpm-autoprov/--rpm-autoreqprov", rpm.autoReq || rpm.autoProv || rpm.autoReqProv),
                ("--rpm-init", !rpm.initScripts.isEmpty), ("--rpm-filter-from-requires/-provides", !(rpm.filterFromRequires + rpm.filterFromProvides).isEmpty),
                ("--rpm-tag", !rpm.tags.isEmpty), ("--rpm-ignore-iteration-in-dependencies", rpm.ignoreIterationInDependencies),
                ("--rpm-verifyscript", rpm.verifyScript != nil), ("--rpm-trigger-*", !rpm.triggers.isEmpty),
            ]
            unused += given.filter(\.1).map(\.0)
        }
        if !targets.contains(.deb) {
            let given: [(String, Bool)] = [
                ("--deb-user", r.debUser != nil), ("--deb-group", r.debGroup != nil), ("--deb-compression", r.debCompression != "gz"),
                ("--deb-compression-level", r.debCompressionLevel != nil), ("--deb-priority", r.debPriority != nil),
                ("--deb-use-file-permissions", deb.useFilePermissions), ("--deb-custom-control", deb.customControl != nil),
                ("--deb-config", deb.config != nil), ("--deb-templates", deb.templates != nil), ("--deb-installed-size", deb.installedSize != nil),
                ("--deb-changelog", deb.changelog != nil), ("--deb-upstream-changelog", deb.upstreamChangelog != nil),
                ("--deb-generate-changes", deb.generateChanges), ("--deb-meta-file", !deb.metaFiles.isEmpty),
                ("--deb-interest/--deb-activate", !(deb.interest + deb.activate + deb.interestNoawait + deb.activateNoawait).isEmpty),
                ("--deb-field", !deb.fields.isEmpty), ("--deb-build-depends", !deb.buildDepends.isEmpty), ("--deb-shlibs", deb.shlibs != nil),
                ("--deb-init/--deb-default/--deb-upstart/--deb-systemd", !(deb.initScripts + deb.defaults + deb.upstarts + deb.systemd).isEmpty),
                ("--deb-after-purge", deb.afterPurge != nil), ("--deb-maintainerscripts-force-errorchecks", deb.maintainerScriptsForceErrorChecks),
                ("--deb-ignore-iteration-in-dependencies", deb.ignoreIterationInDependencies),
            ]
            unused += given.filter(\.1).map(\.0)
        }
        return unused
    }
}
