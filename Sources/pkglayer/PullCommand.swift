import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry

/// `pkglayer pull REF [--output oci:PATH[:TAG]]`: an image from a registry into an OCI layout.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull an image from a registry into an OCI layout.",
        discussion: "The layout is created or added to (other tags stay); each blob is checked against its digest. From a multi-platform index the --platform image (default: this machine's) is taken. The result serves as an image's base as oci-layout:PATH:TAG."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registryOptions: RegistryCommandOptions

    @Argument(help: "The image: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST].")
    var reference: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The layout: oci:PATH[:TAG] (default: oci:./REPOSITORY-NAME:TAG).")
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
            var path = source.repository.split(separator: "/").last.map(String.init) ?? "image"
            var tag: String?
            if let output {
                guard case .layout(let given, let givenTag) = try PushSource(parsing: output) else {
                    throw PkgLayerError(.usage, "is not oci:PATH[:TAG]", at: "--output \(output)")
                }
                path = given
                tag = givenTag
            }
            let pulled = try Registry.pull(source, into: path, tag: tag, options: options)
            print("oci:\(pulled.layout):\(pulled.tag) \(pulled.digest)")
            let s = pulled.stats
            FileHandle.standardError.write(Data("pulled: \(s.blobsDownloaded) blobs (\(s.bytesDownloaded) bytes), \(s.retries) retries\n".utf8))
        }
    }
}
