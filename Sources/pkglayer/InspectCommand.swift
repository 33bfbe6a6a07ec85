import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer inspect IMAGE`: each layer with its package, sizes and digest, and the config.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a stored image's layers (package, version, sizes, digest) and config.",
        discussion: "IMAGE is NAME (meaning NAME:latest), NAME:TAG, or a digest prefix as 'pkglayer images' shows it."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The image: NAME[:TAG] or a digest prefix.")
    var image: String

    @Flag(name: .customLong("json"), help: "Print the details as JSON.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            let details = try store.details(try store.require(image))
            print(json ? Self.json(details).pretty : Self.text(details), terminator: json ? "\n" : "")
        }
    }

    static func json(_ details: ImageDetails) -> JSONValue {
        let config = details.containerConfig
        return .object([
            ("image", StoreOutput.json(details.image)), ("created", details.created.map(JSONValue.string)),
            ("platform", details.platform.json), ("config", config.json), ("configDigest", .string(details.config.digest.description)),
            ("annotations", .object(details.annotations.mapValues(JSONValue.string))),
            ("layers", .array(details.layers.map { layer in
                .object([
                    ("digest", .string(layer.descriptor.digest.description)), ("mediaType", .string(layer.descriptor.mediaType)),
                    ("size", .int(layer.descriptor.size)), ("uncompressedSize", layer.uncompressedSize.map(JSONValue.int)),
                    ("diffID", layer.diffID.map { JSONValue.string($0.description) }),
                    ("package", layer.package.map(JSONValue.string)), ("version", layer.version.map(JSONValue.string)),
                    ("format", layer.format.map(JSONValue.string)), ("createdBy", layer.createdBy.map(JSONValue.string)),
                ])
            })),
        ])
    }

    static func text(_ details: ImageDetails) -> String {
        var out = ""
        let platform = details.platform
        out += "Image:     \(details.image.reference)\n"
        out += "Digest:    \(details.image.manifest.digest)\n"
        out += "Created:   \(details.created ?? "-")\n"
        out += "Platform:  \(platform.os)/\(platform.architecture)\(platform.variant.map { "/\($0)" } ?? "")\n"
        out += "Size:      \(StoreOutput.size(details.image.size)) in \(details.layers.count) layer\(details.layers.count == 1 ? "" : "s")\n"
        if let base = details.annotations[OCIAnnotation.baseName] { out += "Base:      \(base)\n" }
        out += "\nLayers (bottom first):\n"
        var rows = [["#", "PACKAGE", "VERSION", "FORMAT", "SIZE", "UNCOMPRESSED", "DIGEST"]]
        for (index, layer) in details.layers.enumerated() {
            rows.append([String(index + 1), layer.package ?? layer.createdBy ?? "-", layer.version ?? "-", layer.format ?? "-",
                         StoreOutput.size(layer.descriptor.size), layer.uncompressedSize.map(StoreOutput.size) ?? "-",
                         layer.descriptor.digest.description])
        }
        out += StoreOutput.table(rows).split(separator: "\n").map { "  \($0)\n" }.joined()
        let config = details.containerConfig
        var lines: [(String, String)] = []
        if let entrypoint = config.entrypoint { lines.append(("Entrypoint", entrypoint.joined(separator: " "))) }
        if let cmd = config.cmd { lines.append(("Cmd", cmd.joined(separator: " "))) }
        for item in config.env { lines.append(("Env", item)) }
        if let dir = config.workingDir { lines.append(("WorkingDir", dir)) }
        if let user = config.user { lines.append(("User", user)) }
        if !config.exposedPorts.isEmpty { lines.append(("ExposedPorts", config.exposedPorts.joined(separator: " "))) }
        if !config.volumes.isEmpty { lines.append(("Volumes", config.volumes.joined(separator: " "))) }
        for (key, value) in config.labels.sorted(by: { $0.key < $1.key }) { lines.append(("Label", "\(key)=\(value)")) }
        if let signal = config.stopSignal { lines.append(("StopSignal", signal)) }
        if let check = config.healthcheck { lines.append(("Healthcheck", check.test.joined(separator: " "))) }
        if !lines.isEmpty {
            out += "\nConfig:\n"
            for (key, value) in lines { out += "  \(key.padding(toLength: 13, withPad: " ", startingAt: 0))\(value)\n" }
        }
        return out
    }
}
