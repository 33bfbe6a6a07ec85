import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer save REF… -o FILE`: stored images into one archive, like `docker save`.
struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", abstract: "Write stored images into one archive (like 'docker save'): docker-archive, or --format oci-archive.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Images: NAME[:TAG] or digest prefixes.") var references: [String]
    @Option(name: [.customShort("o"), .customLong("output")], help: "The archive to write.") var output: String
    @Option(name: .customLong("format"), help: "docker-archive (default, for 'docker load') or oci-archive.") var format = "docker-archive"
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Overwrite the output file.") var force = false

    func run() throws {
        try runReportingErrors {
            let store = try ImageStore.open()
            let images = try references.map { try store.require($0) }
            let epoch = SourceDateEpoch(0)
            switch format {
            case "docker-archive":
                try DockerArchiveWriter.write(layout: try OCILayoutReader(path: store.path), tags: images.map(\.reference), to: output,
                                              epoch: epoch, overwrite: force)
            case "oci-archive":
                let reader = try OCILayoutReader(path: store.path)
                let manifests = try images.map { image in
                    TaggedManifest(descriptor: image.manifest, tag: image.reference, blobs: try reader.reachableBlobs(from: image.manifest))
                }
                try OCIArchiveWriter.write(manifests, from: store.blobs, to: output, epoch: epoch, overwrite: force)
            default:
                throw PkgLayerError(.usage, "unknown format '\(format)'; use docker-archive or oci-archive", at: "--format")
            }
            Console.write("saved \(images.map(\.reference).joined(separator: ", ")) to \(output) (\(format))\n")
        }
    }
}

/// `pkglayer load -i FILE`: a docker-archive or oci-archive into the local store, like `docker load`.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Put the images of a docker-archive or oci-archive (gzip'd or not) into the local store (like 'docker load').")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("i"), .customLong("input")], help: "The archive.") var input: String

    func run() throws {
        try runReportingErrors {
            for name in try ImageStore.open().load(archive: input) { print("Loaded image: \(name)") }
        }
    }
}
