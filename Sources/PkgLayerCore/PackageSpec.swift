import Foundation

/// A version comparison, with rpm's and Debian's spellings.
public enum VersionOperator: String, Sendable, Codable, CaseIterable {
    case lessThan, lessOrEqual, equal, greaterOrEqual, greaterThan

    /// Accepts rpm (`<`, `>`) and Debian (`<<`, `>>`) spellings, plus `==`.
    public init?(parsing text: String) {
        switch text {
        case "<", "<<": self = .lessThan
        case "<=", "=<": self = .lessOrEqual
        case "=", "==": self = .equal
        case ">=", "=>": self = .greaterOrEqual
        case ">", ">>": self = .greaterThan
        default: return nil
        }
    }

    public var rpm: String {
        switch self {
        case .lessThan: return "<"
        case .lessOrEqual: return "<="
        case .equal: return "="
        case .greaterOrEqual: return ">="
        case .greaterThan: return ">"
        }
    }

    public var deb: String {
        switch self {
        case .lessThan: return "<<"
        case .lessOrEqual: return "<="
        case .equal: return "="
        case .greaterOrEqual: return ">="
        case .greaterThan: return ">>"
        }
    }
}

/// One package relation: `name`, `name >= 1.2`, `name (>= 1.2)`. Alternatives (`a | b`) are kept as a
/// list; rpm writes them as a rich dependency `(a or b)`.
public struct Dependency: Sendable, Equatable, Codable, CustomStringConvertible {
    public struct Clause: Sendable, Equatable, Codable {
        public var name: String
        public var versionOperator: VersionOperator?
        public var version: String?
        public init(name: String, versionOperator: VersionOperator? = nil, version: String? = nil) {
            self.name = name; self.versionOperator = versionOperator; self.version = version
        }
    }

    public var alternatives: [Clause]

    public init(name: String, versionOperator: VersionOperator? = nil, version: String? = nil) {
        alternatives = [Clause(name: name, versionOperator: versionOperator, version: version)]
    }

    public init(alternatives: [Clause]) { self.alternatives = alternatives }

    public var name: String { alternatives[0].name }

    /// Parses fpm/rpm/deb spellings. `field` names the flag or field in errors.
    public init(parsing text: String, field: String) throws {
        var clauses: [Clause] = []
        for part in text.split(separator: "|") {
            clauses.append(try Self.parseClause(part.trimmingCharacters(in: .whitespaces), whole: text, field: field))
        }
        guard !clauses.isEmpty else {
            throw PkgLayerError(.invalidInput, "empty dependency; write 'name' or 'name >= version'", at: field)
        }
        alternatives = clauses
    }

    private static func parseClause(_ text: String, whole: String, field: String) throws -> Clause {
        var s = text
        // Debian form: name (>= 1.0). Only a trailing group that starts with an operator is a version:
        // rpm capability names carry parentheses of their own (`perl(Foo::Bar)`, `libc.so.6()(64bit)`).
        if let open = s.lastIndex(of: "("), s.hasSuffix(")") {
            let inner = s[s.index(after: open)..<s.index(before: s.endIndex)]
            if let first = inner.trimmingCharacters(in: .whitespaces).first, "<>=".contains(first) {
                s = String(s[..<open]) + " " + inner
            }
        }
        let scalars = Array(s)
        var i = 0
        while i < scalars.count, !scalars[i].isWhitespace, !"<>=".contains(scalars[i]) { i += 1 }
        let name = String(scalars[0..<i])
        var rest = String(scalars[i...]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.allSatisfy({ !$0.isWhitespace && $0 != "," }) else {
            throw PkgLayerError(.invalidInput, "cannot read dependency '\(whole)'; write 'name', 'name >= 1.0' or 'name (>= 1.0)'", at: field)
        }
        if rest.isEmpty { return Clause(name: name) }
        var opText = ""
        while let c = rest.first, "<>=".contains(c) { opText.append(c); rest.removeFirst() }
        let version = rest.trimmingCharacters(in: .whitespaces)
        guard let op = VersionOperator(parsing: opText), !version.isEmpty, !version.contains(where: { $0.isWhitespace }) else {
            throw PkgLayerError(.invalidInput, "cannot read the version constraint in '\(whole)'; use one of < <= = >= > (or Debian's << >>) followed by a version",
                                at: field)
        }
        return Clause(name: name, versionOperator: op, version: version)
    }

    public var description: String {
        alternatives.map { c in
            if let op = c.versionOperator, let v = c.version { return "\(c.name) \(op.rpm) \(v)" }
            return c.name
        }.joined(separator: " | ")
    }
}

/// When a maintainer script runs. The names are fpm's; each writer maps them onto its own hooks
/// (see README, "Scripts and upgrades").
public enum ScriptHook: String, Sendable, Codable, CaseIterable {
    case beforeInstall = "before-install"
    case afterInstall = "after-install"
    case beforeRemove = "before-remove"
    case afterRemove = "after-remove"
    case beforeUpgrade = "before-upgrade"
    case afterUpgrade = "after-upgrade"
    /// rpm only: %pretrans and %posttrans.
    case beforeTransaction = "before-transaction"
    case afterTransaction = "after-transaction"
}

/// Everything about a package except its files.
public struct PackageSpec: Sendable, Equatable {
    public var name: String
    /// Upstream version, without epoch or release.
    public var version: String
    /// rpm Release / Debian revision (fpm's `--iteration`). nil means "1" for rpm and none for deb.
    public var release: String?
    public var epoch: UInt32?
    public var architecture: Architecture
    public var summary: String?
    public var description: String?
    public var license: String?
    public var vendor: String?
    public var url: String?
    public var maintainer: String?
    /// Debian Section / rpm Group.
    public var section: String?
    public var priority: String?

