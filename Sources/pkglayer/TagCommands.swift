import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer tag SOURCE TARGET`: another name for a stored image, like `docker tag`.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give a stored image another name (like 'docker tag').")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The image: NAME[:TAG] or a digest prefix.") var source: String
    @Argument(help: "The new name: NAME[:TAG] (a registry host may lead it: host:5000/team/app:1).") var target: String

    func run() throws {
        try runReportingErrors {
            let image = try ImageStore.open().tag(source, as: target)
            Console.write("tagged \(image.reference) (\(image.manifest.digest.hex.prefix(12))) as \(try ImageReference.normalize(target))\n")
        }
    }
}

/// `pkglayer rmi REF…`: remove names, like `docker rmi`; blobs go with `pkglayer prune`.
struct RmiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi", abstract: "Remove stored images' names (like 'docker rmi'); 'pkglayer prune' frees their blobs.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Remove every name of a digest, and images that are another's base.")
    var force = false
    @Argument(help: "Images: NAME[:TAG] or digest prefixes.") var references: [String]

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            for reference in references {
                for name in try store.remove(reference, force: force) { print("Untagged: \(name)") }
            }
        }
    }
}

/// `pkglayer history REF`: one row per layer, like `docker history`.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show a stored image's layers, newest first: created, created by (package and version), size.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The image: NAME[:TAG] or a digest prefix.") var image: String
    @Flag(name: .customLong("no-trunc"), help: "Show full digests and whole 'created by' texts.") var noTrunc = false
    @Flag(name: .customLong("json"), help: "Print the rows as JSON.") var json = false

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            let details = try store.details(try store.require(image))
            let rows = details.layers.reversed().map { layer -> (digest: String, created: String, createdBy: String, size: Int64) in
                let by = layer.createdBy ?? layer.package.map { "pkglayer: \($0) \(layer.version ?? "")" } ?? "-"
                return (layer.descriptor.digest.description, details.created ?? "-", by, layer.uncompressedSize ?? layer.descriptor.size)
            }
            if json {
                print(JSONValue.array(rows.map { row in
                    .object([("layer", .string(row.digest)), ("created", .string(row.created)), ("createdBy", .string(row.createdBy)),
                             ("size", .int(row.size))])
                }).pretty)
                return
            }
            var table = [["LAYER", "CREATED", "CREATED BY", "SIZE"]]
            for row in rows {
                let digest = noTrunc ? row.digest : String(row.digest.dropFirst("sha256:".count).prefix(12))
                let by = noTrunc || row.createdBy.count <= 45 ? row.createdBy : String(row.createdBy.prefix(44)) + "…"
                table.append([digest, row.created, by, StoreOutput.size(row.size)])
            }
            print(StoreOutput.table(table), terminator: "")
        }
    }
}
