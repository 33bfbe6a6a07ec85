import Foundation
import PkgLayerCore

/// Reads the JSON of an OCI image layout written by anyone: the tags in `index.json` and the blobs
/// each image reaches. Layer contents are not read here.
public struct OCILayoutReader: Sendable {
    public let path: String
    public let store: BlobStore

    public init(path: String) throws {
        try Self.checkJSONFile("\(path)/oci-layout")   // OCILayoutReader+Limits.swift
        guard let data = FileManager.default.contents(atPath: "\(path)/oci-layout"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["imageLayoutVersion"] is String else {
            throw PkgLayerError(.invalidInput, "is not an OCI image layout (no readable oci-layout file)", at: path)
        }
        self.path = path
        store = try BlobStore(root: path)
    }

    /// The descriptors listed in `index.json`, in order; a tag is the `org.opencontainers.image.ref.name` annotation.
    public func index() throws -> [OCIDescriptor] {
        let location = "\(path)/index.json"
        try Self.checkJSONFile(location)
        guard let data = FileManager.default.contents(atPath: location) else {
            throw PkgLayerError(.invalidInput, "missing; the layout has no index", at: location)
        }
        return try Self.descriptors(in: data, key: "manifests", at: location)
    }

    /// The manifest descriptor tagged `tag`, if any.
    public func manifest(tagged tag: String) throws -> OCIDescriptor? {
        try index().first { $0.annotations[OCIAnnotation.refName] == tag }
    }

    /// Every blob `descriptor` reaches, itself included: an image manifest's config and layers, an
    /// index's manifests (recursively). Each blob read is checked against its digest.
    public func reachableBlobs(from descriptor: OCIDescriptor) throws -> [OCIDescriptor] {
        var result: [OCIDescriptor] = [descriptor]
        switch descriptor.mediaType {
        case OCIMediaType.imageManifest, "application/vnd.docker.distribution.manifest.v2+json":
            let bytes = try store.read(descriptor.digest)
            let location = store.path(for: descriptor.digest)
            guard let object = try Self.jsonObject(Data(bytes), at: location) as? [String: Any],
                  let config = object["config"] as? [String: Any] else {
                throw PkgLayerError(.invalidInput, "image manifest has no config", at: location)
            }
            result.append(try Self.descriptor(config, at: location))
            result += try Self.descriptors(in: Data(bytes), key: "layers", at: location)
        case OCIMediaType.imageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
            let bytes = try store.read(descriptor.digest)
            for child in try Self.descriptors(in: Data(bytes), key: "manifests", at: store.path(for: descriptor.digest)) {
                result += try reachableBlobs(from: child)
            }
        default:
            break
        }
        return result
    }

    static func descriptors(in data: Data, key: String, at location: String) throws -> [OCIDescriptor] {
        guard let object = try jsonObject(data, at: location) as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "is not a JSON object", at: location)
        }
        guard let list = object[key] as? [[String: Any]] else {
            if object[key] == nil, key == "layers" { return [] }
            throw PkgLayerError(.invalidInput, "has no '\(key)' list", at: location)
        }
        if key == "layers" { try checkLayerCount(list.count, at: location) }
        return try list.map { try descriptor($0, at: location) }
    }

    static func descriptor(_ object: [String: Any], at location: String) throws -> OCIDescriptor {
        guard let mediaType = object["mediaType"] as? String,
              let digest = (object["digest"] as? String).flatMap(Digest.init(parsing:)),
              let size = (object["size"] as? NSNumber)?.int64Value, size >= 0 else {
            throw PkgLayerError(.invalidInput, "a descriptor lacks a mediaType, a sha256 digest or a size", at: location)
        }
        var platform: OCIPlatform?
        if let p = object["platform"] as? [String: Any], let arch = p["architecture"] as? String, let os = p["os"] as? String {
            platform = OCIPlatform(architecture: arch, os: os, variant: p["variant"] as? String)
        }
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: size,
                             annotations: object["annotations"] as? [String: String] ?? [:], platform: platform)
    }
}
