import PkgLayerCore

/// `HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`, the way docker and skopeo name an image in a registry.
public struct RegistryReference: Equatable, Sendable, CustomStringConvertible {
    /// `host` or `host:port`, as the registry is addressed (and as docker's config.json keys it).
    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry; self.repository = repository; self.tag = tag; self.digest = digest
    }

    /// The tag or digest to request: the digest when given, else the tag, else `latest`.
    public var reference: String { digest?.description ?? tag ?? "latest" }

    public var description: String {
        var text = "\(registry)/\(repository)"
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// Parses `host[:port]/repo[:tag][@sha256:…]`. A first component without `.` or `:` that is not
    /// `localhost` is a Docker Hub name (`nginx` → `docker.io/library/nginx`).
    public init(parsing text: String) throws {
        let fail = { (why: String) in
            PkgLayerError(.usage, "is not an image reference: \(why); write HOST[:PORT]/REPOSITORY[:TAG] (e.g. 127.0.0.1:5000/nginx:1.22)", at: text)
        }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            guard let parsed = Digest(parsing: String(rest[rest.index(after: at)...])) else { throw fail("the digest is not sha256:<64 hex>") }
            digest = parsed
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, !components.contains(where: \.isEmpty) else { throw fail("a name component is empty") }
        var registry = "docker.io"
        if components.count > 1, components[0].contains(".") || components[0].contains(":") || components[0] == "localhost" {
            registry = components.removeFirst()
        }
        if registry == "docker.io", components.count == 1 { components.insert("library", at: 0) }
        let repository = components.joined(separator: "/")
        let allowed = repository.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "._-/".contains($0) }
        guard allowed else { throw fail("the repository must be lowercase letters, digits and . _ - /") }
        if let tag {
            guard !tag.isEmpty, tag.count <= 128, tag.first != ".", tag.first != "-",
                  tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw fail("the tag must be letters, digits, '.', '_' or '-', at most 128")
            }
        }
        self.init(registry: registry, repository: repository, tag: tag, digest: digest)
    }
}
