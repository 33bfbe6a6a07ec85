import Foundation

/// A service file a package installs and integrates with the init system: a systemd unit (fpm's
/// `--deb-systemd`, the recipe's `services:`), a SysV init script (`--deb-init`, `--rpm-init`), an
/// upstart job (`--deb-upstart`) or an `/etc/default` file (`--deb-default`).
public struct ServiceUnit: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A systemd unit: `/lib/systemd/system/NAME.service` in a .deb, `/usr/lib/systemd/system/…` in an .rpm.
        case systemd
        /// A SysV init script: `/etc/init.d/NAME`, 0755, a conffile.
        case sysvInit = "init"
        /// An upstart job: `/etc/init/NAME.conf`, a conffile.
        case upstart
        /// Settings read by the init script or unit: `/etc/default/NAME`, a conffile.
        case defaults = "default"
    }

    public var kind: Kind
    /// The file to install, on disk (read when the package is written).
    public var source: String
    /// The service's name; nil: the source's file name without `.service`, `.conf`, `.init` or `.default`.
    public var name: String?
    /// The directory to install a systemd unit into (fpm's `--deb-systemd-path`); nil: the format's default.
    public var directory: String?
    /// Enable the unit on install (debhelper's default; fpm's `--deb-systemd-enable`).
    public var enable: Bool
    /// Start it on install (`--deb-systemd-auto-start`).
    public var start: Bool
    /// Restart it after an upgrade (`--deb-systemd-restart-after-upgrade`); otherwise it is stopped before
    /// the upgrade and started after it (when `start`).
    public var restartAfterUpgrade: Bool

    public init(kind: Kind, source: String, name: String? = nil, directory: String? = nil,
                enable: Bool = true, start: Bool = true, restartAfterUpgrade: Bool = true) {
        self.kind = kind; self.source = source; self.name = name; self.directory = directory
        self.enable = enable; self.start = start; self.restartAfterUpgrade = restartAfterUpgrade
    }

    /// The name used for the installed file and in the scripts.
    public var serviceName: String {
        if let name, !name.isEmpty { return name }
        var base = ManifestPath.basename(of: source)
        for suffix in [".service", ".socket", ".timer", ".path", ".target", ".mount", ".conf", ".init", ".default", ".upstart"] where base.hasSuffix(suffix) && base.count > suffix.count {
            base = String(base.dropLast(suffix.count))
            break
        }
        return base
    }

    /// systemd's unit types pkglayer installs as they are named (`foo.timer` stays `foo.timer`).
    static let systemdUnitSuffixes = [".service", ".socket", ".timer", ".path", ".target", ".mount"]

    /// The systemd unit's file name: the source's own when it ends in a unit type (`.socket`,
    /// `.timer`, …) and no `name` is given, else `serviceName` + `.service`.
    public var unitFileName: String {
        let base = ManifestPath.basename(of: source)
        if name == nil, let suffix = Self.systemdUnitSuffixes.first(where: { base.hasSuffix($0) && base.count > $0.count }), suffix != ".service" {
            return base
        }
        return serviceName + ".service"
    }

    /// Where the file is installed in a package of `format`.
    public func installPath(format: PackageFormat) -> String {
        switch kind {
        case .systemd:
            let dir = directory ?? (format == .deb ? "/lib/systemd/system" : "/usr/lib/systemd/system")
            return (dir.hasSuffix("/") ? String(dir.dropLast()) : dir) + "/" + unitFileName
        case .sysvInit: return "/etc/init.d/" + serviceName
        case .upstart: return "/etc/init/" + serviceName + ".conf"
        case .defaults: return "/etc/default/" + serviceName
        }
    }
}

