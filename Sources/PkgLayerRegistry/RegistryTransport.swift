import Foundation
import PkgLayerCore
import PkgLayerOCI

/// What a request sends: nothing, bytes held in memory (manifests), or a range of a file (blobs,
/// streamed, never read whole).
public enum RegistryBody: Sendable {
    case empty
    case bytes([UInt8])
    case file(path: String, offset: Int64, length: Int64)

    public var length: Int64 {
        switch self {
        case .empty: return 0
        case .bytes(let bytes): return Int64(bytes.count)
        case .file(_, _, let length): return length
        }
    }
}

/// One HTTP request to a registry (or its token service).
public struct RegistryRequest: Sendable {
    public var method: String
    /// Absolute URL.
    public var url: String
    public var headers: [(String, String)]
    public var body: RegistryBody
    /// The answer's declared size (a blob's, from its descriptor), which its deadline allows for; nil
    /// for answers read into memory, which are bounded by their limit (RegistryDeadline.swift).
    public var expectedBytes: Int64?

    public init(method: String, url: String, headers: [(String, String)] = [], body: RegistryBody = .empty, expectedBytes: Int64? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body; self.expectedBytes = expectedBytes
    }

    /// `scheme://host[:port]/path`: the URL without its query (upload state, token scopes) and
    /// without user info, for errors that must name where a transfer went.
    public var displayURL: String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return summary }
        let port = components.port.map { ":\($0)" } ?? ""
        let path = components.path.isEmpty ? "/" : components.path
        return "\(scheme)://\(host)\(port)\(path)"
    }

    /// `METHOD /path` without the query (which can carry upload state) and without headers (which can
    /// carry credentials): what errors and logs may quote.
    public var summary: String {
        // A URL that does not parse is never quoted: it could hold user:password@ or a token.
        guard let path = URLComponents(string: url)?.path else { return "\(method) (a URL that does not parse, not shown)" }
        return "\(method) \(path.isEmpty ? "/" : path)"
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A response; its body is in memory unless it was streamed into a blob writer.
public struct RegistryResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}

/// A failure below HTTP: no response came. `retryable` failures (connection refused or reset, a
/// timeout) are tried again; TLS failures never are, so an untrusted certificate fails closed at once.
public struct RegistryTransportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case connection, timeout, tls }
    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) { self.kind = kind; self.detail = detail }

    public var retryable: Bool { kind != .tls }
    public var description: String { detail }
}

/// How the client reaches a registry: HTTP in production (`HTTPRegistryTransport`), an in-memory
/// registry in unit tests.
public protocol RegistryTransport: Sendable {
    /// Sends one request and returns the response without following redirects. With `download`, a
    /// 2xx body streams into it instead of memory; `progress` receives byte counts as body bytes move
    /// (sent for uploads, received for downloads).
    func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse

    /// Releases connections; the transport is not used afterwards.
    func shutdown() async
}

extension RegistryTransport {
    public func send(_ request: RegistryRequest) async throws -> RegistryResponse {
        try await send(request, download: nil, progress: nil)
    }
}
