import Foundation
import PkgLayerCore

extension BaseImage {
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// Docker's layer media types and the OCI types with the same bytes.
    static let layerTypes: [String: String] = [
        OCIMediaType.layerGzip: OCIMediaType.layerGzip,
        OCIMediaType.layerTar: OCIMediaType.layerTar,
        "application/vnd.oci.image.layer.v1.tar+zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip": OCIMediaType.layerGzip,
        "application/vnd.docker.image.rootfs.diff.tar": OCIMediaType.layerTar,
    ]

    /// Reads the image `descriptor` names in `source` (an image manifest, or an index from which the
    /// entry for `architecture` is taken), and makes its blobs present in `target`.
    public static func fromManifest(_ descriptor: OCIDescriptor, in source: BlobStore, into target: BlobStore, name: String,
                                    architecture: Architecture) throws -> BaseImage {
        let wanted = OCIPlatform(architecture)
        var descriptor = descriptor
        if descriptor.mediaType == OCIMediaType.imageIndex || descriptor.mediaType == dockerList {
            let bytes = try source.read(descriptor.digest)
            let children = try OCILayoutReader.descriptors(in: Data(bytes), key: "manifests", at: "\(name): \(descriptor.digest)")
            guard let match = children.first(where: { $0.platform.map { $0.architecture == wanted.architecture && $0.os == wanted.os } ?? false }) else {
                let offered = children.compactMap(\.platform).map { "\($0.os)/\($0.architecture)" }
                throw PkgLayerError(.invalidInput, "the base has no image for \(wanted.os)/\(wanted.architecture) (it has: \(offered.joined(separator: ", ")))",
                                    at: name)
            }
            descriptor = match
        }
        guard descriptor.mediaType == OCIMediaType.imageManifest || descriptor.mediaType == dockerManifest else {
            throw PkgLayerError(.invalidInput, "the base's manifest has media type '\(descriptor.mediaType)', not an image manifest", at: name)
        }
        let manifestBytes = try source.read(descriptor.digest)
        let location = "\(name): manifest \(descriptor.digest)"
        guard let manifest = try? JSONSerialization.jsonObject(with: Data(manifestBytes)) as? [String: Any],
              let configObject = manifest["config"] as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "the base's manifest is not JSON with a config", at: location)
        }
        let configDescriptor = try OCILayoutReader.descriptor(configObject, at: location)
        let layerDescriptors = try OCILayoutReader.descriptors(in: Data(manifestBytes), key: "layers", at: location)
        let configBytes = try source.read(configDescriptor.digest)
        guard let config = try? JSONSerialization.jsonObject(with: Data(configBytes)) as? [String: Any] else {
            throw PkgLayerError(.invalidInput, "the base's config is not a JSON object", at: "\(name): config \(configDescriptor.digest)")
        }
        let configLocation = "\(name): config \(configDescriptor.digest)"
        let diffIDs = ((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []).compactMap(Digest.init(parsing:))
        guard diffIDs.count == layerDescriptors.count else {
            throw PkgLayerError(.invalidInput, "the base's config lists \(diffIDs.count) diff_ids for \(layerDescriptors.count) layers", at: configLocation)
        }
        let platform = OCIPlatform(architecture: config["architecture"] as? String ?? "", os: config["os"] as? String ?? "",
                                   variant: config["variant"] as? String)
        guard platform.architecture == wanted.architecture, platform.os == wanted.os else {
            throw PkgLayerError(.invalidInput, "the base is \(platform.os)/\(platform.architecture) but the image is \(wanted.os)/\(wanted.architecture); use a base of the same platform",
                                at: name)
        }
        var layers: [LayerBlob] = []
        for (layer, diffID) in zip(layerDescriptors, diffIDs) {
            guard let mediaType = layerTypes[layer.mediaType] else {
                throw PkgLayerError(.invalidInput, "the base has a layer of media type '\(layer.mediaType)', which pkglayer cannot stack on", at: location)
            }
            var copy = layer
            copy.mediaType = mediaType
            try source.transfer(layer.digest, size: layer.size, to: target)
            layers.append(LayerBlob(descriptor: copy, diffID: diffID, uncompressedSize: 0))
        }
        return BaseImage(name: name, manifestDigest: descriptor.digest, layers: layers,
                         config: try ContainerConfig(json: config["config"] as? [String: Any] ?? [:], at: configLocation),
                         history: (config["history"] as? [[String: Any]] ?? []).map(HistoryEntry.init(json:)), platform: platform)
    }
}

