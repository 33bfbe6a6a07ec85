import Dispatch
import FuzzSupport
import Foundation
import PkgLayerCore
import PkgLayerOCI
@testable import PkgLayerRegistry

/// What a registry sends back that pkglayer parses, on one input: the first line is a
/// `WWW-Authenticate` value (AuthChallenge), the rest a response body, read as a registry error
/// (RegistryFailure, for 401/403/404/500) and, when the challenge is a bearer one, as the token
/// service's answer to a token request for the challenge's realm, service and scope (through an
/// in-memory transport). The body is also a manifest or index as `pull` reads it: fetched with
/// `RegistryClient.getManifest` (the first line, when it holds no space, is its Content-Type),
/// then the index's children and a platform chosen from them, or the manifest's config and layers.
/// A body that looks like a layer (gzip, zstd or tar magic) goes through `LayerMemberCheck`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
    let header = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Array(bytes[min(newline + 1, bytes.endIndex)...])
    let challenge = AuthChallenge(header: header)
    _ = (challenge?.realm, challenge?.service, challenge?.scope)
    let request = RegistryRequest(method: "GET", url: "https://registry.example/v2/app/manifests/latest?x=1")
    for status in [401, 403, 404, 500] {
        var response = RegistryResponse(status: status, body: body)
        if let challenge { response.headers = [("WWW-Authenticate", header), ("X-Scheme", challenge.scheme)] }
        _ = RegistryFailure.error(response, request: request, registry: "registry.example", username: status == 401 ? "user" : nil)
    }
    if let challenge, challenge.scheme == "bearer" {
        let scopes = (challenge.scope ?? "").split(separator: " ").map(String.init)
        Fuzz.run("TokenService.fetch") {
            try blocking {
                _ = try await TokenService.fetch(challenge: challenge, scopes: ["repository:app:pull"] + scopes, credential: nil,
                                                 transport: CannedTransport(body: body))
            }
        }
    }
    fuzzManifest(body, contentType: header.contains(" ") ? nil : header)
    if looksLikeLayer(body) {
        let path = Fuzz.write(body, to: "layer")
        Fuzz.run("LayerMemberCheck") {
            var check = LayerMemberCheck(image: "registry.example/app:1")
            try check.check(layerAt: path, digest: Digest.sha256(body))
            // The same layer again, above itself: its own symlinks now lie below.
            try check.check(layerAt: path, digest: Digest.sha256(body))
        }
    }
    return 0
}

/// The body as the manifest a pull reads: digest and media type checks, then index or manifest parsing.
func fuzzManifest(_ body: [UInt8], contentType: String?) {
    let digest = Digest.sha256(body)
    for reference in ["latest", digest.description] {
        Fuzz.run("getManifest") {
            let transport = CannedTransport(body: body, headers: contentType.map { [("Content-Type", $0)] } ?? [])
            let client = RegistryClient(registry: "registry.example", transport: transport, credential: nil,
                                        options: RegistryOptions(maxAttempts: 1, transport: transport), scopes: [])
            let fetched = try blocking { try await client.getManifest("app", reference: reference) }
            if ManifestMediaType.isIndex(fetched.mediaType) {
                let children = try ManifestJSON.children(fetched.bytes, at: "index")
                _ = Registry.choose(OCIPlatform(architecture: "amd64"), from: children)
                _ = Registry.choose(OCIPlatform(architecture: "arm64", variant: "v8"), from: children)
            } else {
                _ = try ManifestJSON.blobs(fetched.bytes, at: "manifest")
                _ = Registry.platform(ofConfig: fetched.bytes)
            }
        }
    }
}

/// gzip, zstd, or a tar header's `ustar` magic at 257.
func looksLikeLayer(_ body: [UInt8]) -> Bool {
    if body.count >= 2, body[0] == 0x1F, body[1] == 0x8B { return true }
    if body.count >= 4, body[0] == 0x28, body[1] == 0xB5, body[2] == 0x2F, body[3] == 0xFD { return true }
    return body.count >= 262 && Array(body[257..<262]) == Array("ustar".utf8)
}

/// Answers every request with 200, the same headers and the same body.
struct CannedTransport: RegistryTransport {
    let body: [UInt8]
    var headers: [(String, String)] = []
    func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse {
        RegistryResponse(status: 200, headers: headers, body: body)
    }
    func shutdown() async {}
}

/// Runs async work to completion from the fuzzer's synchronous callback.
func blocking<T>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { outcome.result = .success(try await work()) } catch { outcome.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

// @unchecked Sendable: written by the task before it signals, read after the wait.
final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
