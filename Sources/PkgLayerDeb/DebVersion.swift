import PkgLayerCore

/// A Debian version, `[epoch:]upstream[-revision]` (deb-version(7)).
public struct DebVersion: Equatable, Sendable, CustomStringConvertible {
    public var epoch: UInt32?
    public var upstream: String
    public var revision: String?

    public init(epoch: UInt32?, upstream: String, revision: String?) {
        self.epoch = epoch; self.upstream = upstream; self.revision = revision
    }

    public init(spec: PackageSpec) {
        self.init(epoch: spec.epoch, upstream: spec.version, revision: spec.release)
    }

    /// The full version, as the `Version:` field carries it.
    public var description: String {
        var s = ""
        if let epoch { s += "\(epoch):" }
        s += upstream
        if let revision { s += "-\(revision)" }
        return s
    }

    /// The version as file names carry it: Debian leaves the epoch out of file names.
    public var fileNameForm: String {
        revision.map { "\(upstream)-\($0)" } ?? upstream
    }

    /// Splits `1:2.3-4` into epoch 1, upstream 2.3, revision 4. The revision is what follows the last
    /// hyphen; the epoch is what precedes the first colon. `location` names the package in errors.
    public init(parsing text: String, location: String) throws {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var epoch: UInt32?
        if let colon = rest.firstIndex(of: ":") {
            guard let value = UInt32(rest[..<colon]) else {
                throw PkgLayerError(.deb, "Version '\(text)' has an epoch that is not a number", at: location)
            }
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        var revision: String?
        if let hyphen = rest.lastIndex(of: "-") {
            revision = String(rest[rest.index(after: hyphen)...])
            rest = rest[..<hyphen]
            guard !revision!.isEmpty else {
                throw PkgLayerError(.deb, "Version '\(text)' ends with '-' but has no revision after it", at: location)
            }
        }
        guard !rest.isEmpty, rest.first!.isNumber else {
            throw PkgLayerError(.deb, "Version '\(text)' must have an upstream part that starts with a digit", at: location)
        }
        let allowed: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || ".+~-:".contains($0)) }
        guard rest.allSatisfy(allowed), revision?.allSatisfy(allowed) ?? true else {
            throw PkgLayerError(.deb, "Version '\(text)' holds characters outside A-Z a-z 0-9 . + ~ - :", at: location)
        }
        self.init(epoch: epoch, upstream: String(rest), revision: revision)
    }
}
