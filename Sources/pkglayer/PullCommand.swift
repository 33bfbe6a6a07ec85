import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry

/// `pkglayer pull REF [--output oci:PATH[:TAG]]`: an image from a registry into an OCI layout.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an image from a registry into the local store (or, with -o, an OCI layout).",
        discussion: "Into the store, the image is named HOST/REPOSITORY:TAG, as 'pkglayer images' lists it, and serves as an image's base by that name. With -o oci:PATH[:TAG] a layout is created or added to (other tags stay). Each blob is checked against its digest. From a multi-platform index the --platform image (default: this machine's) is taken."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registryOptions: RegistryCommandOptions

    @Argument(help: "The image: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST].")
    var reference: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "Write an OCI layout instead: oci:PATH[:TAG] (default: into the local store, as HOST/REPOSITORY:TAG).")
    var output: String?

    @Option(name: .customLong("platform"), help: "OS/ARCH[/VARIANT] to take from an index, e.g. linux/arm64/v8.")
    var platform: String?

    func run() throws {
        global.bootstrapLogging()
        try runReportingErrors {
            let source = try RegistryReference(parsing: reference)
            var options = registryOptions.registryOptions()
            if let platform {
                let parts = platform.split(separator: "/").map(String.init)
                guard (2...3).contains(parts.count) else {
                    throw PkgLayerError(.usage, "is not OS/ARCH[/VARIANT] (e.g. linux/amd64)", at: "--platform \(platform)")
                }
                options.platform = OCIPlatform(architecture: parts[1], os: parts[0], variant: parts.count == 3 ? parts[2] : nil)
            }
            guard let output else {
                // Into the local store, named as pulled (`pkglayer images` lists it; a recipe's base may name it).
                let scratch = try TemporaryDirectory(prefix: "pkglayer-pull")
                let pulled = try Registry.pull(source, into: scratch.path + "/layout", tag: "pulled", options: options)
                let name = "\(source.registry)/\(source.repository):\(source.tag ?? "latest")"
                let stored = try ImageStore.open().add(layout: pulled.layout, tag: pulled.tag, as: name)
                print("\(stored.reference) \(pulled.digest)")
                let s = pulled.stats
                Console.write("pulled into the local store: \(s.blobsDownloaded) blobs (\(s.bytesDownloaded) bytes), \(s.retries) retries\n")
                return
            }
            guard case .layout(let path, let tag) = try PushSource(parsing: output) else {
                throw PkgLayerError(.usage, "is not oci:PATH[:TAG]", at: "--output \(output)")
            }
            let pulled = try Registry.pull(source, into: path, tag: tag, options: options)
            print("oci:\(pulled.layout):\(pulled.tag) \(pulled.digest)")
            let s = pulled.stats
            FileHandle.standardError.write(Data("pulled: \(s.blobsDownloaded) blobs (\(s.bytesDownloaded) bytes), \(s.retries) retries\n".utf8))
        }
    }
}
