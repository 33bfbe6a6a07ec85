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
/// in-memory transport).
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
    return 0
}

/// Answers every request with 200 and the same body.
struct CannedTransport: RegistryTransport {
    let body: [UInt8]
    func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse {
        RegistryResponse(status: 200, body: body)
    }
    func shutdown() async {}
}

/// Runs async work to completion from the fuzzer's synchronous callback.
func blocking(_ work: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable {   // written by the task before it signals, read after the wait
        var error: Error?
    }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await work() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}
