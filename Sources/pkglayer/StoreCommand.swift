import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer store verify`: the local image store's fsck.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Check the local image store.", subcommands: [StoreVerifyCommand.self])
}

/// Hashes every blob against its name and follows every tagged image's references; exits 1 when
/// anything is wrong, after listing each problem.
struct StoreVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Hash every blob of the image store against its digest and check every tagged image's blobs are present (exit 1 if not).")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("json"), help: "Print the result as JSON.") var json = false

    func run() throws {
        try runReportingErrors {
            global.bootstrapLogging(json: json)
            let store = try ImageStore.open()
            let result = try store.verify()
            if json {
                let problems = result.problems.map { JSONValue.object([("location", .string($0.location)), ("message", .string($0.message))]) }
                print(JSONValue.object([("store", .string(store.path)), ("blobs", .int(Int64(result.blobs))), ("bytes", .int(result.bytes)),
                                        ("images", .int(Int64(result.images))), ("problems", .array(problems))]).pretty)
            } else {
                for problem in result.problems { Console.write("pkglayer: \(problem.location): \(problem.message)\n") }
                print("\(result.blobs) blobs (\(result.bytes) bytes) and \(result.images) tagged images checked in \(store.path): "
                      + (result.isClean ? "all blobs match their digests" : "\(result.problems.count) problem\(result.problems.count == 1 ? "" : "s")"))
            }
            if !result.isClean { throw ExitCode(1) }
        }
    }
}
