import Foundation
import PkgLayerArchive
import PkgLayerBuild
import PkgLayerCore
import PkgLayerDeb
import PkgLayerOCI
import PkgLayerRPM

/// `scripts: run`: each package's post-install script runs in a network-off bubblewrap sandbox over the
/// assembled root file system, in layer order; what they change becomes one extra layer. The whole
/// thing runs twice, on two fresh roots, and a difference between the two is reported: a script that
/// writes the time or a random id makes the image irreproducible.
extension ImageBuilder {
    struct ScriptRun {
        var manifest: FileManifest
        var ran: [String]
        var deleted: [String]
    }

    func runScripts(image: AssembledImage, store: ImageStore, layers: [PackageLayer], format: PackageFormat,
                    epoch: SourceDateEpoch, scratch: String) throws -> LayerSource? {
        let first = try runScriptsOnce(image: image, store: store, layers: layers, format: format, epoch: epoch, root: "\(scratch)/a")
        guard !first.ran.isEmpty else {
            Progress.note("scripts: run: no package has a post-install script")
            return nil
        }
        let second = try runScriptsOnce(image: image, store: store, layers: layers, format: format, epoch: epoch, root: "\(scratch)/b")
        let differing = Self.differences(first.manifest, second.manifest)
        if !differing.isEmpty {
            logger.warning("the post-install scripts changed different things on a second run (\(differing.prefix(5).joined(separator: ", "))\(differing.count > 5 ? ", …" : "")); the image will not be reproducible")
        }
        for path in first.deleted {
            logger.warning("a post-install script removed \(path); removals are not recorded in the scripts layer")
        }
        Progress.note("scripts: ran the post-install scripts of \(first.ran.joined(separator: ", ")): \(first.manifest.count) paths changed")
        return LayerSource(manifest: first.manifest, origin: LayerOrigin(name: "post-install scripts"),
                           comment: "post-install scripts of " + first.ran.joined(separator: ", "))
    }

