import Foundation
import PkgLayerCore
import PkgLayerOCI

/// A manifest or index as the registry served it: the exact bytes (their digest is the image's).
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    public var mediaType: String
    public var digest: Digest

    public var descriptor: OCIDescriptor { OCIDescriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count)) }
}

enum ManifestMediaType {
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let accepted = [OCIMediaType.imageManifest, OCIMediaType.imageIndex, dockerManifest, dockerList]
    static func isIndex(_ type: String) -> Bool { type == OCIMediaType.imageIndex || type == dockerList }
}

extension RegistryClient {
    /// PUT `/v2/REPO/manifests/REFERENCE` with the manifest's own media type; the registry's
    /// `Docker-Content-Digest` must be the digest of the bytes sent.
    func putManifest(_ repository: String, reference: String, bytes: [UInt8], descriptor: OCIDescriptor) async throws {
        let path = "/v2/\(repository)/manifests/\(reference)"
        let response = try await send("PUT", path, headers: [("Content-Type", descriptor.mediaType)], body: .bytes(bytes))
        try expect(response, [201, 200], "PUT", path)
        if let echoed = response.header("Docker-Content-Digest"), echoed != descriptor.digest.description {
            throw PkgLayerError(.registry, "the registry stored the manifest as \(echoed), not \(descriptor.digest); it rewrote the bytes",
                                at: "\(registry): PUT \(path)")
        }
        stats.manifestsPut += 1
    }

    /// GET a manifest or index by tag or digest, checking the bytes against the digest asked for and
    /// against the registry's `Docker-Content-Digest`.
    func getManifest(_ repository: String, reference: String) async throws -> FetchedManifest {
        let path = "/v2/\(repository)/manifests/\(reference)"
        let response = try await send("GET", path, headers: [("Accept", ManifestMediaType.accepted.joined(separator: ", "))])
        try expect(response, [200], "GET", path)
        let digest = Digest.sha256(response.body)
        if let asked = Digest(parsing: reference), asked != digest {
            throw PkgLayerError(.registry, "the manifest served hashes to \(digest), not the \(asked) asked for; the registry or the network altered it",
                                at: "\(registry): GET \(path)")
        }
        if let echoed = response.header("Docker-Content-Digest"), echoed.hasPrefix("sha256:"), echoed != digest.description {
            throw PkgLayerError(.registry, "the manifest served hashes to \(digest), but the registry says \(echoed)", at: "\(registry): GET \(path)")
        }
        var mediaType = response.header("Content-Type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if !ManifestMediaType.accepted.contains(mediaType),
           let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], let declared = object["mediaType"] as? String {
            mediaType = declared
        }
        guard ManifestMediaType.accepted.contains(mediaType) else {
            throw PkgLayerError(.registry, "the registry served '\(mediaType)', not an OCI or Docker v2 manifest or index", at: "\(registry): GET \(path)")
        }
        return FetchedManifest(bytes: response.body, mediaType: mediaType, digest: digest)
    }

    /// GET a blob into `store`, verified against its size and digest; a dropped connection or a 5xx
    /// starts the download again. Blobs already in the store are not fetched.
    func downloadBlob(_ repository: String, _ descriptor: OCIDescriptor, into store: BlobStore) async throws {
        if store.has(descriptor.digest, size: descriptor.size) { return }
        let path = "/v2/\(repository)/blobs/\(descriptor.digest)"
        var attempt = 1
        while true {
            let writer = try store.makeWriter()
            var failed: String?
            do {
                let response = try await send("GET", path, download: writer, retrying: false, expectedBytes: descriptor.size,
                                              progress: byteCounter(descriptor, state: .downloading))
                if response.status >= 500 || response.status == 429 {
                    failed = "HTTP \(response.status)"
                } else {
                    try expect(response, [200], "GET", path)
                    guard writer.size == descriptor.size else {
                        writer.discard()
                        throw PkgLayerError(.registry, "blob \(descriptor.digest) came with \(writer.size) bytes, the manifest says \(descriptor.size)",
                                            at: "\(registry): GET \(path)")
                    }
                    _ = try writer.commit(expecting: descriptor.digest)
                    stats.blobsDownloaded += 1
                    stats.bytesDownloaded += descriptor.size
                    options.progress?(RegistryProgress(digest: descriptor.digest, total: descriptor.size, transferred: descriptor.size, state: .done))
                    return
                }
            } catch let error as PkgLayerError where error.code == .registry && (error.message.hasPrefix("connection failed") || error.message.hasPrefix("timed out")) {
                failed = error.message
            }
            writer.discard()
            guard let failed, attempt < options.maxAttempts else {
                throw PkgLayerError(.registry, "downloading \(descriptor.digest) kept failing (\(failed ?? "?"))", at: "\(registry): GET \(path)")
            }
            try await backoff(&attempt, after: failed, request: RegistryRequest(method: "GET", url: url(path)))
        }
    }
}