/// Service integration as Debian's debhelper (`dh_installsystemd`, `dh_installinit`) and Fedora's
/// `%systemd_*` macros write it, as one call for `pkglayer package` and recipes alike.
///
/// Contract of ``apply(_:format:to:manifest:)``:
/// - **Files.** Each unit's file is added to the manifest at ``ServiceUnit/installPath(format:)``,
///   owned by root, mode 0644 (an init script 0755), dated `min(file's mtime, spec.sourceDateEpoch)`.
///   Files under `/etc` (init scripts, upstart jobs, `/etc/default`) are conffiles (`config` +
///   `noReplace`). A path the manifest already holds is an error naming it; so is a source that is
///   not a readable regular file, or a service name that is not a plain file name.
/// - **Scripts.** Shell snippets are added to `spec.scripts` (fpm hooks, so each format's
///   `MaintainerScripts` mapping decides where they run): appended to after-install / after-upgrade /
///   after-remove, prepended to before-upgrade / before-remove. Where a package had an install hook
///   but no upgrade hook, the install hook is first copied to the upgrade hook, so it still runs on
///   upgrade. A hook written for another interpreter (`#!/usr/bin/perl`) cannot take shell lines:
///   that is an error naming the hook. For a .deb, what runs on `purge` goes to
///   `spec.extras.debAfterPurge` (appended).
/// - **The guard.** Every snippet that talks to a running init system sits inside
///   `if [ -d /run/systemd/system ]; then … fi` (for SysV: `… || [ -p /run/initctl ]`), so installing
///   into an image, a chroot or `--root` changes nothing but the files. Failures of the helpers are
///   ignored (`|| true`), as debhelper does.
/// - **What runs** (deb, systemd; rpm uses `systemctl` for each):
///   after-install/after-upgrade (postinst configure): `deb-systemd-helper unmask`, then `enable`
///   (when `enable`; else `update-state`), `systemctl --system daemon-reload`, `deb-systemd-invoke start`
///   on install (when `start`), `restart` on upgrade (when `restartAfterUpgrade`; `try-restart` when
///   not `start`); before-upgrade: `deb-systemd-invoke stop` when not `restartAfterUpgrade`;
///   before-remove: `deb-systemd-invoke stop`; after-remove: `deb-systemd-helper disable`,
///   `daemon-reload`; purge: `deb-systemd-helper purge` and `unmask`. rpm: `systemctl --no-reload
///   enable`, `systemctl start`, `systemctl try-restart`/`restart`, `systemctl --no-reload disable --now`
///   on erase, `daemon-reload`. SysV: `update-rc.d NAME defaults` / `invoke-rc.d NAME start|restart|stop`
///   / `update-rc.d NAME remove` on purge; rpm: `chkconfig --add` / `service NAME start|restart|stop` /
///   `chkconfig --del`. Upstart jobs and `/etc/default` files are installed only.
public enum ServiceIntegration {
    /// Adds `units` to `manifest` and their snippets to `spec`, for a package of `format`. See the type's
    /// documentation for the contract. Returns the new manifest; with no units, `manifest` unchanged.
    public static func apply(_ units: [ServiceUnit], format: PackageFormat, to spec: inout PackageSpec,
                             manifest: FileManifest) throws -> FileManifest {
        guard !units.isEmpty else { return manifest }
        var entries = manifest.entries
        var taken = Set(entries.map(\.path))
        var snippets: [ScriptHook: [String]] = [:]
        var purge: [String] = []
        for unit in units {
            let name = unit.serviceName
            guard !name.isEmpty, !name.contains("/"), name != ".", name != "..",
                  name.allSatisfy({ !$0.isWhitespace && $0 != "'" && $0 != "\\" && $0 != "\"" }) else {
                throw PkgLayerError(.invalidInput, "'\(name)' is not a usable service name (a file name without spaces or quotes)", at: unit.source)
            }
            let path = try ManifestPath.normalize(unit.installPath(format: format), field: unit.source)
            guard taken.insert(path).inserted else {
                throw PkgLayerError(.duplicatePath, "the package already holds this path, so the \(unit.kind.rawValue) file '\(unit.source)' cannot be installed there",
                                    at: path)
            }
            entries.append(try entry(for: unit, at: path, epoch: spec.sourceDateEpoch))
            let s = format == .deb ? debSnippets(unit) : rpmSnippets(unit)
            for (hook, text) in s.hooks { snippets[hook, default: []].append(text) }
            if let p = s.purge { purge.append(p) }
        }

        var scripts = spec.scripts
        for (install, upgrade) in [(ScriptHook.afterInstall, ScriptHook.afterUpgrade), (.beforeInstall, .beforeUpgrade)]
        where snippets[upgrade] != nil && scripts[upgrade] == nil && scripts[install] != nil {
            scripts[upgrade] = scripts[install]
        }
        for hook in ScriptHook.allCases {
            guard let added = snippets[hook] else { continue }
            let text = added.joined()
            let before = hook == .beforeUpgrade || hook == .beforeRemove || hook == .beforeInstall
            guard let combined = combine(existing: scripts[hook], added: text, prepend: before) else {
                throw PkgLayerError(.invalidInput, "the \(hook.rawValue) script is not a shell script, so pkglayer cannot add the service integration to it; write it for /bin/sh",
                                    at: hook.rawValue)
            }
            scripts[hook] = combined
        }
        spec.scripts = scripts
        if !purge.isEmpty {
            spec.extras.debAfterPurge = (spec.extras.debAfterPurge.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" } ?? "") + purge.joined()
        }
        return try FileManifest(entries: entries, implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
    }

    // MARK: - Files

    private static func entry(for unit: ServiceUnit, at path: String, epoch: SourceDateEpoch) throws -> ManifestEntry {
        var st = stat()
        guard stat(unit.source, &st) == 0 else { throw PkgLayerError.posix("stat", path: unit.source) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw PkgLayerError(.invalidInput, "is not a regular file; a \(unit.kind.rawValue) file must be one", at: unit.source)
        }
        let sha = try FileDigest.sha256Hex(path: unit.source)
        let underEtc = path.hasPrefix("/etc/")
        return ManifestEntry(path: path, kind: .file, mode: unit.kind == .sysvInit ? 0o755 : 0o644,
                             mtime: epoch.clamp(Int64(st.st_mtim.tv_sec)), size: UInt64(st.st_size), sha256: sha,
                             flags: underEtc ? [.config, .noReplace] : [], sourcePath: unit.source)
    }

    /// `existing` with `added` before or after it (after a `#!` line); nil when `existing` is for
    /// another interpreter.
    static func combine(existing: String?, added: String, prepend: Bool) -> String? {
        guard let existing, !existing.isEmpty else { return added }
        var shebang = ""
        var body = existing
        if existing.hasPrefix("#!") {
            let parts = existing.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let command = parts[0].dropFirst(2).trimmingCharacters(in: .whitespaces).split(separator: " ")
            var program = command.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
            if program == "env" { program = command.dropFirst().first { !$0.hasPrefix("-") }.map(String.init) ?? "" }
            guard ["sh", "bash", "dash", "ksh", "zsh", "ash"].contains(program) else { return nil }
            shebang = String(parts[0]) + "\n"
            body = parts.count > 1 ? String(parts[1]) : ""
        }
        if !body.isEmpty && !body.hasSuffix("\n") { body += "\n" }
        return prepend ? shebang + added + body : shebang + body + added
    }

    // MARK: - Snippets

    /// The guard every snippet that talks to systemd sits in.
    static let systemdGuard = "if [ -d /run/systemd/system ]; then"
    /// The guard for SysV init: systemd, or sysvinit's control fifo.
    static let sysvGuard = "if [ -d /run/systemd/system ] || [ -p /run/initctl ]; then"

    private static func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func debSnippets(_ unit: ServiceUnit) -> (hooks: [ScriptHook: String], purge: String?) {
        let name = unit.serviceName
        let header = "# \(unit.kind.rawValue) service \(name) (added by pkglayer, as debhelper writes it)\n"
        var hooks: [ScriptHook: String] = [:]
        switch unit.kind {
        case .systemd:
            let u = q(unit.unitFileName)
            func configure(upgrade: Bool) -> String {
                var t = header + systemdGuard + "\n"
                t += "  if command -v deb-systemd-helper >/dev/null 2>&1; then\n"
                t += "    deb-systemd-helper unmask \(u) >/dev/null || true\n"
                if unit.enable {
                    t += "    if deb-systemd-helper --quiet was-enabled \(u); then\n"
                    t += "      deb-systemd-helper enable \(u) >/dev/null || true\n"
                    t += "    else\n      deb-systemd-helper update-state \(u) >/dev/null || true\n    fi\n"
                } else {
                    t += "    deb-systemd-helper update-state \(u) >/dev/null || true\n"
                }
                t += "  fi\n"
                t += "  systemctl --system daemon-reload >/dev/null || true\n"
                if let action = action(unit, upgrade: upgrade) { t += "  deb-systemd-invoke \(action) \(u) >/dev/null || true\n" }
                return t + "fi\n"
            }
            hooks[.afterInstall] = configure(upgrade: false)
            hooks[.afterUpgrade] = configure(upgrade: true)
            if !unit.restartAfterUpgrade {
                hooks[.beforeUpgrade] = header + systemdGuard + "\n  deb-systemd-invoke stop \(u) >/dev/null || true\nfi\n"
            }
            hooks[.beforeRemove] = header + systemdGuard + "\n  deb-systemd-invoke stop \(u) >/dev/null || true\nfi\n"
            hooks[.afterRemove] = header + systemdGuard + "\n"
                + "  if command -v deb-systemd-helper >/dev/null 2>&1; then deb-systemd-helper disable \(u) >/dev/null || true; fi\n"
                + "  systemctl --system daemon-reload >/dev/null || true\nfi\n"
            let purge = header + systemdGuard + "\n  if command -v deb-systemd-helper >/dev/null 2>&1; then\n"
                + "    deb-systemd-helper purge \(u) >/dev/null || true\n    deb-systemd-helper unmask \(u) >/dev/null || true\n  fi\nfi\n"
            return (hooks, purge)
        case .sysvInit:
            let n = q(name)
            func configure(upgrade: Bool) -> String {
                var t = header + "if [ -x \"${DPKG_ROOT:-}/etc/init.d/\(name)\" ] && command -v update-rc.d >/dev/null 2>&1; then\n"
                t += unit.enable ? "  update-rc.d \(n) defaults >/dev/null || true\n" : "  update-rc.d \(n) defaults-disabled >/dev/null || true\n"
                t += "fi\n"
                if let action = action(unit, upgrade: upgrade) {
                    t += sysvGuard + "\n  invoke-rc.d \(n) \(action == "try-restart" ? "try-restart" : action) || true\nfi\n"
                }
                return t
            }
            hooks[.afterInstall] = configure(upgrade: false)
            hooks[.afterUpgrade] = configure(upgrade: true)
            if !unit.restartAfterUpgrade { hooks[.beforeUpgrade] = header + sysvGuard + "\n  invoke-rc.d \(n) stop || true\nfi\n" }
            hooks[.beforeRemove] = header + sysvGuard + "\n  invoke-rc.d \(n) stop || true\nfi\n"
            let purge = header + "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d \(n) remove >/dev/null || true; fi\n"
            return (hooks, purge)
        case .upstart, .defaults:
            return ([:], nil)
        }
    }

    static func rpmSnippets(_ unit: ServiceUnit) -> (hooks: [ScriptHook: String], purge: String?) {
        let name = unit.serviceName
        let header = "# \(unit.kind.rawValue) service \(name) (added by pkglayer, as rpm's %systemd_* macros do)\n"
        var hooks: [ScriptHook: String] = [:]
        switch unit.kind {
        case .systemd:
            let u = q(unit.unitFileName)
            var install = header + systemdGuard + "\n  systemctl --system daemon-reload >/dev/null 2>&1 || :\n"
            if unit.enable { install += "  systemctl --no-reload enable \(u) >/dev/null 2>&1 || :\n" }
            if let action = action(unit, upgrade: false) { install += "  systemctl \(action) \(u) >/dev/null 2>&1 || :\n" }
            hooks[.afterInstall] = install + "fi\n"
            var upgrade = header + systemdGuard + "\n  systemctl --system daemon-reload >/dev/null 2>&1 || :\n"
            if let action = action(unit, upgrade: true) { upgrade += "  systemctl \(action) \(u) >/dev/null 2>&1 || :\n" }
            hooks[.afterUpgrade] = upgrade + "fi\n"
            if !unit.restartAfterUpgrade {
                hooks[.beforeUpgrade] = header + systemdGuard + "\n  systemctl stop \(u) >/dev/null 2>&1 || :\nfi\n"
            }
            hooks[.beforeRemove] = header + systemdGuard + "\n  systemctl --no-reload disable --now \(u) >/dev/null 2>&1 || :\nfi\n"
            hooks[.afterRemove] = header + systemdGuard + "\n  systemctl --system daemon-reload >/dev/null 2>&1 || :\nfi\n"
        case .sysvInit:
            let n = q(name)
            func configure(upgrade: Bool) -> String {
                var t = header
                if !upgrade && unit.enable {
                    t += "if command -v chkconfig >/dev/null 2>&1; then chkconfig --add \(n) >/dev/null 2>&1 || :; fi\n"
                }
                if let action = action(unit, upgrade: upgrade) {
                    t += sysvGuard + "\n  service \(n) \(action == "try-restart" ? "condrestart" : action) >/dev/null 2>&1 || :\nfi\n"
                }
                return t
            }
            hooks[.afterInstall] = configure(upgrade: false)
            if action(unit, upgrade: true) != nil { hooks[.afterUpgrade] = configure(upgrade: true) }
            if !unit.restartAfterUpgrade { hooks[.beforeUpgrade] = header + sysvGuard + "\n  service \(n) stop >/dev/null 2>&1 || :\nfi\n" }
            hooks[.beforeRemove] = header + sysvGuard + "\n  service \(n) stop >/dev/null 2>&1 || :\nfi\n"
                + "if command -v chkconfig >/dev/null 2>&1; then chkconfig --del \(n) >/dev/null 2>&1 || :; fi\n"
        case .upstart, .defaults:
            break
        }
        return (hooks, nil)
    }

    /// What to do with the service after install or upgrade: start, restart, try-restart or nothing.
    private static func action(_ unit: ServiceUnit, upgrade: Bool) -> String? {
        if !upgrade { return unit.start ? "start" : nil }
        if unit.restartAfterUpgrade { return unit.start ? "restart" : "try-restart" }
        return unit.start ? "start" : nil
    }
}
