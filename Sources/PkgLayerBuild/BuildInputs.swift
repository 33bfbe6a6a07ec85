import Foundation
import PkgLayerCore

/// One source of a build, as the Build room needs it. The recipe room maps its YAML onto this; the
/// Build room does not know the recipe format.
public struct SourceRequest: Sendable, Equatable {
    /// An `http://`, `https://` or `file://` URL. Exactly one of `url` and `localPath` is set.
    public var url: String?
    /// A file or directory on this machine; relative paths are taken from the `baseDirectory` given to
    /// `SourceTree.populate` (the recipe's directory).
    public var localPath: String?
    /// Lower-case hex sha256 of the file. Required for `url`; optional for a local file (checked when
    /// given); not allowed for a local directory.
    public var sha256: String?
    /// Leading path components dropped from every archive member (`tar --strip-components`).
    public var stripComponents: Int
    /// Where inside the source tree the archive is extracted or the file copied: "" or "." for the top.
    public var extractTo: String
    /// nil: archives (`.tar`, `.tar.gz`, `.tgz`, `.tar.xz`, `.tar.bz2`, `.tar.zst`, …) are extracted and
    /// other files copied. true/false forces one or the other.
    public var extract: Bool?

    public init(url: String? = nil, localPath: String? = nil, sha256: String? = nil, stripComponents: Int = 0,
                extractTo: String = "", extract: Bool? = nil) {
        self.url = url
        self.localPath = localPath
        self.sha256 = sha256
        self.stripComponents = stripComponents
        self.extractTo = extractTo
        self.extract = extract
    }

    /// What errors call this source.
    public var displayName: String { url ?? localPath ?? "(empty source)" }

    /// The file name the source is known by: the URL path's last component, or the local file's name.
    public var fileName: String {
        if let url {
            return SourceRequest.fileName(ofURL: url)
        }
        return ((localPath ?? "") as NSString).lastPathComponent
    }

    static func fileName(ofURL url: String) -> String {
        if let parsed = URL(string: url), !parsed.lastPathComponent.isEmpty, parsed.lastPathComponent != "/" {
            return parsed.lastPathComponent
        }
        var text = url
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<cut]) }
        return (text as NSString).lastPathComponent
    }

    /// Whether the source is extracted (true) or copied (false).
    public var shouldExtract: Bool { extract ?? SourceTree.looksLikeArchive(fileName) }

    /// Checks the combination of fields, naming `field` (for example `sources[2]`) in errors.
    public func validate(field: String) throws {
        switch (url, localPath) {
        case (nil, nil):
            throw PkgLayerError(.invalidInput, "a source needs either a url (with its sha256) or a local path", at: field)
        case (.some, .some):
            throw PkgLayerError(.invalidInput, "a source has either a url or a local path, not both", at: field)
        case (.some(let url), nil):
            guard let scheme = URL(string: url)?.scheme?.lowercased(), ["http", "https", "file"].contains(scheme) else {
                throw PkgLayerError(.invalidInput, "url '\(url)' must start with https://, http:// or file://", at: field)
            }
            guard sha256 != nil else {
                throw PkgLayerError(.invalidInput, "url '\(url)' has no sha256; pin it with the output of `sha256sum \(fileName)`",
                                    at: field)
            }
        case (nil, .some):
            break
        }
        if let sha256 { _ = try SourceRequest.checkedDigest(sha256, field: field) }
        guard stripComponents >= 0 else {
            throw PkgLayerError(.invalidInput, "strip-components must be 0 or more, got \(stripComponents)", at: field)
        }
        _ = try SourceTree.relativeDirectory(extractTo, field: field)
    }

    /// Accepts `<64 hex>` or `sha256:<64 hex>` in any case; returns lower-case hex.
    public static func checkedDigest(_ text: String, field: String) throws -> String {
        var hex = text.trimmingCharacters(in: .whitespaces)
        if hex.lowercased().hasPrefix("sha256:") { hex = String(hex.dropFirst(7)) }
        hex = hex.lowercased()
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            throw PkgLayerError(.invalidInput, "sha256 '\(text)' must be 64 hexadecimal digits (the output of sha256sum)", at: field)
        }
        return hex
    }
}

/// One build step: a shell snippet run with `/bin/sh -e -c` inside the sandbox.
public struct BuildStep: Sendable, Equatable {
    /// Shown in progress lines and errors; nil shows the step's number only.
    public var name: String?
    public var script: String
    /// Seconds the step may run; nil: only the build's time limit bounds it.
    public var timeout: TimeInterval?

    public init(name: String? = nil, script: String, timeout: TimeInterval? = nil) {
        self.name = name
        self.script = script
        self.timeout = timeout
    }

    /// `step 2/5 'configure'` (or `step 2/5` without a name).
    public func label(index: Int, count: Int) -> String {
        if let name, !name.isEmpty { return "step \(index + 1)/\(count) '\(name)'" }
        return "step \(index + 1)/\(count)"
    }
}