extension HistoryEntry {
    init(json: [String: Any]) {
        self.init(created: json["created"] as? String ?? "", createdBy: json["created_by"] as? String ?? "",
                  comment: json["comment"] as? String, author: json["author"] as? String,
                  emptyLayer: json["empty_layer"] as? Bool ?? false)
    }
}

extension ContainerConfig {
    /// Reads an image config's `config` object (Docker's capitalised keys).
    init(json object: [String: Any], at location: String) throws {
        func strings(_ key: String) -> [String]? { object[key] as? [String] }
        func keys(_ key: String) -> [String] { ((object[key] as? [String: Any]) ?? [:]).keys.sorted() }
        var healthcheck: Healthcheck?
        if let check = object["Healthcheck"] as? [String: Any], let test = check["Test"] as? [String] {
            let seconds: (String) -> Int64? = { (check[$0] as? NSNumber).map { $0.int64Value / 1_000_000_000 } }
            healthcheck = Healthcheck(test: test, intervalSeconds: seconds("Interval"), timeoutSeconds: seconds("Timeout"),
                                      startPeriodSeconds: seconds("StartPeriod"), retries: (check["Retries"] as? NSNumber)?.intValue)
        }
        self.init(entrypoint: strings("Entrypoint"), cmd: strings("Cmd"), env: strings("Env") ?? [],
                  workingDir: (object["WorkingDir"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                  user: (object["User"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                  exposedPorts: keys("ExposedPorts"), volumes: keys("Volumes"),
                  labels: object["Labels"] as? [String: String] ?? [:],
                  stopSignal: (object["StopSignal"] as? String).flatMap { $0.isEmpty ? nil : $0 }, healthcheck: healthcheck)
    }

    /// This config stacked on `base`'s, the way a Dockerfile's instructions stack on `FROM`:
    /// - env is merged by variable name: the base's order, a variable set here replaces the base's
    ///   value in place, new variables follow;
    /// - ports and volumes are the union; labels are merged, this config's winning;
    /// - entrypoint, cmd, workdir, user, stop signal and healthcheck are inherited unless set here;
    ///   setting an entrypoint without a cmd drops the base's cmd (as Docker does: the old cmd was
    ///   arguments for the old entrypoint).
    public func stacked(on base: ContainerConfig) -> ContainerConfig {
        var result = base
        var env = base.env
        for item in self.env {
            let name = item.split(separator: "=", maxSplits: 1).first.map(String.init) ?? item
            if let index = env.firstIndex(where: { ($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) == name }) {
                env[index] = item
            } else {
                env.append(item)
            }
        }
        result.env = env
        if let entrypoint {
            result.entrypoint = entrypoint
            result.cmd = cmd
        } else if let cmd {
            result.cmd = cmd
        }
        if let workingDir { result.workingDir = workingDir }
        if let user { result.user = user }
        if let stopSignal { result.stopSignal = stopSignal }
        if let healthcheck { result.healthcheck = healthcheck }
        let basePorts = Set(base.normalizedPorts)
        result.exposedPorts = base.normalizedPorts + normalizedPorts.filter { !basePorts.contains($0) }
        result.volumes = base.volumes + volumes.filter { !base.volumes.contains($0) }
        result.labels = base.labels.merging(labels) { $1 }
        return result
    }
}