    public var depends: [Dependency] = []
    public var preDepends: [Dependency] = []
    public var recommends: [Dependency] = []
    public var suggests: [Dependency] = []
    public var provides: [Dependency] = []
    public var conflicts: [Dependency] = []
    public var breaks: [Dependency] = []
    public var replaces: [Dependency] = []
    /// rpm Obsoletes. Debian expresses the same with Replaces + Breaks.
    public var obsoletes: [Dependency] = []

    public var scripts: [ScriptHook: String] = [:]
    /// Newest first. rpm writes the changelog tags; a .deb carries it as
    /// /usr/share/doc/NAME/changelog.Debian.gz (added to the manifest by the pipeline).
    public var changelog: [ChangelogEntry] = []
    /// What only rpm or only Debian can express (triggers, verify script, control fields, …).
    public var extras = FormatExtras()
    /// The clock for BUILDTIME, archive headers and mtime clamping.
    public var sourceDateEpoch: SourceDateEpoch

    public init(name: String, version: String, release: String? = nil, epoch: UInt32? = nil,
                architecture: Architecture, sourceDateEpoch: SourceDateEpoch) {
        self.name = name; self.version = version; self.release = release; self.epoch = epoch
        self.architecture = architecture; self.sourceDateEpoch = sourceDateEpoch
    }

    /// A one-line summary: the explicit one, else the description's first line, else the name.
    public var effectiveSummary: String {
        if let summary, !summary.isEmpty { return summary }
        // The first non-blank line, split at every line break by Unicode scalar ("\r\n" is one Character).
        if let first = SingleLine.lines(description ?? "").first(where: { !$0.isEmpty }) { return first }
        return name
    }

    /// Checks the fields every format needs, naming the field at fault.
    public func validate() throws {
        let nameOK = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-._".contains($0)) }
        guard nameOK, name.first!.isLetter || name.first!.isNumber else {
            throw PkgLayerError(.invalidInput, "package name '\(name)' must start with a letter or digit and hold only letters, digits and + - . _",
                                at: "name")
        }
        guard !version.isEmpty, version.first!.isNumber,
              version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.~_".contains($0)) }) else {
            throw PkgLayerError(.invalidInput, "version '\(version)' must start with a digit and hold only letters, digits and + . ~ _ (put the release in --iteration, the epoch in --epoch)",
                                at: "version")
        }
        if let release {
            guard !release.isEmpty, release.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.~_".contains($0)) }) else {
                throw PkgLayerError(.invalidInput, "release '\(release)' may hold only letters, digits and + . ~ _", at: "iteration")
            }
        }
    }
}

/// What a writer produced.
public struct PackageOutput: Sendable, Equatable {
    public var path: String
    public var format: PackageFormat
    public var sha256: String
    public var size: UInt64
    public init(path: String, format: PackageFormat, sha256: String, size: UInt64) {
        self.path = path; self.format = format; self.sha256 = sha256; self.size = size
    }
}

/// A package written, with what the format could not express (one sentence each; writers never print).
public struct PackagerResult: Sendable {
    public var output: PackageOutput
    public var warnings: [String]
    public init(output: PackageOutput, warnings: [String] = []) { self.output = output; self.warnings = warnings }
}

/// A package format writer: the seam where the pipeline meets the format rooms. Each format lives in
/// its own room (PkgLayerRPM, PkgLayerDeb) and conforms to this; callers look a packager up by its
/// `PackageFormat` and call it, never switching on the format themselves.
public protocol Packager: Sendable {
    /// The format this packager writes.
    static var format: PackageFormat { get }
    /// The conventional file name for a spec (`name-version-release.arch.rpm`).
    func fileName(for spec: PackageSpec) -> String
    /// Writes the package atomically to `path` (a temporary file in the same directory, then rename).
    func pack(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> PackagerResult
}

extension Packager {
    public var format: PackageFormat { Self.format }
}

/// A package format reader: metadata and manifest, with the content extracted under a staging root.
public protocol PackageReading: Sendable {
    static var format: PackageFormat { get }
    func read(path: String, extractTo stagingDir: String?) throws -> ReadPackage
}

/// A package read back: its metadata and its manifest, with content extracted under `stagingRoot`.
public struct ReadPackage {
    public var spec: PackageSpec
    public var manifest: FileManifest
    public init(spec: PackageSpec, manifest: FileManifest) { self.spec = spec; self.manifest = manifest }
}
