import Foundation
import PkgLayerCore

/// A `WWW-Authenticate` challenge: `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
public struct AuthChallenge: Equatable, Sendable {
    public var scheme: String
    public var parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }

    /// Parses the first challenge of a header value; quoted values may hold commas.
    public init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased(); parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        var parameters: [String: String] = [:]
        var rest = trimmed[trimmed.index(after: space)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst(); continue }
                    if character == "\"" { break }
                    value.append(character)
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[name] = value
        }
        self.parameters = parameters
    }
}

/// Fetches bearer tokens from a token service (the distribution spec's token flow): a GET of the
/// realm with `service` and one `scope` per repository, with basic credentials when there are any.
/// Credentials never go to a plain-HTTP realm unless the registry itself is plain HTTP (`--insecure`,
/// `allowPlainHTTP`): a registry on HTTPS that names an `http://` realm is refused with an error.
/// The answer is bounded in size (`PKGLAYER_MAX_REGISTRY_RESPONSE_BYTES`) and in time (RegistryDeadline).
enum TokenService {
    static func fetch(challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?,
                      transport: RegistryTransport, allowPlainHTTP: Bool = false) async throws -> String {
        guard let realm = challenge.realm, var components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http", components.host != nil else {
            throw PkgLayerError(.auth, "the registry's bearer challenge has no usable realm URL (an http or https URL)", at: "WWW-Authenticate")
        }
        if scheme == "http", credential != nil, !allowPlainHTTP {
            let shown = RegistryRequest(method: "GET", url: realm).displayURL
            throw PkgLayerError(.auth, """
                the registry (on HTTPS) sends logins to a token service on plain HTTP (\(shown)), where the password would travel \
                in clear; pkglayer does not send it. Have the registry's administrator set an https:// token realm
                """, at: "WWW-Authenticate")
        }
        var items = components.queryItems ?? []
        if let service = challenge.service { items.append(URLQueryItem(name: "service", value: service)) }
        for scope in scopes { items.append(URLQueryItem(name: "scope", value: scope)) }
        components.queryItems = items
        var request = RegistryRequest(method: "GET", url: components.string ?? realm)
        if let credential { request.headers.append(("Authorization", credential.basicAuthorization)) }
        let response: RegistryResponse
        do {
            response = try await transport.send(request)
        } catch let error as RegistryTransportError {
            throw PkgLayerError(.registry, "the token service could not be reached: \(error.detail)", at: request.displayURL)
        }
        guard response.status == 200 else {
            let who = credential.map { " for user '\($0.username)'" } ?? " anonymously"
            throw PkgLayerError(.auth, "the token service refused a token\(who) (HTTP \(response.status)) for \(scopes.joined(separator: " ")); check the user name and password (pkglayer login)",
                                at: request.displayURL)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let token = (object["token"] as? String) ?? (object["access_token"] as? String), !token.isEmpty else {
            throw PkgLayerError(.auth, "the token service answered without a token", at: request.displayURL)
        }
        return token
    }
}
