import Foundation
import PkgLayerCore

/// The bounds on image JSON written by others (docs/limits.md): manifests, indexes, configs and a
/// layout's `index.json` are read into memory only up to `ociJSONBytes` (4 MiB, the size the OCI
/// distribution spec says registries must accept for a manifest and may refuse past), and an image
/// may have at most `ociLayers` layers (1000; Docker refuses to run images past 125, and registries
/// commonly refuse manifests past a few hundred).
extension OCILayoutReader {
    /// Refuses a layer list longer than the limit.
    public static func checkLayerCount(_ count: Int, at location: String) throws {
        let limits = InputLimits.current
        if count > limits.int(.ociLayers) {
            throw limits.exceeded(.ociLayers, "the manifest's layer count", actual: UInt64(count), at: location,
                                  hint: "real images have tens of layers; the manifest is damaged or hostile")
        }
    }

    /// Refuses a JSON file (index.json, oci-layout) larger than the limit, before it is read. A
    /// missing file passes, for the caller's own message.
    static func checkJSONFile(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let limits = InputLimits.current
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PkgLayerError(.invalidInput, "is not a regular file; an OCI layout's JSON files are plain files", at: path)
        }
        if UInt64(info.st_size) > limits[.ociJSONBytes] {
            throw limits.exceeded(.ociJSONBytes, "the file", actual: UInt64(info.st_size), at: path,
                                  hint: "an OCI layout's JSON is a few KiB per image; the layout is damaged or hostile")
        }
    }
}

extension OCILayoutReader {
    /// Parses image JSON (a manifest, index, config, docker-archive manifest.json) read by others,
    /// with an error that names `location` and says what is wrong: Foundation's own ("The data is not
    /// in the correct format", NSCocoaErrorDomain 3840) names neither the file nor the reason, for
    /// example a document nested past Foundation's depth limit of 512.
    public static func jsonObject(_ data: Data, at location: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            let ns = error as NSError
            let reason = (ns.userInfo[NSDebugDescriptionErrorKey] as? String).map { ": \($0)" } ?? ""
            throw PkgLayerError(.invalidInput, "is not valid JSON\(reason); the image is damaged or hostile", at: location,
                                cause: PkgLayerError(.invalidInput, "\(ns.domain) \(ns.code)"))
        }
    }
}

extension BlobStore {
    /// The error for a blob past `limit` when read into memory: past the JSON limit (the default), the
    /// limit's own message.
    func tooLarge(_ digest: Digest, limit: Int) -> PkgLayerError {
        let limits = InputLimits.current
        let path = path(for: digest)
        var info = stat()
        let size = stat(path, &info) == 0 ? UInt64(info.st_size) : nil
        guard limit == limits.int(.ociJSONBytes) else {
            return PkgLayerError(.invalidInput, "blob is larger than \(limit) bytes, the most read into memory", at: path)
        }
        return limits.exceeded(.ociJSONBytes, "blob \(digest)", actual: size, at: path,
                               hint: "manifests, indexes and configs are JSON of a few KiB; the image is damaged or hostile")
    }
}
