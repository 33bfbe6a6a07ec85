import Foundation
import PkgLayerCore
import PkgLayerOCI

extension RegistryClient {
    /// HEAD `/v2/REPO/blobs/DIGEST`: whether the registry already holds the blob (never upload it again).
    func blobExists(_ repository: String, _ descriptor: OCIDescriptor) async throws -> Bool {
        let path = "/v2/\(repository)/blobs/\(descriptor.digest)"
        let response = try await send("HEAD", path)
        switch response.status {
        case 200: return true
        case 404: return false
        default: try expect(response, [200, 404], "HEAD", path); return false
        }
    }

    /// Puts one blob (a file in a blob store) into `repository`: skipped when present, mounted from one
    /// of `mountFrom` when the registry has it there, else uploaded in one PUT or in PATCH chunks.
    func pushBlob(_ repository: String, _ descriptor: OCIDescriptor, file: String, mountFrom: [String]) async throws {
        let report = options.progress
        if try await blobExists(repository, descriptor) {
            stats.blobsExisting += 1
            report?(RegistryProgress(digest: descriptor.digest, total: descriptor.size, transferred: 0, state: .exists))
            return
        }
        var session: String?
        for source in mountFrom where source != repository {
            let path = "/v2/\(repository)/blobs/uploads/?mount=\(descriptor.digest)&from=\(source)"
            let response = try await send("POST", path)
            // A mount the registry will not do (no access to the source, say) is only a missed shortcut.
            guard response.status == 201 || response.status == 202 else { continue }
            if response.status == 201 {
                stats.blobsMounted += 1
                report?(RegistryProgress(digest: descriptor.digest, total: descriptor.size, transferred: 0, state: .mounted(from: source)))
                return
            }
            session = response.header("Location")
        }
        var attempt = 1
        while true {
            do {
                let location: String
                if let open = session { location = open; session = nil } else { location = try await startUpload(repository) }
                if descriptor.size > options.chunkSize {
                    try await uploadChunked(repository, descriptor, file: file, location: location)
                } else {
                    try await uploadMonolithic(repository, descriptor, file: file, location: location)
                }
                stats.blobsUploaded += 1
                report?(RegistryProgress(digest: descriptor.digest, total: descriptor.size, transferred: descriptor.size, state: .done))
                return
            } catch let failure as RetryableUpload where attempt < options.maxAttempts {
                // The whole upload starts again in a new session.
                try await backoff(&attempt, after: failure.why, request: RegistryRequest(method: "PUT", url: url("/v2/\(repository)/blobs/uploads/")))
            } catch let failure as RetryableUpload {
                throw failure.error
            }
        }
    }

    /// POST `/v2/REPO/blobs/uploads/`: opens an upload session and returns its location.
    func startUpload(_ repository: String) async throws -> String {
        let path = "/v2/\(repository)/blobs/uploads/"
        let response = try expect(try await send("POST", path), [202], "POST", path)
        guard let location = response.header("Location") else {
            throw PkgLayerError(.registry, "the registry opened an upload without a Location header", at: "\(registry): POST \(path)")
        }
        return location
    }

    /// The upload location with `digest=` added to its query (which may already hold upload state).
    func finishing(_ location: String, _ digest: Digest) -> String {
        guard var components = URLComponents(string: url(location)) else { return location }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "digest", value: digest.description)]
        return components.string ?? location
    }

    /// One PUT with the whole blob as its body. A dropped connection or a 5xx restarts the upload.
    func uploadMonolithic(_ repository: String, _ descriptor: OCIDescriptor, file: String, location: String) async throws {
        let target = finishing(location, descriptor.digest)
        let progress = byteCounter(descriptor, state: .uploading)
        let response: RegistryResponse
        do {
            response = try await send("PUT", target, headers: [("Content-Type", "application/octet-stream")],
                                      body: .file(path: file, offset: 0, length: descriptor.size), retrying: false, progress: progress)
        } catch let error as PkgLayerError where error.code == .registry && !error.message.hasPrefix("TLS failed") {
            throw RetryableUpload(why: error.message, error: error)
        }
        if response.status >= 500 || response.status == 429 {
            throw RetryableUpload(why: "HTTP \(response.status)",
                                  error: RegistryFailure.error(response, request: RegistryRequest(method: "PUT", url: target), registry: registry, username: nil))
        }
        stats.bytesUploaded += descriptor.size
        try expect(response, [201], "PUT", target)
    }

    /// Counts uploaded bytes into the progress callback.
    func byteCounter(_ descriptor: OCIDescriptor, state: RegistryProgress.State, offset: Int64 = 0) -> (@Sendable (Int64) -> Void)? {
        guard let report = options.progress else { return nil }
        let counter = ByteCount(offset)
        return { bytes in
            report(RegistryProgress(digest: descriptor.digest, total: descriptor.size, transferred: counter.add(bytes), state: state))
        }
    }
}

/// An upload that failed in a way a fresh attempt may cure.
struct RetryableUpload: Error {
    var why: String
    var error: PkgLayerError
}

// @unchecked Sendable: the count is only touched under its lock.
final class ByteCount: @unchecked Sendable {
    private var value: Int64
    private let lock = NSLock()
    init(_ start: Int64) { value = start }
    func add(_ bytes: Int64) -> Int64 { lock.lock(); defer { lock.unlock() }; value += bytes; return value }
}
