import Foundation
import PkgLayerArchive
import PkgLayerCore

/// What one output format gets beyond the shared spec and manifest: its own dependency options,
/// templated scripts, services, changelog files, file ownership and directory options.
extension PackageJob {
    func adapt(_ spec: inout PackageSpec, _ manifest: inout FileManifest, for target: PackageFormat, workdir: String) throws {
        let rpm = request.rpm, deb = request.deb
        switch target {
        case .rpm:
            if let dist = rpm.dist, !dist.isEmpty {
                let tag = dist.hasPrefix(".") ? String(dist.dropFirst()) : dist
                spec.release = (spec.release ?? "1") + "." + tag
            }
            try adaptRPMDependencies(&spec, manifest: manifest)
        case .deb:
            spec.name = debianName(spec.name)
            adaptDebDependencies(&spec)
        }
        if request.templateScripts { try renderTemplates(&spec, target: target) }

        // Services: fpm's --deb-systemd/-init/-default/-upstart and --rpm-init.
        var units: [ServiceUnit] = []
        if target == .deb {
            let dir = "/" + deb.systemdPath.drop(while: { $0 == "/" })
            units += deb.systemd.map {
                ServiceUnit(kind: .systemd, source: $0, directory: dir, enable: deb.systemdEnable, start: deb.systemdAutoStart,
                            restartAfterUpgrade: deb.systemdRestartAfterUpgrade)
            }
            units += deb.initScripts.map { ServiceUnit(kind: .sysvInit, source: $0, enable: true, start: false) }
            units += deb.defaults.map { ServiceUnit(kind: .defaults, source: $0) }
            units += deb.upstarts.map { ServiceUnit(kind: .upstart, source: $0) }
        } else {
            units += rpm.initScripts.map { ServiceUnit(kind: .sysvInit, source: $0, enable: true, start: false) }
        }
        if !units.isEmpty {
            let before = Set(manifest.entries.map(\.path))
            manifest = try ServiceIntegration.apply(units, format: target, to: &spec, manifest: manifest)
            if target == .deb && !deb.autoConfigFiles {
                // --no-deb-auto-config-files: init, default and upstart files are plain files.
                manifest = manifest.mapEntries { entry in
                    if !before.contains(entry.path) && entry.kind == .file && !request.configFiles.contains(where: { Glob($0).matches(entry.path) }) {
                        entry.flags.subtract([.config, .noReplace])
                    }
                }
            }
        }

        if target == .deb {
            var added: [ManifestEntry] = []
            if let file = deb.changelog {
                added.append(try gzippedDoc(file, as: "/usr/share/doc/\(spec.name)/changelog.Debian.gz", spec: spec, workdir: workdir, flag: "--deb-changelog"))
            }
            if let file = deb.upstreamChangelog {
                added.append(try gzippedDoc(file, as: "/usr/share/doc/\(spec.name)/changelog.gz", spec: spec, workdir: workdir, flag: "--deb-upstream-changelog"))
            }
            if !added.isEmpty {
                let paths = Set(added.map(\.path))
                manifest = try FileManifest(entries: manifest.entries.filter { !paths.contains($0.path) } + added,
                                            implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
            }
        }

        // Ownership and modes.
        let keepOwners = target == .rpm ? rpm.useFilePermissions : deb.useFilePermissions
        if request.rpm.useFilePermissions || request.deb.useFilePermissions {
            manifest = manifest.mapEntries { entry in
                if keepOwners {
                    entry.user = Self.userName(entry.uid)
                    entry.group = Self.groupName(entry.gid)
                } else {
                    entry.uid = 0; entry.gid = 0; entry.user = "root"; entry.group = "root"
                }
            }
        }
        if target == .rpm {
            let fileMode = try Self.defattr(rpm.defattrFile, flag: "--rpm-defattrfile")
            let dirMode = try Self.defattr(rpm.defattrDir, flag: "--rpm-defattrdir")
            if fileMode != nil || dirMode != nil {
                manifest = manifest.mapEntries { entry in
                    if entry.kind == .file || entry.kind == .hardlink, let fileMode { entry.mode = fileMode }
                    if entry.kind == .directory, !entry.isImplicitDirectory, let dirMode { entry.mode = dirMode }
                }
            }
            if rpm.autoAddDirectories {
                let excluded = Set(try rpm.autoAddExcludeDirectories.map { try ManifestPath.normalize($0, field: "--rpm-auto-add-exclude-directories") })
                manifest = manifest.mapEntries { entry in
                    guard entry.kind == .directory else { return }
                    if excluded.contains(entry.path) { entry.isImplicitDirectory = true }
                    else if !StandardDirectories.all.contains(entry.path) { entry.isImplicitDirectory = false }
                }
            }
        }
    }

    /// `--rpm-defattrfile`/`--rpm-defattrdir`: an octal mode, or `-` to keep the files' own.
    static func defattr(_ text: String?, flag: String) throws -> UInt32? {
        guard let text, text != "-" else { return nil }
        guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
            throw PkgLayerError(.usage, "'\(text)' is not an octal mode (like 0644) or '-'", at: flag)
        }
        return mode
    }

    static func userName(_ uid: UInt32) -> String {
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return String(uid) }
        return String(cString: name)
    }

    static func groupName(_ gid: UInt32) -> String {
        guard let gr = getgrgid(gid), let name = gr.pointee.gr_name else { return String(gid) }
        return String(cString: name)
    }

    /// A file gzipped (reproducibly: no name, the clock's time) into the work directory, as a manifest entry.
    func gzippedDoc(_ file: String, as path: String, spec: PackageSpec, workdir: String, flag: String) throws -> ManifestEntry {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PkgLayerError(.usage, "cannot read '\(file)'", at: flag)
        }
        let out = (workdir as NSString).appendingPathComponent("doc-\(UUID().uuidString.prefix(8))-" + (path as NSString).lastPathComponent)
        let collected = CollectingSink()
        let gzip = try Compression.gzip(level: 9).makeSink(wrapping: collected, threads: 1)
        try data.withUnsafeBytes { try gzip.write($0) }
        try gzip.finish()
        guard FileManager.default.createFile(atPath: out, contents: Data(collected.bytes)) else {
            throw PkgLayerError.posix("create", path: out)
        }
        return ManifestEntry(path: path, kind: .file, mode: 0o644, mtime: spec.sourceDateEpoch.seconds, size: UInt64(collected.bytes.count),
                             sha256: Digest.sha256(collected.bytes).hex, flags: [.doc], sourcePath: out)
    }
}

/// Bytes in memory (a gzipped changelog is small).
final class CollectingSink: ByteSink {
    var bytes: [UInt8] = []
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    func finish() throws {}
}

extension PackageJob {
    /// fpm's rule for a deb's name: dpkg and apt want lower case and no `_`, so `MyApp` becomes `myapp`
    /// and `my_app` becomes `my-app`, each with fpm's warning, instead of a refusal.
    func debianName(_ name: String) -> String {
        var result = name
        if result != result.lowercased() {
            result = result.lowercased()
            logger.warning("Debian tools (dpkg, apt) do not handle capital letters in package names well; the deb's name is '\(result)' (was '\(name)')")
        }
        if result.contains("_") {
            result = result.replacingOccurrences(of: "_", with: "-")
            logger.warning("Debian package names cannot include underscores; the deb's name is '\(result)' (converted '_' to '-', as fpm does)")
        }
        return result
    }
}
