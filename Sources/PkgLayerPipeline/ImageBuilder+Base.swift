import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerOCI
import PkgLayerRegistry
import PkgLayerRepositories

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
                if Self.namesRegistry(reference) {
                    return try registryBase(reference, spec: spec, store: store, architecture: architecture)
                }
                if try store.lookup(reference) == nil, !FileManager.default.fileExists(atPath: reference) {
                    throw Self.unknownLocalBase(reference)
                }
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
    ///
    /// On the way, every member of every base layer passes `LayerMemberCheck` (no `..` or absolute
    /// names, no device nodes, nothing beneath an earlier symlink, hardlinks only to earlier files):
    /// a base that reached the store or a layout without `pkglayer pull`'s check is refused here,
    /// before any image is assembled on it, with the base, layer and member named.
    func baseFiles(_ base: BaseImage?, store: ImageStore) throws -> [String: String] {
        guard let base else { return [:] }
        let wanted: Set<String> = ["/etc/passwd", "/etc/group", "/var/lib/dpkg/status"]
        var found: [String: String] = [:]
        var check = LayerMemberCheck(image: "the base \(base.name)", layerCount: base.layers.count)
        for layer in base.layers {
            let digest = layer.descriptor.digest
            check.beginLayer(digest)
            let reader: ArchiveReader
            do {
                reader = try ArchiveReader(path: store.blobs.path(for: digest))
            } catch let error as PkgLayerError {
                throw PkgLayerError(.invalidInput, "the base's layer is not a readable tar (gzip, zstd or uncompressed)",
                                    at: "the base \(base.name): layer \(digest)", cause: error)
            }
            while let header = try reader.next() {
                try check.admit(header)
                guard header.isRegular, header.hardlinkTarget == nil, let path = try? ManifestPath.normalize(header.path, field: "base layer"),
                      wanted.contains(path) else { continue }
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

/// Registry bases, pinned by the lockfile.
///
/// `base: HOST[:PORT]/REPO[:TAG|@sha256:…]` names a registry image. It is resolved to the manifest
/// digest for the image's platform, and that digest goes into the lockfile the build writes
/// (`OUT/NAME.lock.json`, `base: {reference, digest}`). The rule:
/// - With a lockfile that pins this reference (the one the packages read: `--lockfile`, the image's
///   own, or the output folder's while it is young), exactly the pinned digest is used: from the local
///   store when any stored image has it (no registry is contacted), else pulled as `HOST/REPO@DIGEST`
///   and stored as `HOST/REPO:sha256-HEX`. A tag that moved on the registry changes nothing.
/// - Without one, a tag is taken from the store when the store has that name, else pulled by tag into
///   the store under that name; `--refresh` pulls the tag again whatever the store or lockfile holds.
/// - `@sha256:…` as written is that image, from the store or pulled.
/// A Docker Hub-style short name (`debian:12`, `library/debian`) is not guessed into a registry:
/// pkglayer assumes none.
extension ImageBuilder {
    /// Whether `reference` starts with a registry host (`host.domain/…`, `host:port/…`, `localhost/…`);
    /// a path (`./base.tar`, or one that exists) does not.
    static func namesRegistry(_ reference: String) -> Bool {
        let components = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count > 1, let first = components.first, first != ".", first != "..",
              !FileManager.default.fileExists(atPath: reference) else { return false }
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    /// The image's base reference when it names a registry.
    func registryBaseReference(_ spec: ImageSpec) -> String? {
        if case .stored(let reference) = spec.base, Self.namesRegistry(reference) { return reference }
        return nil
    }

    /// A base that is neither in the store nor names a registry (`nginx`, `debian:12`).
    static func unknownLocalBase(_ reference: String) -> PkgLayerError {
        let hub = reference.contains("/") ? "docker.io/\(reference)" : "docker.io/library/\(reference)"
        return PkgLayerError(.invalidInput, """
            '\(reference)' is not in the local store, and it names no registry; pkglayer assumes no default registry: \
            write HOST/REPOSITORY:TAG (for Docker Hub: \(hub)), or give a local image that name (pkglayer import, load or tag)
            """)
    }

    /// The registry base, resolved as the rule above says, its blobs in the store; records it in the lockfile.
    func registryBase(_ reference: String, spec: ImageSpec, store: ImageStore, architecture: Architecture) throws -> BaseImage {
        let parsed = try RegistryReference(parsing: reference)
        let archName = spec.format == .deb ? architecture.deb : architecture.rpm
        // The base's name in the image (org.opencontainers.image.base.name): the same however it was found.
        let name = parsed.digest == nil ? try ImageReference.normalize(reference) : reference

        var pin: (digest: Digest, lockfile: String)?
        if let lockfile = lockfileToRead(spec).path, FileManager.default.fileExists(atPath: lockfile),
           case let lock = try Lockfile.read(path: lockfile), let recorded = lock.base {
            if recorded.reference == reference, lock.architecture == archName, let digest = Digest(parsing: recorded.digest) {
                pin = (digest, lockfile)
            } else {
                Progress.note("the lockfile \(lockfile) pins the base \(recorded.reference) (\(lock.architecture)); the image names \(reference) (\(archName)): resolving it again")
            }
        }

        let stored: StoredImage
        if let pin {
            stored = try pinnedBase(parsed, reference: reference, digest: pin.digest, lockfile: pin.lockfile, store: store, architecture: architecture)
        } else if let digest = parsed.digest {
            if let found = try Self.stored(digest, of: parsed, in: store) {
                stored = found
            } else {
                guard !options.offline else {
                    throw PkgLayerError(.invalidInput, "'\(reference)' is not in the local store and --offline forbids pulling it; pull it first with pkglayer pull \(reference)")
                }
                stored = try pullBase(parsed, storeAs: Self.digestName(parsed, digest), store: store, architecture: architecture, note: "")
            }
        } else if let found = try store.lookup(reference), !options.refresh || options.offline {
            if options.refresh { Progress.note("--offline: the base \(reference) is taken from the local store, not resolved again") }
            stored = found
        } else {
            guard !options.offline else {
                throw PkgLayerError(.invalidInput, "'\(reference)' is not in the local store and --offline forbids pulling it; pull it first with pkglayer pull \(reference)")
            }
            stored = try pullBase(parsed, storeAs: reference, store: store, architecture: architecture, note: "")
        }
        let base = try BaseImage.fromManifest(stored.manifest, in: store.blobs, into: store.blobs, name: name, architecture: architecture)
        try recordBase(Lockfile.Base(reference: reference, digest: base.manifestDigest.description), spec: spec, architecture: archName)
        return base
    }

    /// The pinned digest: from the store when it has it, else pulled by digest; a clear error when neither works.
    func pinnedBase(_ parsed: RegistryReference, reference: String, digest: Digest, lockfile: String, store: ImageStore,
                    architecture: Architecture) throws -> StoredImage {
        if let found = try Self.stored(digest, of: parsed, in: store) {
            Progress.note("using the base \(reference) at \(digest) from the local store (pinned by \(lockfile))")
            return found
        }
        var byDigest = parsed
        byDigest.tag = nil
        byDigest.digest = digest
        guard !options.offline else {
            throw PkgLayerError(.invalidInput, """
                pins the base \(reference) at \(digest), which is not in the local store, and --offline forbids pulling it; \
                pull it with pkglayer pull \(byDigest), or build once online
                """, at: lockfile)
        }
        do {
            return try pullBase(byDigest, storeAs: Self.digestName(parsed, digest), store: store, architecture: architecture,
                                note: " for \(reference), pinned by \(lockfile)")
        } catch let refused as PkgLayerError where ![PkgLayerError.Code.registry, .auth].contains(refused.code) {
            // Pulled but refused (a hostile layer, a wrong platform): not a reachability problem.
            throw refused
        } catch {
            throw PkgLayerError(.registry, """
                pins the base \(reference) at \(digest), which is not in the local store and could not be pulled from \(parsed.registry); \
                make the registry reachable (or pull it with pkglayer pull \(byDigest)), or resolve the tag again with --refresh
                """, at: lockfile, cause: error as? PkgLayerError)
        }
    }

    /// A stored image with manifest `digest`, or stored under the name a pull by that digest gives it.
    static func stored(_ digest: Digest, of parsed: RegistryReference, in store: ImageStore) throws -> StoredImage? {
        if let image = try store.list().first(where: { $0.manifest.digest == digest }) { return image }
        return try store.lookup(digestName(parsed, digest))
    }

    /// The store name of an image pulled by digest: `HOST/REPO:sha256-HEX` (a store name needs a tag,
    /// and moving the tag the image file names to an older digest would misstate the registry).
    static func digestName(_ parsed: RegistryReference, _ digest: Digest) -> String {
        "\(parsed.registry)/\(parsed.repository):\(digest.algorithm)-\(digest.hex)"
    }

    /// Pulls `parsed` (the manifest for the image's platform) into the store under `name`.
    func pullBase(_ parsed: RegistryReference, storeAs name: String, store: ImageStore, architecture: Architecture,
                  note: String) throws -> StoredImage {
        var registry = options.registry
        if registry.platform == nil { registry.platform = OCIPlatform(architecture) }
        let scratch = try TemporaryDirectory(prefix: "pkglayer-base")
        let pulled = try Progress.stage(Stage.pull, parsed.description) {
            try Registry.pull(parsed, into: scratch.path + "/layout", tag: "base", options: registry)
        }
        if let wanted = parsed.digest, pulled.digest != wanted, pulled.resolvedDigest != wanted {
            throw PkgLayerError(.registry, "the registry served \(pulled.digest) for \(wanted)", at: parsed.description)
        }
        let stored = try store.add(layout: pulled.layout, tag: pulled.tag, as: name)
        Progress.note("pulled the base \(parsed) (\(pulled.digest))\(note)")
        return stored
    }

    /// Puts the resolved base into `OUT/NAME.lock.json`: into the packages' lockfile when the image has
    /// repositories, else into a lockfile of the base alone. Rewritten only when it changes, so a
    /// reused lockfile keeps its age.
    func recordBase(_ pin: Lockfile.Base, spec: ImageSpec, architecture archName: String) throws {
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let written = writtenLockfile(spec)
        var lock: Lockfile
        if !spec.repositories.isEmpty, let existing = try? Lockfile.read(path: written) {
            lock = existing
        } else {
            lock = Lockfile(packageFormat: spec.format, architecture: archName,
                            inputs: Lockfile.inputsDigest(packageFormat: spec.format, architecture: archName, roots: [], localSHA256: [], repositories: []),
                            packages: [])
        }
        lock.base = pin
        if try Self.writeIfChanged(lock, to: written) {
            Progress.note("wrote the base \(pin.reference) at \(pin.digest) into the lockfile \(written)")
        }
        lockfileBox.path = written
    }
}
