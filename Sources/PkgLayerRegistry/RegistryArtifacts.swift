import Foundation
import PkgLayerCore
import PkgLayerOCI

/// One file of an OCI artifact: its name (the layer's `org.opencontainers.image.title`), where it is,
/// and its media type.
public struct ArtifactFile: Sendable, Equatable {
    public var name: String
    public var path: String
    public var mediaType: String

    public init(name: String, path: String, mediaType: String) {
        self.name = name; self.path = path; self.mediaType = mediaType
    }
}

/// OCI artifacts (image-spec 1.1): files stored in a registry as an image manifest with an
/// `artifactType`, a small JSON config of that type, and one layer per file. This is how pkglayer keeps
/// its build cache in any registry a team already runs (as BuildKit's `--cache-to type=registry` does).
public enum RegistryArtifacts {
    /// Pushes `files` with `config` (its media type is `artifactType`) to `reference`'s tag. Blobs the
    /// registry has are not sent again. Returns the manifest's digest.
    public static func push(_ files: [ArtifactFile], config: [UInt8], artifactType: String, annotations: [String: String] = [:],
                            to reference: RegistryReference, options: RegistryOptions) async throws -> Digest {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-artifact")
        let configDescriptor = OCIDescriptor(mediaType: artifactType, digest: Digest.sha256(config), size: Int64(config.count))
        let configPath = "\(scratch.path)/config.json"
        try Data(config).write(to: URL(fileURLWithPath: configPath))
        var layers: [(OCIDescriptor, String)] = []
        for file in files {
            let digest = Digest(hex: try FileDigest.sha256Hex(path: file.path))
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
            layers.append((OCIDescriptor(mediaType: file.mediaType, digest: digest, size: size,
                                         annotations: [OCIAnnotation.title: file.name]), file.path))
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageManifest)), ("artifactType", .string(artifactType)),
            ("config", configDescriptor.json), ("layers", .array(layers.map(\.0.json))), ("annotations", annotations.isEmpty ? nil : .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
        ]).canonicalBytes
        let manifestDescriptor = OCIDescriptor(mediaType: OCIMediaType.imageManifest, digest: Digest.sha256(manifest), size: Int64(manifest.count))
        let tag = reference.reference
        return try await Registry.session(reference, options: options, scopes: ["repository:\(reference.repository):pull,push"]) { client in
            let uploads = layers.map { ($0.0, $0.1) } + [(configDescriptor, configPath)]
            try await forEachConcurrently(uploads.map { UploadItem(descriptor: $0.0, path: $0.1) }, limit: client.options.concurrency) { item in
                try await client.pushBlob(reference.repository, item.descriptor, file: item.path, mountFrom: client.options.mountFrom)
            }
            try await client.putManifest(reference.repository, reference: tag, bytes: manifest, descriptor: manifestDescriptor)
            return manifestDescriptor.digest
        }
    }

    /// The artifact tagged `reference`, its files downloaded into `directory` under their names, each
    /// checked against its digest; nil when the registry has no such tag. The config must be of
    /// `artifactType`.
    public static func pull(_ reference: RegistryReference, artifactType: String, into directory: String,
                            options: RegistryOptions) async throws -> (config: [UInt8], files: [String])? {
        try await Registry.session(reference, options: options, scopes: ["repository:\(reference.repository):pull"]) { client in
            guard let manifest = try await client.getManifestIfPresent(reference.repository, reference: reference.reference) else { return nil }
            let location = "\(reference)"
            let (config, layers) = try ManifestJSON.blobs(manifest.bytes, at: location)
            guard config.mediaType == artifactType else {
                throw PkgLayerError(.registry, "is not a pkglayer artifact (its config is '\(config.mediaType)', expected '\(artifactType)')", at: location)
            }
            let store = try BlobStore(root: directory + "/.blobs")
            defer { try? FileManager.default.removeItem(atPath: directory + "/.blobs") }
            try await forEachConcurrently(layers + [config], limit: client.options.concurrency) { blob in
                try await client.downloadBlob(reference.repository, blob, into: store)
            }
            var names: [String] = []
            for layer in layers {
                guard let name = layer.annotations[OCIAnnotation.title], !name.isEmpty, !name.contains("/"), name != ".", name != "..",
                      !name.hasPrefix(".") else {
                    throw PkgLayerError(.registry, "layer \(layer.digest) has no usable file name (org.opencontainers.image.title)", at: location)
                }
                guard rename(store.path(for: layer.digest), "\(directory)/\(name)") == 0 else {
                    throw PkgLayerError.posix("moving the downloaded \(name) into place", path: directory)
                }
                names.append(name)
            }
            return (try store.read(config.digest), names)
        }
    }

    /// Whether the registry has a manifest tagged `reference`.
    public static func exists(_ reference: RegistryReference, options: RegistryOptions) throws -> Bool {
        try blocking {
            try await Registry.session(reference, options: options, scopes: ["repository:\(reference.repository):pull"]) { client in
                try await client.getManifestIfPresent(reference.repository, reference: reference.reference) != nil
            }
        }
    }

    public static func push(_ files: [ArtifactFile], config: [UInt8], artifactType: String, annotations: [String: String] = [:],
                            to reference: RegistryReference, options: RegistryOptions) throws -> Digest {
        try blocking { try await push(files, config: config, artifactType: artifactType, annotations: annotations, to: reference, options: options) }
    }

    public static func pull(_ reference: RegistryReference, artifactType: String, into directory: String,
                            options: RegistryOptions) throws -> (config: [UInt8], files: [String])? {
        try blocking { try await pull(reference, artifactType: artifactType, into: directory, options: options) }
    }

    private struct UploadItem: Sendable {
        var descriptor: OCIDescriptor
        var path: String
    }
}

extension RegistryClient {
    /// GET a manifest by tag or digest; nil when the registry answers 404 (no such tag).
    func getManifestIfPresent(_ repository: String, reference: String) async throws -> FetchedManifest? {
        do {
            return try await getManifest(repository, reference: reference)
        } catch let error as PkgLayerError where error.code == .registry && (error.message.contains("404") || error.message.contains("MANIFEST_UNKNOWN")
                                                                             || error.message.contains("NAME_UNKNOWN")) {
            return nil
        }
    }
}
