import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer df`: what the cache holds and what pruning would free, like `docker system df`.
struct DfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "df",
        abstract: "Show the cache's disk usage: sources, outputs, packages, layers, images (like 'docker system df')."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("json"), help: "Print the usage as JSON (bytes).")
    var json = false

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            let usage = try store.diskUsage()
            let images = try store.list().count
            if json {
                let items = usage.items.map { item in
                    JSONValue.object([("name", .string(item.name)), ("path", .string(item.path)), ("bytes", .int(item.bytes)),
                                      ("reclaimable", .int(item.reclaimable)), ("files", .int(Int64(item.count)))])
                }
                print(JSONValue.object([("cache", .string(store.cacheRoot)), ("images", .int(Int64(images))), ("items", .array(items)),
                                        ("totalBytes", .int(usage.totalBytes)), ("reclaimableBytes", .int(usage.reclaimableBytes))]).pretty)
                return
            }
            var rows = [["TYPE", "FILES", "SIZE", "RECLAIMABLE", "PATH"]]
            for item in usage.items {
                let share = item.bytes > 0 ? String(format: " (%.0f%%)", Double(item.reclaimable) * 100 / Double(item.bytes)) : ""
                rows.append([item.name, String(item.count), StoreOutput.size(item.bytes), StoreOutput.size(item.reclaimable) + share, item.path])
            }
            rows.append(["total", "", StoreOutput.size(usage.totalBytes), StoreOutput.size(usage.reclaimableBytes), ""])
            print(StoreOutput.table(rows), terminator: "")
            print("\(images) tagged image\(images == 1 ? "" : "s"). 'pkglayer prune' frees the images' reclaimable blobs; 'pkglayer prune --all' also empties outputs, packages and indexes.")
        }
    }
}
