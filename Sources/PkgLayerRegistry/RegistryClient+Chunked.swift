import Foundation
import PkgLayerCore
import PkgLayerOCI

extension RegistryClient {
    /// PATCH the blob in `chunkSize` pieces, each with its `Content-Range`, then PUT `?digest=`. When a
    /// chunk fails (dropped connection, 5xx), the upload's status (GET on its location, `Range: 0-N`)
    /// says how much the registry holds, and the upload resumes from there. A session the registry no
    /// longer knows restarts the whole upload.
    func uploadChunked(_ repository: String, _ descriptor: OCIDescriptor, file: String, location start: String) async throws {
        var location = start
        var offset: Int64 = 0
        var failures = 0
        while offset < descriptor.size {
            let length = min(options.chunkSize, descriptor.size - offset)
            let progress = byteCounter(descriptor, state: .uploading, offset: offset)
            var failed: String?
            do {
                let response = try await send("PATCH", location,
                                              headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + length - 1)")],
                                              body: .file(path: file, offset: offset, length: length), retrying: false, progress: progress)
                stats.bytesUploaded += length
                if response.status >= 500 || response.status == 429 {
                    failed = "HTTP \(response.status)"
                } else {
                    try expect(response, [202], "PATCH", location)
                    stats.chunks += 1
                    location = response.header("Location") ?? location
                    offset = Self.end(ofRange: response.header("Range")) ?? (offset + length)
                }
            } catch let error as PkgLayerError where error.code == .registry && !error.message.hasPrefix("TLS failed") {
                failed = error.message
            }
            if let failed {
                failures += 1
                guard failures < options.maxAttempts else {
                    throw PkgLayerError(.registry, "chunked upload of \(descriptor.digest) kept failing (\(failed))", at: "\(registry): PATCH /v2/\(repository)/blobs/uploads/")
                }
                var attempt = failures
                try await backoff(&attempt, after: failed, request: RegistryRequest(method: "PATCH", url: url(location)))
                guard let resumed = try await uploadStatus(location) else {
                    throw RetryableUpload(why: "the registry dropped the upload session",
                                          error: PkgLayerError(.registry, "the upload session was lost", at: "\(registry): PATCH"))
                }
                stats.resumes += 1
                (location, offset) = resumed
            }
        }
        let target = finishing(location, descriptor.digest)
        let response = try await send("PUT", target, retrying: false)
        if response.status >= 500 || response.status == 429 || (response.status == 400 && offset > 0 && failures > 0) {
            // A resumed upload the registry could not reassemble; start afresh.
            throw RetryableUpload(why: "HTTP \(response.status) on finishing the upload",
                                  error: RegistryFailure.error(response, request: RegistryRequest(method: "PUT", url: target), registry: registry, username: nil))
        }
        try expect(response, [201], "PUT", target)
    }

    /// GET on an upload location: the next offset and the (possibly new) location, or nil when the
    /// registry no longer knows the session.
    func uploadStatus(_ location: String) async throws -> (String, Int64)? {
        let response = try await send("GET", location)
        guard response.status == 204 || response.status == 202 else { return nil }
        // distribution 2.x reports an empty upload as `0-0`, like a one-byte one: take it as empty; a
        // wrong guess ends in DIGEST_INVALID on the final PUT, which restarts the upload.
        let range = response.header("Range")
        return (response.header("Location") ?? location, range == "0-0" ? 0 : Self.end(ofRange: range) ?? 0)
    }

    /// `0-N` (or `bytes=0-N`) → N + 1, the next offset to send.
    static func end(ofRange header: String?) -> Int64? {
        guard let header else { return nil }
        let text = header.hasPrefix("bytes=") ? String(header.dropFirst(6)) : header
        let parts = text.split(separator: "-")
        guard parts.count == 2, let last = Int64(parts[1]) else { return nil }
        return last + 1
    }
}
