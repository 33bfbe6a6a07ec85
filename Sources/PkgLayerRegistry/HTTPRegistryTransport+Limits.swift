import AsyncHTTPClient
import Foundation
import NIOCore
import PkgLayerCore
import PkgLayerOCI

/// The bound on registry answers read into memory (docs/limits.md). Blobs stream to disk and are not
/// bounded here; everything else is: a manifest (a 2xx answer to GET …/manifests/…) up to
/// `ociJSONBytes` (4 MiB, the distribution spec's manifest limit), any other answer (error bodies,
/// token service answers, upload responses) up to `registryResponseBytes` (1 MiB). Past it the
/// transfer stops at once (no more is read, whatever Content-Length says or however long a chunked
/// body runs) and the request fails without retries.
extension HTTPRegistryTransport {
    /// The most of `request`'s answer with `status` that is read into memory, and the limit that sets it.
    static func bodyLimit(for request: RegistryRequest, status: Int) -> (bytes: Int, limit: InputLimits.Name) {
        let limits = InputLimits.current
        let path = URLComponents(string: request.url)?.path ?? request.url
        if request.method == "GET", (200..<300).contains(status), path.contains("/manifests/") {
            return (limits.int(.ociJSONBytes), .ociJSONBytes)
        }
        return (limits.int(.registryResponseBytes), .registryResponseBytes)
    }

    /// Reads a body into memory within `bodyLimit`.
    static func collect(_ body: HTTPClientResponse.Body, for request: RegistryRequest, status: Int) async throws -> [UInt8] {
        let (bytes, limit) = bodyLimit(for: request, status: status)
        do {
            var collected = try await body.collect(upTo: bytes)
            return collected.readBytes(length: collected.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            let what = limit == .ociJSONBytes ? "the manifest" : "the registry's answer (HTTP \(status))"
            let host = URLComponents(string: request.url).flatMap { c in c.host.map { $0 + (c.port.map { ":\($0)" } ?? "") } }
            throw InputLimits.current.exceeded(limit, what, at: host.map { "\($0): \(request.summary)" } ?? request.summary,
                                               hint: "pkglayer stopped reading it; the registry or something between it and pkglayer is misbehaving")
        }
    }
}
