import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline
import PkgLayerRegistry

/// `pkglayer image FILE`: an image from an image file (the keys of a recipe's `image:` section).
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Assemble an OCI image by stacking packages as layers (no RUN steps).",
        discussion: """
        The image file holds the keys of a recipe's `image:` section, with `name` required:

          name: web
          tag: "1.0"
          format: deb
          packages: [./out/nginx_1.22.1-1_amd64.deb, libc6]
          repositories: [{apt: host}]
          config: {entrypoint: [/usr/sbin/nginx, -g, "daemon off;"], ports: [80/tcp]}

        The image is tagged NAME:TAG in the local store (`pkglayer images`) and written to the output
        folder as an OCI layout (NAME-TAG.oci), an oci-archive (NAME-TAG.oci.tar), a docker-archive
        (NAME-TAG.docker.tar, for `docker load`) and an SPDX 2.3 SBOM (NAME-TAG.spdx.json).
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The image file.")
    var file: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "Where the image outputs go.")
    var output: String = "out"

    @Option(name: .customLong("tag"), help: "Override the image's tag.")
    var tag: String?

    @Option(name: .customLong("context"), help: ArgumentHelp("The build context: every file the image file names must be in this directory tree (default: its own directory).", valueName: "DIR"))
    var context: String?

    @Flag(name: .customLong("refresh"), help: "Resolve the packages against the repositories and a registry base's tag again, ignoring lockfiles and the last resolution.")
    var refresh = false

    @Option(name: .customLong("lockfile"), help: "Use this lockfile instead of the image file's.")
    var lockfile: String?

    @Flag(name: .customLong("offline"), help: "Never download; use only the cache (and the lockfile).")
    var offline = false

    @Flag(name: .customLong("json"), help: "Print a machine-readable result.")
    var json = false

    @Option(name: .customLong("push"), help: ArgumentHelp("Push the image to a registry when it is built.", valueName: "HOST[:PORT]/REPOSITORY[:TAG]"))
    var push: String?

    @OptionGroup var registryOptions: RegistryCommandOptions

    func run() throws {
        global.bootstrapLogging(json: json)
        try runReportingErrors {
            var options = ImageBuilder.Options(outputDirectory: output, offline: offline, lockfile: lockfile)
            options.refresh = refresh
            options.registry = registryOptions.registryOptions()
            let builder = ImageBuilder(options: options)
            let result = try builder.build(imageFile: file, tag: tag, context: context)
            ImageCommand.report(result, json: json)
            if let push { try ImageCommand.push(result, to: push, options: registryOptions.registryOptions()) }
        }
    }

    /// `--push`: the image's OCI layout output to a registry.
    static func push(_ result: ImageBuilder.Result, to reference: String, options: RegistryOptions) throws {
        let (target, report) = try result.push(to: reference, options: options)
        let s = report.stats
        print("\(target)@\(report.digest)")
        FileHandle.standardError.write(Data("pushed \(result.image) to \(target): \(s.blobsUploaded) blobs uploaded (\(s.bytesUploaded) bytes), \(s.blobsExisting) already there, \(s.blobsMounted) mounted\n".utf8))
    }

    static func report(_ result: ImageBuilder.Result, json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(result)) ?? Data(), as: UTF8.self))
            return
        }
        FileHandle.standardError.write(Data("\(result.image): \(result.layers.count) layers, \(result.digest) in \(String(format: "%.1f", result.seconds)) s\n".utf8))
        for key in result.outputs.keys.sorted() { print(result.outputs[key]!) }
    }
}