    /// One run over a fresh root. The root is shaped by the base and the packages, so pkglayer itself
    /// never follows a link in it: it unpacks, writes the rpm script and removes things through
    /// descriptors (`SafeDirectory`), and resolves the paths it looks for as the sandbox would, with
    /// the root as `/` (`RootfsSandbox.contains`).
    private func runScriptsOnce(image: AssembledImage, store: ImageStore, layers: [PackageLayer], format: PackageFormat,
                                epoch: SourceDateEpoch, root: String) throws -> ScriptRun {
        let rootfs = "\(root)/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        for (index, layer) in image.layers.enumerated() {
            do {
                try Self.unpack(layer: store.blobs.path(for: layer.descriptor.digest), into: rootfs)
            } catch var error as PkgLayerError {
                error.location = "image.scripts: layer \(index + 1) of \(image.layers.count) (\(layer.descriptor.digest))"
                error.message += "; scripts: run unpacks every layer into one root and refuses this layer. Fix or replace the base image or package that holds it, or use scripts: none"
                throw error
            }
        }
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw PkgLayerError.posix("open", path: rootfs) }
        defer { close(rootFD) }
        let scriptPath = "/.pkglayer-postinst"
        let scriptName = String(scriptPath.dropFirst())
        let snapshotExcludes = [Glob(scriptPath)]
        let before = Dictionary(uniqueKeysWithValues: try ManifestBuilder.snapshot(of: rootfs, excluding: snapshotExcludes)
            .entries.map { ($0.path, $0) })
        let sandbox = RootfsSandbox(rootfs: rootfs, environment: ["DPKG_MAINTSCRIPT_NAME": "postinst", "DEBIAN_FRONTEND": "noninteractive"],
                                    sourceDateEpoch: epoch)
        var ran: [String] = []
        for layer in layers {
            let name = layer.source.origin.name
            var command: [String]
            switch format {
            case .deb:
                let multiArch = layer.statusFragment.flatMap { try? ControlParagraph(parsing: $0, location: name)["Multi-Arch"] }
                let infoName = multiArch == "same" ? "\(name):\(layer.architecture)" : name
                let script = "/var/lib/dpkg/info/\(infoName).postinst"
                guard sandbox.contains(script) else { continue }
                command = [script, "configure", ""]
            case .rpm:
                guard let text = try RPMReader().read(path: layer.package.path).spec.scripts[.afterInstall] else { continue }
                try Self.writeScript(text, named: scriptName, in: rootFD, location: rootfs + scriptPath)
                command = ["/bin/sh", scriptPath, "1"]
            }
            if !sandbox.contains("/bin/sh") {
                throw PkgLayerError(.invalidInput, "\(name) has a post-install script, but the image has no /bin/sh to run it; add a shell package (dash, busybox) or use scripts: none",
                                    at: "image.scripts")
            }
            let result = try sandbox.run(command)
            try SafeDirectory.remove(scriptName, in: rootFD, location: rootfs + scriptPath)
            guard result.exit.succeeded else {
                throw PkgLayerError(.invalidInput, "the post-install script of \(name) failed (\(result.exit)) in the image's sandbox:\n\(result.output.suffix(2000))",
                                    at: "image.scripts")
            }
            ran.append(name)
        }
        let after = try ManifestBuilder.snapshot(of: rootfs, excluding: snapshotExcludes).entries
        var entries: [ManifestEntry] = []
        for now in after where before[now.path] != now {
            var entry = ManifestEntry(path: now.path, kind: now.kind, mode: now.mode, uid: now.uid, gid: now.gid,
                                      mtime: epoch.clamp(now.mtime), size: now.kind == .file ? now.size : 0,
                                      linkTarget: now.linkTarget, sourcePath: rootfs + now.path)
            if now.kind == .file { entry.sha256 = try FileDigest.sha256Hex(path: rootfs + now.path) }
            entries.append(entry)
        }
        let remaining = Set(after.map(\.path))
        let deleted = before.keys.filter { !remaining.contains($0) }.sorted()
        return ScriptRun(manifest: try FileManifest(entries: entries, implicitDirectoryMtime: epoch.seconds), ran: ran, deleted: deleted)
    }

    /// Stacks one layer blob onto `rootfs`: a later layer replaces what a lower one put at the same path.
    ///
    /// A lower layer may have planted any symlink (`x -> /`), so what is at a member's path is found
    /// and removed relative to its parent directory, opened from the root without following a link
    /// on the way; a parent that is a symlink is left to the extractor, which refuses the member.
    static func unpack(layer blob: String, into rootfs: String) throws {
        let reader = try ArchiveReader(path: blob)
        let extractor = try ArchiveExtractor(root: rootfs, archiveName: blob)
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw PkgLayerError.posix("open", path: rootfs) }
        defer { close(rootFD) }
        while let header = try reader.next() {
            let path = try ManifestPath.normalize(header.path, field: blob)
            if path != "/", let parentFD = try? SafeDirectory.open(String(ManifestPath.parent(of: path).dropFirst()), beneath: rootFD,
                                                                  create: false, location: "\(blob): \(path)") {
                defer { close(parentFD) }
                let name = ManifestPath.basename(of: path)
                var st = stat()
                if fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    // A directory over a directory merges; anything else replaces what was there.
                    if header.isDirectory && st.st_mode & S_IFMT == S_IFDIR { continue }
                    try SafeDirectory.remove(name, in: parentFD, location: "\(blob): \(path)")
                }
            }
            try extractor.extract(header, from: reader)
        }
    }

    /// Writes an rpm's post-install script as `name` in the root (mode 0755): whatever is there (a
    /// file, a symlink the base or a package planted) is removed first and the script is created
    /// with O_CREAT | O_EXCL | O_NOFOLLOW, so it can only land in the root.
    static func writeScript(_ text: String, named name: String, in rootFD: Int32, location: String) throws {
        try SafeDirectory.remove(name, in: rootFD, location: location)
        let fd = openat(rootFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("create", path: location) }
        defer { close(fd) }
        try Array(text.utf8).withUnsafeBytes { try FileWriter.writeAll(fd, $0, path: location) }
        guard fchmod(fd, 0o755) == 0 else { throw PkgLayerError.posix("chmod", path: location) }
    }

    /// Paths whose entries differ between two script layers.
    static func differences(_ a: FileManifest, _ b: FileManifest) -> [String] {
        func key(_ e: ManifestEntry) -> String { "\(e.kind) \(e.mode) \(e.uid) \(e.gid) \(e.mtime) \(e.sha256 ?? "") \(e.linkTarget ?? "")" }
        let left = Dictionary(a.entries.map { ($0.path, key($0)) }, uniquingKeysWith: { x, _ in x })
        let right = Dictionary(b.entries.map { ($0.path, key($0)) }, uniquingKeysWith: { x, _ in x })
        return Set(left.keys).union(right.keys).filter { left[$0] != right[$0] }.sorted()
    }
}
