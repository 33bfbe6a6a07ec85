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
                  epoch: SourceDateEpoch, scratch: String, architecture: Architecture) throws -> FileManifest? {
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
            let etc = try accounts.etcFiles(passwd: nil, group: nil, origin: "\(spec.file): image.accounts")
            try add("/etc/passwd", etc.passwd)
            try add("/etc/group", etc.group)
            uids = etc.uids; gids = etc.gids
        }

        // The package database.
        switch spec.format {
        case .deb:
            let fragments = layers.compactMap { layer in
                layer.statusFragment.map { (name: layer.source.origin.name, architecture: layer.architecture, paragraph: $0) }
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

    /// Writes the outputs the spec asks for into the output directory; returns kind → path.
    func writeOutputs(_ spec: ImageSpec, image: AssembledImage, store: ImageStore, origins: [LayerOrigin],
                      epoch: SourceDateEpoch) throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let base = "\(options.outputDirectory)/\(Self.fileStem(spec))"
        var written: [String: String] = [:]
        let tagged = [TaggedImage(image, tag: spec.tag)]
        for output in ImageSpec.Output.allCases where spec.outputs.contains(output) {
            switch output {
            case .ociLayout:
                let path = "\(base).oci"
                try OCILayoutWriter.write(tagged, from: store.blobs, to: path, overwrite: options.overwrite)
                written[output.rawValue] = path
            case .ociArchive:
                let path = "\(base).oci.tar"
                try OCIArchiveWriter.write(tagged, from: store.blobs, to: path, epoch: epoch, overwrite: options.overwrite)
                written[output.rawValue] = path
            case .dockerArchive:
                let path = "\(base).docker.tar"
                try DockerArchiveWriter.write(image, repoTags: [spec.reference], from: store.blobs, to: path, epoch: epoch,
                                              overwrite: options.overwrite)
                written[output.rawValue] = path
            case .sbom:
                let path = "\(base).spdx.json"
                try SPDXDocument.write(name: spec.reference, image: image, packages: origins, epoch: epoch, to: path,
                                       overwrite: options.overwrite)
                written[output.rawValue] = path
            }
        }
        return written
    }

    /// `nginx-1.22.1` for `registry.example.com/team/nginx:1.22.1`.
    static func fileStem(_ spec: ImageSpec) -> String {
        let last = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
        return "\(last)-\(spec.tag)"
    }
}
