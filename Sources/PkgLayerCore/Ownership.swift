import Foundation

/// A user or group as packages name them: a name (`root`, `nginx`) or a numeric id (`0`).
/// rpm records names; tar records both. A name with no known id gets id 0 in tar headers and is
/// looked up by name by the installer (dpkg and rpm both prefer names).
public struct Owner: Sendable, Equatable, Codable {
    public var name: String
    public var id: UInt32

    public static let root = Owner(name: "root", id: 0)

    public init(name: String, id: UInt32) { self.name = name; self.id = id }

    /// Parses `name`, `id` or `name:id`. `field` names the flag in errors.
    public init(parsing text: String, field: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func validName(_ s: String) -> Bool {
            !s.isEmpty && s.count <= 32 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
                && !(s.first!.isNumber && s.allSatisfy(\.isNumber))
        }
        if parts.count == 1, let id = UInt32(parts[0]) {
            self.init(name: id == 0 ? "root" : parts[0], id: id)
        } else if parts.count == 1, validName(parts[0]) {
            self.init(name: parts[0], id: parts[0] == "root" ? 0 : 0)
        } else if parts.count == 2, validName(parts[0]), let id = UInt32(parts[1]) {
            self.init(name: parts[0], id: id)
        } else {
            throw PkgLayerError(.invalidInput, "owner '\(text)' must be a name (letters, digits, _ - .), a numeric id, or name:id", at: field)
        }
    }
}

/// A per-path attribute override, as fpm's `--rpm-attr MODE,USER,GROUP:PATH` spells it (`-` keeps a field).
public struct AttributeRule: Sendable, Equatable {
    public var glob: Glob
    public var mode: UInt32?
    public var user: Owner?
    public var group: Owner?

    public init(glob: Glob, mode: UInt32? = nil, user: Owner? = nil, group: Owner? = nil) {
        self.glob = glob; self.mode = mode; self.user = user; self.group = group
    }

    public init(parsingRPMAttr text: String, field: String = "--rpm-attr") throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw PkgLayerError(.usage, "'\(text)' must look like MODE,USER,GROUP:PATH (use - to keep a field), e.g. 4755,root,root:/usr/bin/ping",
                                at: field)
        }
        let attrs = text[..<colon].split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        let path = String(text[text.index(after: colon)...])
        guard attrs.count == 3, !path.isEmpty else {
            throw PkgLayerError(.usage, "'\(text)' must look like MODE,USER,GROUP:PATH (use - to keep a field)", at: field)
        }
        glob = Glob(path)
        if attrs[0] == "-" || attrs[0].isEmpty {
            mode = nil
        } else {
            guard let m = UInt32(attrs[0], radix: 8), m <= 0o7777 else {
                throw PkgLayerError(.usage, "mode '\(attrs[0])' in '\(text)' is not an octal mode like 0755 or 4755", at: field)
            }
            mode = m
        }
        user = (attrs[1] == "-" || attrs[1].isEmpty) ? nil : try Owner(parsing: attrs[1], field: field)
        group = (attrs[2] == "-" || attrs[2].isEmpty) ? nil : try Owner(parsing: attrs[2], field: field)
    }
}

extension ManifestEntry {
    /// Applies a rule if it matches this entry's path (modes never apply to symlinks).
    public mutating func apply(_ rule: AttributeRule) {
        guard rule.glob.matches(path) else { return }
        if let mode = rule.mode, kind != .symlink { self.mode = mode }
        if let user = rule.user { self.user = user.name; uid = user.id }
        if let group = rule.group { self.group = group.name; gid = group.id }
    }

    /// Sets the owner and/or group.
    public mutating func setOwner(user: Owner?, group: Owner?) {
        if let user { self.user = user.name; uid = user.id }
        if let group { self.group = group.name; gid = group.id }
    }
}
