import Foundation
import PkgLayerCore

/// One package of a recipe, ready for a format writer: its spec, and which staged files it takes.
public struct LoweredPackage: Sendable, Equatable {
    /// Metadata, relations and scripts for the writer.
    public var spec: PackageSpec
    /// nil for the main package, else the subpackage's index in ``Recipe/subpackages``.
    public var subpackageIndex: Int?
    /// The globs whose files this package takes (a subpackage's `files`). Empty for the main
    /// package, which takes whatever no subpackage took.
    public var files: [Glob]
    /// Globs whose files this package must leave out: for the main package every subpackage's
    /// `files`; for a subpackage those of the subpackages listed before it (the first match wins).
    public var excludes: [Glob]
    /// Whether to add automatic shared-library dependencies (`shlibs`).
    public var automaticSharedLibraryDependencies: Bool
    /// Conffile globs (`package.conffiles`), for `ManifestBuilder.configFiles`.
    public var configFiles: [Glob]
    /// Attribute rules (`package.attributes`), for `ManifestBuilder.attributes`.
    public var attributes: [AttributeRule]
    /// The systemd units this package installs (`package.services`; the main package only). Their
    /// files and scripts are added by ``applyServices(format:to:manifest:)`` once the manifest is split.
    public var services: [ServiceUnit] = []

    public var isSubpackage: Bool { subpackageIndex != nil }

    /// Adds ``services`` to this package's manifest and its maintainer scripts to `spec`
    /// (`ServiceIntegration.apply`); the manifest unchanged when there are none.
    public func applyServices(format: PackageFormat, to spec: inout PackageSpec, manifest: FileManifest) throws -> FileManifest {
        try ServiceIntegration.apply(services, format: format, to: &spec, manifest: manifest)
    }

    /// Whether a staged path belongs in this package.
    public func owns(_ path: String) -> Bool {
        if excludes.contains(where: { $0.matches(path) }) { return false }
        return files.isEmpty || files.contains { $0.matches(path) }
    }
}

extension Recipe {
    /// The main package and every subpackage, as Core specs for `format`, in recipe order (main first).
    ///
    /// Dependencies are the `runtime` list plus the format's own (`rpm:` or `deb:`), with
    /// `${{package.*}}` and `${{build.arch}}` expanded and parsed with Core's `Dependency` rules. Scripts
    /// map onto Core's hooks; declared accounts are created at the start of the main package's
    /// pre-install (and pre-upgrade) script. A package whose `arch` is `native` gets `architecture`;
    /// one whose `arch` is fixed keeps it (a subpackage without `arch` follows the main package).
    ///
    /// - Parameters:
    ///   - architecture: the target; packages built from source are native, so usually `.native`.
    ///   - sourceDateEpoch: the clock (see ``sourceDateEpoch(environment:)``).
    public func packages(for format: PackageFormat, architecture: Architecture = .native,
                         sourceDateEpoch: SourceDateEpoch) throws -> [LoweredPackage] {
        let mainArch = package.arch.resolved(target: architecture)
        if case .fixed(let fixed) = package.arch, fixed != .noarch, fixed != architecture {
            throw PkgLayerError(.invalidInput,
                                "the recipe is for \(fixed.rpm) (package.arch) and cannot be built for \(architecture.rpm); use arch: native to build on any machine",
                                at: file)
        }
        let variables = targetVariables(architecture: architecture)
        let configFiles = package.conffileGlobs

        var main = PackageSpec(name: package.name, version: package.version, release: package.release, epoch: package.epoch,
                               architecture: mainArch, sourceDateEpoch: sourceDateEpoch)
        main.summary = package.summary
        main.description = package.description
        try fillCommon(&main, section: package.section)
        try apply(package.dependencies, to: &main, format: format, variables: variables)
        main.scripts = try scriptsWithAccounts()
        main.changelog = package.changelog
        try main.validate()

        let allSubpackageGlobs = subpackages.flatMap(\.fileGlobs)
        var out = [LoweredPackage(spec: main, subpackageIndex: nil, files: [], excludes: allSubpackageGlobs,
                                  automaticSharedLibraryDependencies: package.dependencies.sharedLibraries,
                                  configFiles: configFiles, attributes: package.attributes,
                                  services: package.services.map(\.serviceUnit))]
        var earlier: [Glob] = []
        for (i, sub) in subpackages.enumerated() {
            let arch = sub.arch.map { $0.resolved(target: architecture) } ?? mainArch
            var spec = PackageSpec(name: sub.name, version: package.version, release: package.release, epoch: package.epoch,
                                   architecture: arch, sourceDateEpoch: sourceDateEpoch)
            spec.summary = sub.summary ?? package.summary
            spec.description = sub.description ?? package.description
            try fillCommon(&spec, section: sub.section ?? package.section)
            if let license = sub.license { spec.license = license }
            try apply(sub.dependencies, to: &spec, format: format, variables: variables)
            spec.scripts = sub.scripts.mapValues(\.text)
            spec.changelog = package.changelog
            try spec.validate()
            out.append(LoweredPackage(spec: spec, subpackageIndex: i, files: sub.fileGlobs, excludes: earlier,
                                      automaticSharedLibraryDependencies: sub.dependencies.sharedLibraries,
                                      configFiles: configFiles, attributes: package.attributes))
            earlier += sub.fileGlobs
        }
        return out
    }

