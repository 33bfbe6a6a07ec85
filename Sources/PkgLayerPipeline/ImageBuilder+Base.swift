import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerOCI
import PkgLayerRegistry

extension ImageBuilder {
    /// The image's base, its blobs linked into the store; nil for scratch.
    func resolveBase(_ spec: ImageSpec, store: ImageStore, architecture: Architecture) throws -> BaseImage? {
        do {
            switch spec.base {
            case .scratch:
                return nil
            case .ociLayout(let path, let tag):
                return try BaseImage.ociLayout(path: path, tag: tag, into: store.blobs, architecture: architecture)
            case .stored(let reference):
                try pullBaseIfNeeded(reference, store: store)
                return try BaseImage.resolve(reference, store: store, architecture: architecture, compressionLevel: Self.compressionLevel)
            case .rootfs(let path):
                guard FileManager.default.fileExists(atPath: path) else {
                    throw PkgLayerError(.invalidInput, "the rootfs tarball '\(path)' does not exist", at: "\(spec.file): image.base")
                }
                return try BaseImage.resolve(path, store: store, architecture: architecture, compressionLevel: Self.compressionLevel)
            }
        } catch var error as PkgLayerError {
            if error.location == nil || error.location?.isEmpty == true { error.location = "\(spec.file): image.base" }
            throw error
        }
    }

    /// What the base already has of the files the top layer rewrites whole (`/etc/passwd`,
    /// `/etc/group`, dpkg's `status`): the topmost layer's copy of each, so they are extended rather
    /// than replaced.
    func baseFiles(_ base: BaseImage?, store: ImageStore) throws -> [String: String] {
        guard let base else { return [:] }
        let wanted: Set<String> = ["/etc/passwd", "/etc/group", "/var/lib/dpkg/status"]
        var found: [String: String] = [:]
        for layer in base.layers {
            let reader = try ArchiveReader(path: store.blobs.path(for: layer.descriptor.digest))
            while let header = try reader.next() {
                guard header.isRegular, let path = try? ManifestPath.normalize(header.path, field: "base layer"), wanted.contains(path) else { continue }
                found[path] = String(decoding: try reader.readAll(limit: 64 << 20), as: UTF8.self)
            }
        }
        return found
    }

    /// The paragraphs of a dpkg status file as fragments (name, architecture, text).
    static func statusFragments(_ status: String) -> [(name: String, architecture: String, paragraph: String)] {
        status.components(separatedBy: "\n\n").compactMap { block in
            let paragraph = block.trimmingCharacters(in: .newlines)
            guard !paragraph.isEmpty, let fields = try? ControlParagraph(parsing: paragraph, location: "/var/lib/dpkg/status"),
                  let name = fields["Package"] else { return nil }
            return (name, fields["Architecture"] ?? "", paragraph + "\n")
        }
    }
}

extension ImageBuilder {
    /// `base: HOST[:PORT]/REPO[:TAG|@sha256:…]` names a registry image: pulled into the local store under
    /// that name unless it is there already (offline, only the store is used). A Docker Hub-style short
    /// name (`debian:12`, `library/debian`) is not guessed into a registry: pkglayer assumes none.
    func pullBaseIfNeeded(_ reference: String, store: ImageStore) throws {
        if try store.lookup(reference) != nil { return }
        let first = reference.split(separator: "/").first.map(String.init) ?? ""
        let namesRegistry = reference.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        guard namesRegistry else {
            if reference.contains("/") || reference.contains(":") {
                throw PkgLayerError(.invalidInput, "'\(reference)' is not in the local store, and it names no registry; pkglayer assumes no default registry: write HOST/REPOSITORY:TAG (for Docker Hub: docker.io/library/\(reference.split(separator: "/").last ?? ""))")
            }
            return
        }
        guard !options.offline else {
            throw PkgLayerError(.invalidInput, "'\(reference)' is not in the local store and --offline forbids pulling it; pull it first with pkglayer pull \(reference)")
        }
        let parsed = try RegistryReference(parsing: reference)
        let scratch = try TemporaryDirectory(prefix: "pkglayer-base")
        let pulled = try Progress.stage(Stage.pull, reference) {
            try Registry.pull(parsed, into: scratch.path + "/layout", tag: "base", options: options.registry)
        }
        try store.add(layout: pulled.layout, tag: pulled.tag, as: reference)
        Progress.note("pulled the base \(reference) (\(pulled.digest))")
    }
}

