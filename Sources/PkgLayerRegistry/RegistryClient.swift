import Foundation
import Logging
import PkgLayerCore
import PkgLayerOCI

/// Talks the OCI distribution API to one registry for one operation: authentication (anonymous,
/// basic, bearer tokens from the `WWW-Authenticate` challenge), retries with backoff on 5xx, 429 and
/// dropped connections, and the counters a push or pull reports. Errors quote the registry's own error
/// code and the request (method and path), never a credential.
public actor RegistryClient {
    public let registry: String
    let baseURL: String
    let transport: RegistryTransport
    let credential: RegistryCredential?
    let options: RegistryOptions
    /// `repository:NAME:ACTIONS` scopes a bearer token is asked for.
    var scopes: [String]
    var authorization: String?
    public internal(set) var stats = RegistryStats()
    let logger = Logger(label: "pkglayer.registry")

    public init(registry: String, transport: RegistryTransport, credential: RegistryCredential?, options: RegistryOptions, scopes: [String]) {
        self.registry = registry
        self.transport = transport
        self.credential = credential
        self.options = options
        self.scopes = scopes
        baseURL = (options.trust.insecure ? "http://" : "https://") + (registry == "docker.io" ? "registry-1.docker.io" : registry)
    }

    /// The absolute URL of a path (`/v2/…`) or of a `Location` header (absolute or relative).
    func url(_ location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        return baseURL + (location.hasPrefix("/") ? location : "/" + location)
    }

    /// Sends a request with the client's authorization, answering one 401 challenge, following
    /// redirects of GET and HEAD, and (when `retrying`) retrying 5xx, 429 and connection failures with
    /// exponential backoff. Any other status is returned for the caller to judge.
    ///
    /// Credentials (the Authorization header, and answering a challenge) go only to the registry's own
    /// scheme, host and port: never to a redirect's storage host, and never over plain HTTP when the
    /// registry is HTTPS (a redirect to `http://` on the same host and port gets none either).
    /// `expectedBytes` is a download's declared size, which its deadline allows for.
    func send(_ method: String, _ location: String, headers: [(String, String)] = [], body: RegistryBody = .empty,
              download: BlobWriter? = nil, retrying: Bool = true, expectedBytes: Int64? = nil,
              progress: (@Sendable (Int64) -> Void)? = nil) async throws -> RegistryResponse {
        var target = url(location)
        var challenged = false, redirects = 0, attempt = 1
        var sameHost = true
        while true {
            var request = RegistryRequest(method: method, url: target, headers: headers, body: body, expectedBytes: expectedBytes)
            if let authorization, sameHost { request.headers.append(("Authorization", authorization)) }
            stats.requests += 1
            logger.debug("\(request.summary)", metadata: ["registry": "\(registry)"])
            let response: RegistryResponse
            do {
                response = try await transport.send(request, download: download, progress: progress)
            } catch let error as RegistryTransportError {
                if error.retryable, retrying, attempt < options.maxAttempts {
                    try await backoff(&attempt, after: error.detail, request: request)
                    continue
                }
                throw PkgLayerError(.registry, error.detail + (error.retryable && retrying ? " (after \(attempt) tries)" : ""),
                                    at: "\(registry): \(request.summary)")
            }
            if response.status == 401, !challenged, sameHost,
               let challenge = response.headers("WWW-Authenticate").lazy.compactMap(AuthChallenge.init(header:)).first {
                challenged = true
                try await authenticate(challenge, after: request)
                continue
            }
            if [301, 302, 303, 307, 308].contains(response.status), method == "GET" || method == "HEAD",
               let next = response.header("Location") {
                let resolved = URL(string: next, relativeTo: URL(string: target))?.absoluteURL
                guard redirects < Self.maxRedirects else {
                    let last = resolved.map { RegistryRequest(method: method, url: $0.absoluteString).displayURL } ?? "?"
                    throw PkgLayerError(.registry, """
                        too many redirects: the registry answered HTTP \(response.status) more than \(Self.maxRedirects) times in a row \
                        (the last to \(last)); a redirect loop in the registry or its storage configuration: see the registry's log
                        """, at: "\(registry): \(RegistryRequest(method: method, url: url(location)).summary)")
                }
                redirects += 1
                // Credentials go only to the registry itself (same scheme, host and port), never to a
                // redirect's storage host, and never downgraded to plain HTTP.
                sameHost = Self.sameOrigin(resolved, URL(string: baseURL))
                target = resolved?.absoluteString ?? next
                continue
            }
            if response.status >= 500 || response.status == 429, retrying, attempt < options.maxAttempts {
                // A registry that says when to come back (Retry-After: seconds) is believed, up to a minute.
                let asked = response.header("Retry-After").flatMap(Double.init).map { min($0, 60) }
                try await backoff(&attempt, after: "HTTP \(response.status)", request: request, atLeast: asked ?? 0)
                continue
            }
            return response
        }
    }

    /// Redirects followed for one request before it is a loop.
    static let maxRedirects = 5

    /// Same scheme, host and port (a missing port is the scheme's default).
    static func sameOrigin(_ a: URL?, _ b: URL?) -> Bool {
        guard let a, let b, let schemeA = a.scheme?.lowercased(), let schemeB = b.scheme?.lowercased(), schemeA == schemeB,
              a.host?.lowercased() == b.host?.lowercased() else { return false }
        let defaultPort = schemeA == "https" ? 443 : 80
        return (a.port ?? defaultPort) == (b.port ?? defaultPort)
    }

    func backoff(_ attempt: inout Int, after why: String, request: RegistryRequest, atLeast minimum: Double = 0) async throws {
        let delay = max(minimum, options.retryDelay * pow(2, Double(attempt - 1)))
        logger.debug("retrying after \(why)", metadata: ["request": "\(request.summary)", "attempt": "\(attempt + 1)", "delay": "\(delay)"])
        attempt += 1
        stats.retries += 1
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
    }

    /// Answers a challenge: basic sends the credential as is; bearer fetches a token for the scopes.
    func authenticate(_ challenge: AuthChallenge, after request: RegistryRequest) async throws {
        switch challenge.scheme {
        case "basic":
            guard let credential else {
                throw PkgLayerError(.auth, "the registry requires a login (UNAUTHORIZED); run 'pkglayer login \(registry)' first",
                                    at: "\(registry): \(request.summary)")
            }
            authorization = credential.basicAuthorization
        case "bearer":
            var wanted = scopes
            for scope in (challenge.scope ?? "").split(separator: " ").map(String.init) where !wanted.contains(scope) { wanted.append(scope) }
            let token = try await TokenService.fetch(challenge: challenge, scopes: wanted, credential: credential, transport: transport,
                                                     allowPlainHTTP: options.trust.insecure)
            authorization = "Bearer \(token)"
        default:
            throw PkgLayerError(.auth, "the registry asks for '\(challenge.scheme)' authentication, which pkglayer does not speak (only basic and bearer)",
                                at: "\(registry): \(request.summary)")
        }
    }

    /// Returns the response when its status is one of `expected`, else the registry's error.
    @discardableResult
    func expect(_ response: RegistryResponse, _ expected: Set<Int>, _ method: String, _ location: String) throws -> RegistryResponse {
        guard expected.contains(response.status) else {
            throw RegistryFailure.error(response, request: RegistryRequest(method: method, url: url(location)), registry: registry,
                                        username: credential?.username)
        }
        return response
    }

    public func shutdown() async { await transport.shutdown() }
}

