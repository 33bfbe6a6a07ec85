import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// The resolved set of repository packages, pinned by digest, so the same inputs give the same image
/// again, offline.
///
/// The file is JSON with sorted keys, two-space indented, ending in a newline (deterministic, and easy to
/// review in a diff):
/// ```json
/// {
///   "architecture": "amd64",
///   "format": "pkglayer-lock/1",
///   "inputs": "sha256:…",
///   "packageFormat": "deb",
///   "packages": [
///     {"architecture": "amd64", "name": "libc6", "repository": "apt http://… bookworm main",
///      "sha256": "…", "size": 2757268, "url": "http://…/pool/main/g/glibc/libc6_….deb", "version": "2.36-9+deb12u10"}
///   ]
/// }
/// ```
/// `inputs` is the sha256 of the canonical JSON of everything resolution depends on (format, architecture,
/// roots, local package digests, repositories), so a lockfile written for other inputs is detected as stale.
/// Local packages are not listed: their digests are part of `inputs`.
///
/// An image on a registry base (`base: HOST/REPO:TAG`) adds an optional `base` object,
/// `{"digest": "sha256:…", "reference": "HOST/REPO:TAG"}`: the reference as the image names it and the
/// manifest digest it resolved to for the image's platform. It is independent of `inputs`; a lockfile
/// without it (written before registry bases, or for an image without one) reads as before.
public struct Lockfile: Sendable, Equatable {
    public static let formatName = "pkglayer-lock/1"

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var version: String
        public var architecture: String
        public var url: String
        public var sha256: String
        public var size: Int64
        public var repository: String

        public init(name: String, version: String, architecture: String, url: String, sha256: String, size: Int64, repository: String) {
            self.name = name; self.version = version; self.architecture = architecture
            self.url = url; self.sha256 = sha256; self.size = size; self.repository = repository
        }
    }

    /// A registry base as resolved: the reference as written and the manifest digest for the image's
    /// platform (never an index's).
    public struct Base: Sendable, Equatable {
        public var reference: String
        /// `sha256:<hex>`.
        public var digest: String

        public init(reference: String, digest: String) {
            self.reference = reference; self.digest = digest
        }
    }

    /// `deb` or `rpm`.
    public var packageFormat: PackageFormat
    public var architecture: String
    /// `sha256:<hex>` of the inputs (see `inputsDigest`).
    public var inputs: String
    /// Sorted by name.
    public var packages: [Entry]
    /// The image's registry base, pinned; nil when the image has none (or it was not recorded yet).
    public var base: Base?

    public init(packageFormat: PackageFormat, architecture: String, inputs: String, packages: [Entry], base: Base? = nil) {
        self.packageFormat = packageFormat; self.architecture = architecture; self.inputs = inputs
        self.packages = packages.sorted { ($0.name, $0.architecture) < ($1.name, $1.architecture) }
        self.base = base
    }

    /// The digest of what resolution depends on. Order of roots and repositories matters (it decides
    /// preferences), so they are kept in order; local packages are identified by their sha256.
    public static func inputsDigest(packageFormat: PackageFormat, architecture: String, roots: [Dependency],
                                    localSHA256: [String], repositories: [RepositorySpec]) -> String {
        let value = JSONValue.object([
            ("packageFormat", .string(packageFormat.rawValue)),
            ("architecture", .string(architecture)),
            ("roots", .array(roots.map { .string($0.description) })),
            ("local", .array(localSHA256.sorted().map { .string($0) })),
            ("repositories", .array(repositories.map { .string($0.summary) })),
        ])
        return Digest.sha256(value.canonicalBytes).description
    }

    public var json: JSONValue {
        .object([
            ("base", base.map { .object([("reference", .string($0.reference)), ("digest", .string($0.digest))]) }),
            ("format", .string(Self.formatName)),
            ("packageFormat", .string(packageFormat.rawValue)),
            ("architecture", .string(architecture)),
            ("inputs", .string(inputs)),
            ("packages", .array(packages.map { entry in
                .object([
                    ("name", .string(entry.name)), ("version", .string(entry.version)),
                    ("architecture", .string(entry.architecture)), ("url", .string(entry.url)),
                    ("sha256", .string(entry.sha256)), ("size", .int(entry.size)),
                    ("repository", .string(entry.repository)),
                ])
            })),
        ])
    }

    /// Writes the lockfile atomically (temporary file, then rename).
    public func write(to path: String) throws {
        let file = try AtomicFile(path: path, overwrite: true, mode: 0o644)
        try file.write(json.pretty)
        try file.commit()
    }

    /// Reads and checks a lockfile; every error names the file and the entry at fault.
    public static func read(path: String) throws -> Lockfile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PkgLayerError(.io, "cannot read the lockfile; check the path, or remove the option to resolve afresh", at: path)
        }
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "the lockfile is not a JSON object; delete it to resolve again", at: path)
        }
        func string(_ object: [String: Any], _ key: String, _ where_: String) throws -> String {
            guard let value = object[key] as? String, !value.isEmpty else {
                throw PkgLayerError(.invalidInput, "\(where_) lacks the text field '\(key)'; delete the lockfile to resolve again", at: path)
            }
            return value
        }
        guard (top["format"] as? String) == formatName else {
            throw PkgLayerError(.invalidInput, "format is \(top["format"].map { "\($0)" } ?? "missing"), expected \(formatName); delete the lockfile to resolve again",
                                at: path)
        }
        guard let list = top["packages"] as? [[String: Any]] else {
            throw PkgLayerError(.invalidInput, "'packages' must be a list of objects; delete the lockfile to resolve again", at: path)
        }
        var entries: [Entry] = []
        for (index, object) in list.enumerated() {
            let label = "packages[\(index)]\((object["name"] as? String).map { " (\($0))" } ?? "")"
            let sha256 = try string(object, "sha256", label)
            guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw PkgLayerError(.invalidInput, "\(label): sha256 '\(sha256)' is not 64 lowercase hex digits", at: path)
            }
            guard let size = (object["size"] as? NSNumber)?.int64Value, size >= 0 else {
                throw PkgLayerError(.invalidInput, "\(label) lacks a non-negative integer 'size'", at: path)
            }
            entries.append(Entry(name: try string(object, "name", label), version: try string(object, "version", label),
                                 architecture: try string(object, "architecture", label), url: try string(object, "url", label),
                                 sha256: sha256, size: size, repository: try string(object, "repository", label)))
        }
        var base: Base?
        if let value = top["base"] {
            guard let object = value as? [String: Any] else {
                throw PkgLayerError(.invalidInput, "'base' must be an object with 'reference' and 'digest'; delete the lockfile to resolve again", at: path)
            }
            let digest = try string(object, "digest", "base")
            guard let parsed = Digest(parsing: digest), parsed.algorithm == "sha256", parsed.description == digest else {
                throw PkgLayerError(.invalidInput, "base: digest '\(digest)' is not sha256:<64 lowercase hex digits>", at: path)
            }
            base = Base(reference: try string(object, "reference", "base"), digest: digest)
        }
        let formatText = try string(top, "packageFormat", "the lockfile")
        guard let packageFormat = PackageFormat(rawValue: formatText) else {
            throw PkgLayerError(.invalidInput, "packageFormat is '\(formatText)', expected rpm or deb; delete the lockfile to resolve again", at: path)
        }
        return Lockfile(packageFormat: packageFormat,
                        architecture: try string(top, "architecture", "the lockfile"),
                        inputs: try string(top, "inputs", "the lockfile"), packages: entries, base: base)
    }
}
