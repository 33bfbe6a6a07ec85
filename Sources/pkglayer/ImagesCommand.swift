import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer images`: the local store's images, like `docker image ls`.
struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List the images in the local store (like 'docker image ls').",
        discussion: "The store is an OCI image layout at $PKGLAYER_CACHE/images (default ~/.cache/pkglayer/images); skopeo reads it as oci:DIR:NAME:TAG."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("json"), help: "Print the images as JSON.")
    var json = false

    @Flag(name: .customLong("no-trunc"), help: "Show full digests.")
    var noTrunc = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only digests (short unless --no-trunc).")
    var quiet = false

    @Option(name: [.customShort("f"), .customLong("filter")],
            help: "dangling=true|false, reference=PATTERN, since=IMAGE, before=IMAGE, label=KEY[=VALUE] (repeatable).")
    var filters: [String] = []

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            let images = try ImageFilter(parsing: filters).apply(to: try store.list(), in: store)
            if quiet {
                for image in images { print(noTrunc ? image.manifest.digest.description : String(image.manifest.digest.hex.prefix(12))) }
                return
            }
            if json {
                print(JSONValue.array(images.map(StoreOutput.json)).pretty)
                return
            }
            var rows = [["REPOSITORY", "TAG", "DIGEST", "CREATED", "SIZE"]]
            for image in images {
                rows.append([image.name, image.tag, noTrunc ? image.manifest.digest.description : String(image.manifest.digest.hex.prefix(12)),
                             image.created ?? "-", StoreOutput.size(image.size)])
            }
            print(StoreOutput.table(rows), terminator: "")
        }
    }
}

/// Formatting shared by the store commands.
enum StoreOutput {
    static func json(_ image: StoredImage) -> JSONValue {
        .object([
            ("reference", .string(image.reference)), ("name", .string(image.name)), ("tag", .string(image.tag)),
            ("digest", .string(image.manifest.digest.description)), ("created", image.created.map(JSONValue.string)),
            ("size", .int(image.size)),
        ])
    }

    /// Decimal units as docker prints them: `980B`, `12.3kB`, `45.6MB`, `1.2GB`.
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes)B" : String(format: value >= 100 ? "%.0f%@" : "%.1f%@", value, units[unit])
    }

    /// Left-aligned columns, three spaces apart, each line ending in a newline.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "   ")
        }.joined(separator: "\n") + "\n"
    }
}
