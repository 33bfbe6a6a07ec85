import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry

/// An in-memory registry behind the `RegistryTransport` protocol, for unit tests of the client's logic:
/// bearer auth through a token service at `https://auth.test/token`, blobs, uploads (monolithic,
/// chunked, mount) and manifests. It records every request it sees.
// @unchecked Sendable: requests and stored state are only touched under `lock`.
final class FakeRegistry: RegistryTransport, @unchecked Sendable {
    let credential: RegistryCredential
    let token = "tok-\(UInt32.random(in: 1000...9999))"
    private let lock = NSLock()
    private(set) var requests: [RegistryRequest] = []
    private var blobs: [String: [UInt8]] = [:]            // "repo@digest" → bytes
    private var manifests: [String: ([UInt8], String)] = [:] // "repo:ref" → bytes, media type
    private var uploads: [String: [UInt8]] = [:]
    private var nextUpload = 0
    private var faults: [(method: String, path: String, response: RegistryResponse)] = []

    /// The next `method` request whose path contains `path` gets `response` instead of an answer.
    func failOnce(_ method: String, path: String, with response: RegistryResponse) {
        lock.lock(); defer { lock.unlock() }
        faults.append((method, path, response))
    }

    init(credential: RegistryCredential) { self.credential = credential }

    func shutdown() async {}

    func storeManifest(_ bytes: [UInt8], mediaType: String, repository: String, references: [String]) {
        lock.lock(); defer { lock.unlock() }
        for reference in references { manifests["\(repository):\(reference)"] = (bytes, mediaType) }
    }

    /// Stores bytes under `digest` (their own by default; another one to serve corrupt content).
    func storeBlob(_ bytes: [UInt8], as digest: Digest? = nil, repository: String) {
        lock.lock(); defer { lock.unlock() }
        blobs["\(repository)@\(digest ?? Digest.sha256(bytes))"] = bytes
    }

    func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse {
        var body: [UInt8] = []
        switch request.body {
        case .empty: break
        case .bytes(let bytes): body = bytes
        case .file(let path, let offset, let length):
            let data = FileManager.default.contents(atPath: path)!
            body = Array(data[Int(offset)..<Int(offset + length)])
        }
        var response = lock.withLock {
            requests.append(request)
            return handle(request, body: body)
        }
        if let download, (200..<300).contains(response.status) {
            try response.body.withUnsafeBytes { try download.write($0) }
            response.body = []
        }
        return response
    }

    private func handle(_ request: RegistryRequest, body: [UInt8]) -> RegistryResponse {
        let url = URLComponents(string: request.url)!
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        if url.host == "auth.test" {
            guard request.header("Authorization") == "Basic " + Data("\(credential.username):\(credential.password)".utf8).base64EncodedString() else {
                return RegistryResponse(status: 401)
            }
            return RegistryResponse(status: 200, body: Array(#"{"token":"\#(token)"}"#.utf8))
        }
        if let index = faults.firstIndex(where: { $0.method == request.method && url.path.contains($0.path) }) {
            return faults.remove(at: index).response
        }
        guard request.header("Authorization") == "Bearer \(token)" else {
            return RegistryResponse(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="https://auth.test/token",service="registry.test""#)],
                                    body: Array(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.utf8))
        }
        let path = url.path
        if path == "/v2/" { return RegistryResponse(status: 200) }
        let parts = path.components(separatedBy: "/")
        // /v2/REPO.../(blobs|manifests)/REF  or /v2/REPO.../blobs/uploads/ID
        if let index = parts.lastIndex(of: "uploads"), parts[index - 1] == "blobs" {
            let repo = parts[2..<(index - 1)].joined(separator: "/")
            let id = index + 1 < parts.count ? parts[index + 1] : ""
            switch request.method {
            case "POST":
                if let mount = query["mount"], let from = query["from"], let bytes = blobs["\(from)@\(mount)"] {
                    blobs["\(repo)@\(mount)"] = bytes
                    return RegistryResponse(status: 201)
                }
                nextUpload += 1
                uploads["u\(nextUpload)"] = []
                return RegistryResponse(status: 202, headers: [("Location", "/v2/\(repo)/blobs/uploads/u\(nextUpload)")])
            case "PATCH":
                uploads[id, default: []] += body
                return RegistryResponse(status: 202, headers: [("Location", "/v2/\(repo)/blobs/uploads/\(id)"), ("Range", "0-\(uploads[id]!.count - 1)")])
            case "PUT":
                let bytes = (uploads.removeValue(forKey: id) ?? []) + body
                guard query["digest"] == Digest.sha256(bytes).description else {
                    return RegistryResponse(status: 400, body: Array(#"{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}"#.utf8))
                }
                blobs["\(repo)@\(query["digest"]!)"] = bytes
                return RegistryResponse(status: 201)
            default:
                return RegistryResponse(status: 405)
            }
        }
        guard parts.count >= 5 else { return RegistryResponse(status: 404) }
        let repo = parts[2..<(parts.count - 2)].joined(separator: "/")
        let kind = parts[parts.count - 2], reference = parts[parts.count - 1]
        if kind == "blobs" {
            guard let bytes = blobs["\(repo)@\(reference)"] else {
                return RegistryResponse(status: 404, body: Array(#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#.utf8))
            }
            return RegistryResponse(status: 200, body: request.method == "HEAD" ? [] : bytes)
        }
        if kind == "manifests" {
            if request.method == "PUT" {
                let digest = Digest.sha256(body).description
                let type = request.header("Content-Type") ?? ""
                manifests["\(repo):\(reference)"] = (body, type)
                manifests["\(repo):\(digest)"] = (body, type)
                return RegistryResponse(status: 201, headers: [("Docker-Content-Digest", digest)])
            }
            guard let (bytes, type) = manifests["\(repo):\(reference)"] else {
                return RegistryResponse(status: 404, body: Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.utf8))
            }
            return RegistryResponse(status: 200, headers: [("Content-Type", type), ("Docker-Content-Digest", Digest.sha256(bytes).description)], body: bytes)
        }
        return RegistryResponse(status: 404)
    }
}
