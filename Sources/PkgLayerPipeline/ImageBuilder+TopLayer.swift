import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerOCI
import PkgLayerRPM

extension ImageBuilder {
    /// The image's own files, stacked last: /etc/passwd and /etc/group for the declared accounts, the
    /// combined package database (dpkg `status` + `info/format`, or the rpmdb), and `files:`.
    /// nil when there is nothing to put there.
    func topLayer(_ spec: ImageSpec, packages: [ImagePackage], layers: [PackageLayer], packageAccounts: Accounts,
                  epoch: SourceDateEpoch, scratch: String, architecture: Architecture,
                  baseFiles: [String: String] = [:]) throws -> FileManifest? {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var entries: [ManifestEntry] = []
        func add(_ path: String, _ text: String, mode: UInt32 = 0o644) throws {
            let staged = "\(scratch)/files\(path)"
            try FileManager.default.createDirectory(atPath: (staged as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let bytes = Array(text.utf8)
            guard FileManager.default.createFile(atPath: staged, contents: Data(bytes)) else {
                throw PkgLayerError.posix("writing", path: staged)
            }
            entries.append(ManifestEntry(path: path, kind: .file, mode: mode, mtime: epoch.seconds, size: UInt64(bytes.count),
                                         sha256: Digest.sha256(bytes).hex, sourcePath: staged))
        }

        // Accounts: the image's own, then those the recipe's packages declare.
        let accounts = spec.accounts.merged(with: packageAccounts)
        var uids: [String: UInt32] = ["root": 0], gids: [String: UInt32] = ["root": 0]
        if !accounts.isEmpty {
            let etc = try accounts.etcFiles(passwd: baseFiles["/etc/passwd"], group: baseFiles["/etc/group"],
                                            origin: "\(spec.file): image.accounts")
            try add("/etc/passwd", etc.passwd)
            try add("/etc/group", etc.group)
            uids = etc.uids; gids = etc.gids
        }

        // The package database.
        switch spec.format {
        case .deb:
            var fragments = layers.compactMap { layer in
                layer.statusFragment.map { (name: layer.source.origin.name, architecture: layer.architecture, paragraph: $0) }
            }
            // The base's own packages stay listed, unless a package of the image replaces them.
            let ours = Set(fragments.map { "\($0.name):\($0.architecture)" })
            for old in Self.statusFragments(baseFiles["/var/lib/dpkg/status"] ?? "") where !ours.contains("\(old.name):\(old.architecture)") {
                fragments.append(old)
            }
            if !fragments.isEmpty {
                let database = DpkgDatabase()
                for file in database.adminFiles(status: try database.status(fragments: fragments)) {
                    try add(file.path, String(decoding: file.contents, as: UTF8.self), mode: file.mode)
                }
            }
        case .rpm:
            if !packages.isEmpty {
                let result = try RPMDatabase(dbPath: RPMDatabase.defaultPath, sourceDateEpoch: epoch)
                    .write(packages: packages.map(\.path), root: "\(scratch)/rpmroot")
                entries += try result.manifestEntries()
            }
        }

        // A scratch image gets the directories programs expect to write to (/tmp, /run), as distroless
        // images do; a base image brings its own.
        if spec.base == .scratch {
            entries.append(ManifestEntry(path: "/tmp", kind: .directory, mode: 0o1777, mtime: epoch.seconds))
            entries.append(ManifestEntry(path: "/run", kind: .directory, mode: 0o755, mtime: epoch.seconds))
        }

        // files:
        for copy in spec.files {
            entries += try fileEntries(copy, uids: uids, gids: gids, epoch: epoch)
        }
        do {
            return try FileManifest(entries: entries, implicitDirectoryMtime: epoch.seconds)
        } catch var error as PkgLayerError {
            error.message += " (in the image's top layer: accounts, package database and files: from \(spec.file))"
            throw error
        }
    }

    /// The entries for one `files:` item: a file, or a directory copied with what lies below it.
    private func fileEntries(_ copy: ImageSpec.FileCopy, uids: [String: UInt32], gids: [String: UInt32],
                             epoch: SourceDateEpoch) throws -> [ManifestEntry] {
        func resolve(_ owner: Owner, _ ids: [String: UInt32], kind: String) throws -> Owner {
            var owner = owner
            if owner.id == 0 && owner.name != "root" && UInt32(owner.name) == nil {
                guard let id = ids[owner.name] else {
                    throw PkgLayerError(.invalidInput, "\(kind) '\(owner.name)' has no id in the image; declare it under accounts", at: copy.origin)
                }
                owner.id = id
            }
            return owner
        }
        let user = try resolve(copy.owner, uids, kind: "user"), group = try resolve(copy.group, gids, kind: "group")
        var builder = ManifestBuilder(inputs: [.init(source: copy.source, destination: copy.destination)])
        builder.defaultUser = user
        builder.defaultGroup = group
        builder.autoConfigUnderEtc = false
        builder.sourceDateEpoch = epoch
        let built: FileManifest
        do {
            built = try builder.build().manifest
        } catch var error as PkgLayerError {
            error.location = "\(copy.origin) (\(copy.source))"
            throw error
        }
        return built.entries.compactMap { entry in
            // Parent directories the builder added belong to whatever the lower layers say.
            if entry.isImplicitDirectory { return nil }
            var entry = entry
            entry.mtime = epoch.clamp(entry.mtime)
            if let mode = copy.mode, entry.kind == .file || entry.kind == .hardlink { entry.mode = mode }
            if entry.kind == .directory, copy.mode != nil { entry.mode = 0o755 }
            return entry
        }
    }

    /// Writes the outputs the spec asks for into the output directory; returns kind → path. An output
    /// that already holds this image (recorded in the cache when it was written, and untouched since:
    /// same inode, size and mtime) is left as it is, so a no-op build rewrites nothing.
    func writeOutputs(_ spec: ImageSpec, image: AssembledImage, store: ImageStore, origins: [LayerOrigin],
                      epoch: SourceDateEpoch) throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let base = "\(options.outputDirectory)/\(Self.fileStem(spec))"
        var written: [String: String] = [:]
        let tagged = [TaggedImage(image, tag: spec.tag)]
        let records = OutputRecords(directory: (store.cacheRoot as NSString).appendingPathComponent("image-outputs"))
        let originsText = origins.map { "\($0.name) \($0.version ?? "") \($0.license ?? "") \($0.packageSHA256 ?? "")" }.joined(separator: "\n")
        for output in ImageSpec.Output.allCases where spec.outputs.contains(output) {
            let path: String
            switch output {
            case .ociLayout: path = "\(base).oci"
            case .ociArchive: path = "\(base).oci.tar"
            case .dockerArchive: path = "\(base).docker.tar"
            case .sbom: path = "\(base).spdx.json"
            }
            written[output.rawValue] = path
            let identity = "\(output.rawValue) \(image.manifest.digest) \(spec.reference)\n\(output == .sbom ? originsText : "")"
            if records.isCurrent(path, identity: identity) { continue }
            switch output {
            case .ociLayout:
                try OCILayoutWriter.write(tagged, from: store.blobs, to: path, overwrite: options.overwrite)
            case .ociArchive:
                try OCIArchiveWriter.write(tagged, from: store.blobs, to: path, epoch: epoch, overwrite: options.overwrite)
            case .dockerArchive:
                try DockerArchiveWriter.write(image, repoTags: [spec.reference], from: store.blobs, to: path, epoch: epoch,
                                              overwrite: options.overwrite)
            case .sbom:
                try SPDXDocument.write(name: spec.reference, image: image, packages: origins, epoch: epoch, to: path,
                                       overwrite: options.overwrite)
            }
            records.record(path, identity: identity)
        }
        return written
    }

    /// `nginx-1.22.1` for `registry.example.com/team/nginx:1.22.1`.
    static func fileStem(_ spec: ImageSpec) -> String {
        let last = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
        return "\(last)-\(spec.tag)"
    }
}

/// What pkglayer last wrote at an output path, keyed by the path: the image it holds and the file's
/// inode, size and mtime then. Any change to the file (or a different image) means it is written again.
struct OutputRecords {
    let directory: String

    private func recordPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "\(directory)/\(Digest.sha256(Data((absolute as NSString).standardizingPath.utf8)).hex)"
    }

    private func stamp(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        // A layout is a directory: its index.json changes whenever it is rewritten.
        if st.st_mode & S_IFMT == S_IFDIR {
            guard lstat("\(path)/index.json", &st) == 0 else { return nil }
        }
        return "\(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    func isCurrent(_ path: String, identity: String) -> Bool {
        guard let stamp = stamp(path), let text = try? String(contentsOfFile: recordPath(path), encoding: .utf8) else { return false }
        return text == identity + "\n" + stamp
    }

    func record(_ path: String, identity: String) {
        guard let stamp = stamp(path) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let file = try? AtomicFile(path: recordPath(path), overwrite: true) {
            try? file.write(identity + "\n" + stamp)
            try? file.commit()
        }
    }
}
