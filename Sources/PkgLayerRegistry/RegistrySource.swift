import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerOCI

/// What `pkglayer push` reads from: `oci:PATH[:TAG]` (a layout directory) or `oci-archive:PATH[:TAG]`
/// (the same as a tar). A bare name is kept for the local image store, which resolves it to a layout.
public enum PushSource: Equatable, Sendable {
    case layout(path: String, tag: String?)
    case ociArchive(path: String, tag: String?)
    /// A name in the local image store (`nginx:1.22`); resolved by the caller.
    case stored(name: String)

    public init(parsing text: String) throws {
        func split(_ rest: Substring) -> (String, String?) {
            if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
                let tag = String(rest[rest.index(after: colon)...])
                return (String(rest[..<colon]), tag.isEmpty ? nil : tag)
            }
            return (String(rest), nil)
        }
        if text.hasPrefix("oci:") {
            let (path, tag) = split(text.dropFirst(4))
            guard !path.isEmpty else { throw Self.usage(text) }
            self = .layout(path: path, tag: tag)
        } else if text.hasPrefix("oci-archive:") {
            let (path, tag) = split(text.dropFirst(12))
            guard !path.isEmpty else { throw Self.usage(text) }
            self = .ociArchive(path: path, tag: tag)
        } else if text.hasPrefix("/") || text.hasPrefix("."), let bare = Self.bare(text) {
            self = bare
        } else if !text.contains(":/"), !text.hasPrefix("/"), !text.hasPrefix("."), !text.isEmpty {
            self = .stored(name: text)
        } else {
            throw Self.usage(text)
        }
    }

    /// A bare path: a directory holding `oci-layout` is a layout, a file an oci-archive (`PATH[:TAG]`).
    static func bare(_ text: String) -> PushSource? {
        var path = text, tag: String?
        if !FileManager.default.fileExists(atPath: path), let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            path = String(text[..<colon]); tag = String(text[text.index(after: colon)...])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            return FileManager.default.fileExists(atPath: path + "/oci-layout") ? .layout(path: path, tag: tag) : nil
        }
        return .ociArchive(path: path, tag: tag)
    }

    /// The transport, as `--json` names it.
    public var transport: String {
        switch self {
        case .layout: return "oci"
        case .ociArchive: return "oci-archive"
        case .stored: return "store"
        }
    }

    static func usage(_ text: String) -> PkgLayerError {
        PkgLayerError(.usage, "is not an image source; write oci:PATH[:TAG] for a layout directory or oci-archive:PATH[:TAG] for an OCI tar", at: text)
    }

    /// Extracts an oci-archive (safely, with libarchive) into `directory` and returns the layout path.
    static func unpack(archive path: String, into directory: String) throws -> String {
        let root = "\(directory)/layout"
        let extractor = try ArchiveExtractor(root: root, archiveName: path, keepSpecialBits: false)
        let reader = try ArchiveReader(path: path)
        while let header = try reader.next() { try extractor.extract(header, from: reader) }
        return root
    }
}

/// Descriptor lists inside manifest JSON.
enum ManifestJSON {
    static func object(_ bytes: [UInt8], at location: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "is not a JSON object", at: location)
        }
        return object
    }

    static func descriptor(_ object: Any?, at location: String) throws -> OCIDescriptor {
        guard let object = object as? [String: Any], let mediaType = object["mediaType"] as? String,
              let digest = (object["digest"] as? String).flatMap(Digest.init(parsing:)),
              let size = (object["size"] as? NSNumber)?.int64Value, size >= 0 else {
            throw PkgLayerError(.invalidInput, "a descriptor lacks a mediaType, a sha256 digest or a size", at: location)
        }
        var platform: OCIPlatform?
        if let p = object["platform"] as? [String: Any], let arch = p["architecture"] as? String, let os = p["os"] as? String {
            platform = OCIPlatform(architecture: arch, os: os, variant: p["variant"] as? String)
        }
        let annotations = (object["annotations"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations, platform: platform)
    }

    /// An index's manifests.
    static func children(_ bytes: [UInt8], at location: String) throws -> [OCIDescriptor] {
        guard let list = try object(bytes, at: location)["manifests"] as? [Any] else {
            throw PkgLayerError(.invalidInput, "index has no 'manifests' list", at: location)
        }
        return try list.map { try descriptor($0, at: location) }
    }

    /// An image manifest's config and layers.
    static func blobs(_ bytes: [UInt8], at location: String) throws -> (config: OCIDescriptor, layers: [OCIDescriptor]) {
        let object = try object(bytes, at: location)
        try OCILayoutReader.checkLayerCount((object["layers"] as? [Any])?.count ?? 0, at: location)   // docs/limits.md
        let layers = try (object["layers"] as? [Any] ?? []).map { try descriptor($0, at: location) }
        return (try descriptor(object["config"], at: location), layers)
    }
}
