import Foundation
import PkgLayerCore
import PkgLayerOCI

/// What a push did.
public struct PushReport: Sendable {
    public var reference: RegistryReference
    /// The pushed manifest's (or index's) digest: the registry serves it under this digest.
    public var digest: Digest
    public var mediaType: String
    public var stats: RegistryStats
}

/// Push and pull between OCI layouts and registries. Each call opens its own connections and closes
/// them before returning.
public enum Registry {
    /// Pushes the image tagged `tag` in the OCI layout at `layout` (the only image when `tag` is nil)
    /// to `reference`: blobs the registry has are skipped (HEAD), blobs in `options.mountFrom`
    /// repositories are mounted, the rest uploaded; then child manifests by digest, then the manifest
    /// or index under the reference's tag.
    public static func push(layout: String, tag: String?, to reference: RegistryReference,
                            options: RegistryOptions = RegistryOptions()) async throws -> PushReport {
        let reader = try OCILayoutReader(path: layout)
        let descriptor = try select(in: reader, tag: tag, layout: layout)
        if let digest = reference.digest, digest != descriptor.digest {
            throw PkgLayerError(.usage, "names digest \(digest), but the image is \(descriptor.digest); push to a tag instead", at: reference.description)
        }
        let blobs = try reader.reachableBlobs(from: descriptor).map(\.digest)
        let locations = options.blobLocations.map(RegistryBlobLocations.init(path:))
        // Where else in this registry each blob was seen: mount candidates beyond --mount-from.
        var sources: [Digest: [String]] = [:]
        for digest in blobs {
            let hints = locations?.repositories(of: digest, in: reference.registry, except: reference.repository) ?? []
            sources[digest] = Array((options.mountFrom + hints.filter { !options.mountFrom.contains($0) }).prefix(3))
        }
        let readable = Array(Set(sources.values.joined())).sorted().prefix(8)
        let scopes = ["repository:\(reference.repository):pull,push"] + readable.map { "repository:\($0):pull" }
        let report = try await session(reference, options: options, scopes: scopes) { client in
            try await pushManifest(descriptor, as: reference.reference, reader: reader, repository: reference.repository, client: client,
                                   sources: sources)
            return PushReport(reference: reference, digest: descriptor.digest, mediaType: descriptor.mediaType, stats: await client.stats)
        }
        locations?.record(blobs, in: reference.registry, repository: reference.repository)
        return report
    }

    /// The blocking form of `push`, for synchronous callers such as `pkglayer build --push`.
    public static func push(layout: String, tag: String?, to reference: RegistryReference, options: RegistryOptions = RegistryOptions()) throws -> PushReport {
        try blocking { try await push(layout: layout, tag: tag, to: reference, options: options) }
    }

    /// Pushes any `PushSource` but a stored name (which the caller resolves to a layout first).
    public static func push(_ source: PushSource, to reference: RegistryReference, options: RegistryOptions = RegistryOptions()) throws -> PushReport {
        switch source {
        case .layout(let path, let tag):
            return try push(layout: path, tag: tag, to: reference, options: options)
        case .ociArchive(let path, let tag):
            let scratch = try TemporaryDirectory(prefix: "pkglayer-push")
            let layout = try PushSource.unpack(archive: path, into: scratch.path)
            return try push(layout: layout, tag: tag, to: reference, options: options)
        case .stored(let name):
            // The local store is an OCI layout whose tags are the images' names.
            let store = try ImageStore.open()
            guard let image = try store.lookup(name) else {
                let known = try store.list().map(\.reference)
                throw PkgLayerError(.usage, "is no image in the local store (\(known.isEmpty ? "it is empty" : "it has " + known.prefix(8).joined(separator: ", "))) and no image source; write NAME[:TAG] of a stored image, oci:PATH[:TAG] or oci-archive:PATH[:TAG]",
                                    at: name)
            }
            return try push(layout: store.path, tag: image.reference, to: reference, options: options)
        }
    }