/// Turns a registry's error answer into a PkgLayerError that names its error codes and says what to do.
enum RegistryFailure {
    static func error(_ response: RegistryResponse, request: RegistryRequest, registry: String, username: String?) -> PkgLayerError {
        var codes: [String] = [], messages: [String] = []
        if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
           let errors = object["errors"] as? [[String: Any]] {
            for error in errors {
                if let code = error["code"] as? String { codes.append(code) }
                if let message = error["message"] as? String, !message.isEmpty { messages.append(message) }
            }
        }
        if codes.isEmpty, response.status == 401 { codes = ["UNAUTHORIZED"] }
        if codes.isEmpty, response.status == 403 { codes = ["DENIED"] }
        var text = "registry answered HTTP \(response.status)"
        if !codes.isEmpty { text += " \(codes.joined(separator: ", "))" }
        if !messages.isEmpty { text += " (\(messages.joined(separator: "; ")))" }
        let hint: String
        switch codes.first ?? "" {
        case "UNAUTHORIZED":
            hint = username.map { "the registry rejected the credentials of user '\($0)'; check them and run 'pkglayer login \(registry)'" }
                ?? "the registry requires a login; run 'pkglayer login \(registry)'"
        case "DENIED": hint = "the user may not do this on this repository; ask the registry's administrator for access"
        case "NAME_UNKNOWN", "MANIFEST_UNKNOWN": hint = "the repository or tag does not exist in the registry; check the reference"
        case "BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN": hint = "a blob the manifest names is missing in the registry; push the image again"
        case "MANIFEST_INVALID", "DIGEST_INVALID", "SIZE_INVALID": hint = "the registry rejected the content; check the image with oci-image-tool validate"
        case "TOOMANYREQUESTS": hint = "the registry is rate limiting; wait and try again"
        default: hint = "see the registry's log for details"
        }
        let code: PkgLayerError.Code = [401, 403].contains(response.status) ? .auth : .registry
        return PkgLayerError(code, "\(text); \(hint)", at: "\(registry): \(request.summary)")
    }
}
