import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerRegistry

/// `pkglayer push SRC REF`: an image from an OCI layout or oci-archive to a registry.
struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an image to a registry.",
        discussion: "SRC is the name of an image in the local store (NAME[:TAG], as pkglayer images lists it), oci:PATH[:TAG] (an OCI layout directory), oci-archive:PATH[:TAG], or a bare path to either; TAG may be left out when the layout holds one image. Blobs the registry has are not sent again. Credentials come from docker's config.json (pkglayer login)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registryOptions: RegistryCommandOptions

    @Argument(help: "The image: NAME[:TAG] in the local store, oci:PATH[:TAG], oci-archive:PATH[:TAG] or a bare path.")
    var source: String

    @Argument(help: "Where to: HOST[:PORT]/REPOSITORY[:TAG].")
    var reference: String

    @Option(name: .customLong("mount-from"), help: ArgumentHelp("A repository of the same registry to mount existing blobs from (repeatable).", valueName: "REPOSITORY"))
    var mountFrom: [String] = []

    @Option(name: .customLong("chunk-size"), help: "Blobs larger than this many bytes go up in PATCH chunks of this size.")
    var chunkSize: Int64 = 32 << 20

    func run() throws {
        global.bootstrapLogging()
        try runReportingErrors {
            let source = try PushSource(parsing: self.source)
            let target = try RegistryReference(parsing: reference)
            var options = registryOptions.registryOptions()
            options.mountFrom = mountFrom
            guard chunkSize > 0 else { throw PkgLayerError(.usage, "must be a positive number of bytes", at: "--chunk-size") }
            options.chunkSize = chunkSize
            let report = try Registry.push(source, to: target, options: options)
            let s = report.stats
            print("\(target)@\(report.digest)")
            FileHandle.standardError.write(Data("pushed: \(s.blobsUploaded) blobs uploaded (\(s.bytesUploaded) bytes), \(s.blobsExisting) already there, \(s.blobsMounted) mounted, \(s.retries) retries\n".utf8))
        }
    }
}