    /// The clock: `SOURCE_DATE_EPOCH` from the environment if set, else the recipe's
    /// `source-date-epoch`, else nil (the caller falls back to a property of the inputs).
    public func sourceDateEpoch(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SourceDateEpoch? {
        if let env = try SourceDateEpoch.fromEnvironment(environment) { return env }
        return package.sourceDateEpoch.map(SourceDateEpoch.init)
    }

    private func fillCommon(_ spec: inout PackageSpec, section: String?) throws {
        spec.license = package.license
        spec.vendor = package.vendor
        spec.url = package.url
        spec.maintainer = package.maintainer
        spec.section = section
        spec.priority = package.priority
    }

    private func apply(_ deps: Dependencies, to spec: inout PackageSpec, format: PackageFormat,
                       variables: [String: String]) throws {
        func parse(_ list: [Located<String>], _ field: String) throws -> [Dependency] {
            try list.map { entry in
                let text = try Recipe.interpolate(entry.value, variables: variables, at: entry.location)
                do {
                    return try Dependency(parsing: text, field: field)
                } catch let error as PkgLayerError {
                    throw PkgLayerError(.invalidInput, error.message, at: entry.location.description)
                }
            }
        }
        spec.depends = try parse(deps.runtime, "runtime") + parse(format == .rpm ? deps.rpm : deps.deb, format.rawValue)
        spec.preDepends = try parse(deps.preDepends, "pre-depends")
        spec.provides = try parse(deps.provides, "provides")
        spec.conflicts = try parse(deps.conflicts, "conflicts")
        spec.replaces = try parse(deps.replaces, "replaces")
        spec.breaks = try parse(deps.breaks, "breaks")
        spec.obsoletes = try parse(deps.obsoletes, "obsoletes")
        spec.recommends = try parse(deps.recommends, "recommends")
        spec.suggests = try parse(deps.suggests, "suggests")
    }

    /// The main package's scripts, with the account creation in front of pre-install and pre-upgrade.
    func scriptsWithAccounts() throws -> [ScriptHook: String] {
        var scripts = package.scripts.mapValues(\.text)
        guard let accountsScript = package.accounts.script() else { return scripts }
        for hook in [ScriptHook.beforeInstall, .beforeUpgrade] where hook == .beforeInstall || scripts[hook] != nil {
            guard let combined = Self.prepend(accountsScript, to: scripts[hook]) else {
                throw PkgLayerError(.invalidInput,
                                    "this script is not a shell script, so pkglayer cannot put the account creation (package.accounts) in front of it; write it for /bin/sh or create the accounts in it yourself",
                                    at: package.scripts[hook]?.location.description ?? file)
            }
            scripts[hook] = combined
        }
        return scripts
    }

    /// Puts `prefix` before `script`, after its `#!` line if it has one; nil when the script is for
    /// another interpreter (`#!/usr/bin/perl`), which cannot take shell lines.
    static func prepend(_ prefix: String, to script: String?) -> String? {
        guard let script, !script.isEmpty else { return prefix }
        guard script.hasPrefix("#!") else { return prefix + script }
        let parts = script.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let shebang = String(parts[0])
        let rest = parts.count > 1 ? String(parts[1]) : ""
        let command = shebang.dropFirst(2).trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
        let interpreter = command.split(separator: "/").last.map(String.init) ?? ""
        guard ["sh", "bash", "dash", "ksh", "zsh", "ash"].contains(interpreter) else { return nil }
        return shebang + "\n" + prefix + rest
    }
}

extension Recipe.Accounts {
    /// A POSIX shell snippet that creates the groups and users that do not exist yet (`groupadd` and
    /// `useradd`, from shadow-utils on rpm systems and the passwd package on Debian). It never removes
    /// or changes an existing account.
    ///
    /// Under `dpkg --root --force-script-chrootless` (`$DPKG_ROOT` set) it works on the files of that
    /// root (`useradd --prefix`), never on the host's; when the root has no `/etc/passwd` it skips the
    /// accounts with a note. nil when there are no accounts.
    public func script() -> String? {
        guard !isEmpty else { return nil }
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var lines = [
            "# Accounts declared in the recipe (added by pkglayer).",
            "if [ -n \"${DPKG_ROOT:-}\" ] && [ ! -e \"$DPKG_ROOT/etc/passwd\" ]; then",
            "  echo \"no $DPKG_ROOT/etc/passwd: not creating the package's accounts\" >&2",
            "else",
            "pkglayer_exists() { if [ -n \"${DPKG_ROOT:-}\" ]; then grep -q \"^$2:\" \"$DPKG_ROOT/etc/$1\"; else getent \"$1\" \"$2\" >/dev/null 2>&1; fi; }",
        ]
        let prefix = "${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"}"
        var groupsDone = Set<String>()
        func addGroup(_ name: String, gid: UInt32?, system: Bool) {
            guard groupsDone.insert(name).inserted else { return }
            var cmd = "groupadd \(prefix)"
            if system { cmd += " --system" }
            if let gid { cmd += " --gid \(gid)" }
            lines.append("pkglayer_exists group \(q(name)) || \(cmd) \(q(name))")
        }
        for g in groups { addGroup(g.name, gid: g.gid, system: g.system) }
        for u in users {
            addGroup(u.primaryGroup, gid: nil, system: u.system)
            for extra in u.groups { addGroup(extra, gid: nil, system: u.system) }
        }
        for u in users {
            var cmd = "useradd \(prefix)"
            if u.system { cmd += " --system" }
            if let uid = u.uid { cmd += " --uid \(uid)" }
            cmd += " --gid \(q(u.primaryGroup))"
            if !u.groups.isEmpty { cmd += " --groups \(q(u.groups.joined(separator: ",")))" }
            cmd += " --home-dir \(q(u.home)) --no-create-home --shell \(q(u.shell))"
            if let comment = u.comment { cmd += " --comment \(q(comment))" }
            lines.append("pkglayer_exists passwd \(q(u.name)) || \(cmd) \(q(u.name))")
        }
        lines.append("fi")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Recipe {
    /// Steps and environment with every `${{…}}` expanded, for the runner.
    public struct ResolvedBuild: Sendable, Equatable {
        public struct Step: Sendable, Equatable {
            public var name: String
            /// The shell text to run with `sh -e`.
            public var script: String
            /// Seconds the step may run; nil: only `timeout` bounds it.
            public var timeout: TimeInterval?
        }
        public var steps: [Step]
        /// Seconds all the steps together may run.
        public var timeout: TimeInterval
        /// The declared variables only; the sandbox adds its fixed ones.
        public var environment: [String: String]
        public var network: Bool
    }

    /// Expands steps and environment with `variables` (see ``variables(architecture:destdir:srcdir:jobs:)``).
    /// An unknown variable is an error at the step's or variable's location.
    public func resolvedBuild(variables: [String: String]) throws -> ResolvedBuild {
        let steps = try build.steps.map { step in
            ResolvedBuild.Step(name: step.name, script: try Recipe.interpolate(step.run, variables: variables, at: step.location),
                               timeout: step.timeout)
        }
        var environment: [String: String] = [:]
        for variable in build.environment {
            environment[variable.name] = try Recipe.interpolate(variable.value, variables: variables, at: variable.location)
        }
        return ResolvedBuild(steps: steps, timeout: build.timeout, environment: environment, network: build.network)
    }
}

extension Recipe {
    /// `90` or `90s` → 90, `20m` → 1200, `2h` → 7200; nil for anything else.
    public static func seconds(fromDuration text: String) -> TimeInterval? {
        let units: [(String, Double)] = [("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast()).map { $0 * factor }
        }
        return Double(text)
    }
}
