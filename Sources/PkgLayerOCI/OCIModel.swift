import Foundation
import PkgLayerCore

/// The media types pkglayer writes.
public enum OCIMediaType {
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    public static let layerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
}

/// Annotation keys from the OCI image spec's pre-defined set.
public enum OCIAnnotation {
    public static let refName = "org.opencontainers.image.ref.name"
    public static let created = "org.opencontainers.image.created"
    public static let title = "org.opencontainers.image.title"
    public static let version = "org.opencontainers.image.version"
    public static let description = "org.opencontainers.image.description"
    public static let authors = "org.opencontainers.image.authors"
    public static let licenses = "org.opencontainers.image.licenses"
    public static let source = "org.opencontainers.image.source"
    public static let vendor = "org.opencontainers.image.vendor"
}

/// `os`, `architecture` and `variant`, from Core's architecture so every ecosystem spells it once.
public struct OCIPlatform: Equatable, Sendable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String = "linux", variant: String? = nil) {
        self.architecture = architecture; self.os = os; self.variant = variant
    }

    public init(_ architecture: Architecture, os: String = "linux") {
        let oci = architecture.oci
        self.init(architecture: oci.architecture, os: os, variant: oci.variant)
    }

    public var json: JSONValue {
        .object([("architecture", .string(architecture)), ("os", .string(os)), ("variant", variant.map(JSONValue.string))])
    }
}

/// A content descriptor: what a blob is, its digest and its size.
public struct OCIDescriptor: Equatable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]
    public var platform: OCIPlatform?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String] = [:], platform: OCIPlatform? = nil) {
        self.mediaType = mediaType; self.digest = digest; self.size = size
        self.annotations = annotations; self.platform = platform
    }

    public var json: JSONValue {
        .object([
            ("mediaType", .string(mediaType)), ("digest", .string(digest.description)), ("size", .int(size)),
            ("annotations", .stringMap(annotations)), ("platform", platform?.json),
        ])
    }
}

/// `application/vnd.oci.image.manifest.v1+json`.
public struct OCIImageManifest: Equatable, Sendable {
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]

    public init(config: OCIDescriptor, layers: [OCIDescriptor], annotations: [String: String] = [:]) {
        self.config = config; self.layers = layers; self.annotations = annotations
    }

    public var json: JSONValue {
        .object([
            ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageManifest)),
            ("config", config.json), ("layers", .array(layers.map(\.json))),
            ("annotations", .stringMap(annotations)),
        ])
    }
}

/// `application/vnd.oci.image.index.v1+json`; as a layout's `index.json` each manifest carries its tag
/// in `org.opencontainers.image.ref.name`.
public struct OCIImageIndex: Equatable, Sendable {
    public var manifests: [OCIDescriptor]
    public var annotations: [String: String]

    public init(manifests: [OCIDescriptor], annotations: [String: String] = [:]) {
        self.manifests = manifests; self.annotations = annotations
    }

    public var json: JSONValue {
        .object([
            ("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageIndex)),
            ("manifests", .array(manifests.map(\.json))), ("annotations", .stringMap(annotations)),
        ])
    }
}

extension Healthcheck {
    /// As Docker stores it in an image config (durations in nanoseconds).
    public var json: JSONValue {
        let ns: (Int64?) -> JSONValue? = { $0.map { JSONValue.int($0 * 1_000_000_000) } }
        return .object([
            ("Test", .strings(test)), ("Interval", ns(intervalSeconds)), ("Timeout", ns(timeoutSeconds)),
            ("StartPeriod", ns(startPeriodSeconds)), ("Retries", retries.map { JSONValue.int(Int64($0)) }),
        ])
    }
}

extension ContainerConfig {
    /// The config's `config` object. Empty values are left out.
    public var json: JSONValue {
        .object([
            ("User", user.map(JSONValue.string)), ("ExposedPorts", .emptyObjectSet(normalizedPorts)),
            ("Env", env.isEmpty ? nil : .strings(env)), ("Entrypoint", .strings(entrypoint)), ("Cmd", .strings(cmd)),
            ("Volumes", .emptyObjectSet(volumes)), ("WorkingDir", workingDir.map(JSONValue.string)),
            ("Labels", .stringMap(labels)), ("StopSignal", stopSignal.map(JSONValue.string)),
            ("Healthcheck", healthcheck?.json),
        ])
    }
}

/// One `history` entry: which step (here: which package) made a layer.
public struct HistoryEntry: Equatable, Sendable {
    public var created: String
    public var createdBy: String
    public var comment: String?
    public var author: String?
    public var emptyLayer: Bool

    public init(created: String, createdBy: String, comment: String? = nil, author: String? = nil, emptyLayer: Bool = false) {
        self.created = created; self.createdBy = createdBy; self.comment = comment; self.author = author
        self.emptyLayer = emptyLayer
    }

    public var json: JSONValue {
        .object([
            ("created", .string(created)), ("created_by", .string(createdBy)), ("comment", comment.map(JSONValue.string)),
            ("author", author.map(JSONValue.string)), ("empty_layer", emptyLayer ? .bool(true) : nil),
        ])
    }
}

/// `application/vnd.oci.image.config.v1+json`.
public struct OCIImageConfig: Equatable, Sendable {
    public var created: String
    public var author: String?
    public var platform: OCIPlatform
    public var config: ContainerConfig
    /// sha256 of each layer's uncompressed tar, bottom first.
    public var diffIDs: [Digest]
    public var history: [HistoryEntry]

    public init(created: String, author: String? = nil, platform: OCIPlatform, config: ContainerConfig,
                diffIDs: [Digest], history: [HistoryEntry]) {
        self.created = created; self.author = author; self.platform = platform; self.config = config
        self.diffIDs = diffIDs; self.history = history
    }

    public var json: JSONValue {
        .object([
            ("created", .string(created)), ("author", author.map(JSONValue.string)),
            ("architecture", .string(platform.architecture)), ("os", .string(platform.os)),
            ("variant", platform.variant.map(JSONValue.string)), ("config", config.json),
            ("rootfs", .object(["type": .string("layers"), "diff_ids": .array(diffIDs.map { .string($0.description) })])),
            ("history", .array(history.map(\.json))),
        ])
    }
}

/// RFC 3339 in UTC with second precision (`2023-11-14T22:13:20Z`), computed without the C library's
/// time zone machinery so no environment variable can change it.
public enum RFC3339 {
    public static func utc(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }

    public static func utc(_ epoch: SourceDateEpoch) -> String { utc(epoch.seconds) }
}
