import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer prune`: remove what no tagged image needs, like `docker image prune`.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove blobs no tagged image reaches and layer-cache entries that point at them.",
        discussion: "Nothing a tagged image reaches is removed. Refuses to run while another pkglayer has the store open."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("all"), help: "Also empty the build outputs and the downloaded packages and repository indexes.")
    var all = false

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Only print what would be removed.")
    var dryRun = false

    @Flag(name: .customLong("json"), help: "Print the report as JSON.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let report = try ImageStore.open().prune(all: all, dryRun: dryRun)
            if json {
                print(JSONValue.object([
                    ("dryRun", .bool(dryRun)), ("freedBytes", .int(report.freedBytes)),
                    ("blobs", .array(report.blobs.map { .object([("digest", .string($0.digest.description)), ("size", .int($0.size))]) })),
                    ("layerCacheEntries", .int(Int64(report.layerCacheEntries))),
                    ("directories", .array(report.directories.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes))]) })),
                ]).pretty)
                return
            }
            let verb = dryRun ? "Would remove" : "Removed"
            for blob in report.blobs { print("\(verb) blob \(blob.digest) (\(StoreOutput.size(blob.size)))") }
            if report.layerCacheEntries > 0 { print("\(verb) \(report.layerCacheEntries) layer-cache entr\(report.layerCacheEntries == 1 ? "y" : "ies")") }
            for directory in report.directories { print("\(dryRun ? "Would empty" : "Emptied") \(directory.path) (\(StoreOutput.size(directory.bytes)))") }
            print("\(dryRun ? "Would free" : "Total reclaimed space:") \(StoreOutput.size(report.freedBytes))")
        }
    }
}