    static func select(in reader: OCILayoutReader, tag: String?, layout: String) throws -> OCIDescriptor {
        let index = try reader.index()
        if let tag {
            guard let found = index.first(where: { $0.annotations[OCIAnnotation.refName] == tag }) else {
                let tags = index.compactMap { $0.annotations[OCIAnnotation.refName] }
                throw PkgLayerError(.usage, "has no image tagged '\(tag)' (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))", at: layout)
            }
            return found
        }
        guard index.count == 1 else {
            throw PkgLayerError(.usage, "holds \(index.count) images; name one as oci:\(layout):TAG", at: layout)
        }
        return index[0]
    }

    static func pushManifest(_ descriptor: OCIDescriptor, as reference: String, reader: OCILayoutReader, repository: String,
                             client: RegistryClient, sources: [Digest: [String]]) async throws {
        let location = reader.store.path(for: descriptor.digest)
        guard reader.store.has(descriptor.digest, size: descriptor.size) else {
            throw PkgLayerError(.invalidInput, "the layout lacks blob \(descriptor.digest) (\(descriptor.size) bytes) that its index names", at: location)
        }
        let bytes = try reader.store.read(descriptor.digest)
        if ManifestMediaType.isIndex(descriptor.mediaType) {
            for child in try ManifestJSON.children(bytes, at: location) {
                try await pushManifest(child, as: child.digest.description, reader: reader, repository: repository, client: client, sources: sources)
            }
        } else {
            let (config, layers) = try ManifestJSON.blobs(bytes, at: location)
            let store = reader.store
            for blob in layers + [config] where !store.has(blob.digest, size: blob.size) {
                throw PkgLayerError(.invalidInput, "the layout lacks blob \(blob.digest) (\(blob.size) bytes) that manifest \(descriptor.digest) names",
                                    at: store.path(for: blob.digest))
            }
            try await forEachConcurrently(layers + [config], limit: client.options.concurrency) { blob in
                try await client.pushBlob(repository, blob, file: store.path(for: blob.digest), mountFrom: sources[blob.digest] ?? client.options.mountFrom)
            }
        }
        try await client.putManifest(repository, reference: reference, bytes: bytes, descriptor: descriptor)
    }

    /// Opens a client for `reference` (credentials from the options or docker's config.json), runs
    /// `body`, and closes the connections whatever happens.
    static func session<T>(_ reference: RegistryReference, options: RegistryOptions, scopes: [String],
                           _ body: (RegistryClient) async throws -> T) async throws -> T {
        // A malformed PKGLAYER_REGISTRY_TIMEOUT or PKGLAYER_REGISTRY_MIN_SPEED is an error, not silently the default.
        _ = try RegistryDeadline.fromEnvironment()
        let credential = try options.credential ?? DockerConfig(path: options.dockerConfigPath).credential(for: reference.registry)
        let owned = options.transport == nil
        let transport = try options.transport ?? HTTPRegistryTransport(registry: reference.registry, trust: options.trust, deadline: options.deadline)
        let client = RegistryClient(registry: reference.registry, transport: transport, credential: credential, options: options, scopes: scopes)
        do {
            // `GET /v2/` first, as docker does: it answers the auth challenge once, before blobs move in parallel.
            try await client.expect(try await client.send("GET", "/v2/"), [200], "GET", "/v2/")
            let result = try await body(client)
            if owned { await transport.shutdown() }
            return result
        } catch {
            if owned { await transport.shutdown() }
            throw error
        }
    }
}

/// Runs `body` for each item, at most `limit` at once; the first error cancels the others.
func forEachConcurrently<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        func start() {
            guard next < items.count else { return }
            let item = items[next]
            next += 1
            group.addTask { try await body(item) }
        }
        for _ in 0..<max(1, limit) { start() }
        while try await group.next() != nil { start() }
    }
}

/// Runs async work to completion from synchronous code (the command line is synchronous).
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

// @unchecked Sendable: written once by the task that computes it, read after that task is awaited.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
