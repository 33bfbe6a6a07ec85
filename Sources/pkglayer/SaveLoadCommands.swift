import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer save REF… -o FILE`: stored images into one archive, like `docker save` (without `-o`, to
/// stdout when it is not a terminal: `pkglayer save web:1 > web.tar`).
struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", abstract: "Write stored images into one archive (like 'docker save'): docker-archive, or --format oci-archive.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Images: NAME[:TAG] or digest prefixes.") var references: [String]
    @Option(name: [.customShort("o"), .customLong("output")], help: "The archive to write (default: stdout, when it is not a terminal).") var output: String?
    @Option(name: .customLong("format"), help: "docker-archive (default, for 'docker load') or oci-archive.") var format = "docker-archive"
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Overwrite the output file.") var force = false

    func run() throws {
        try runReportingErrors {
            let toStdout = output == nil
            if toStdout, isatty(STDOUT_FILENO) != 0 {
                throw PkgLayerError(.usage, "will not write an archive to a terminal; give -o FILE or redirect stdout (pkglayer save IMAGE > image.tar)", at: "-o")
            }
            let store = try ImageStore.open()
            let images = try references.map { try store.require($0) }
            // To stdout: the archive is written whole (atomically, checked) into a work directory first, then copied.
            let scratch = toStdout ? try TemporaryDirectory(prefix: "pkglayer-save") : nil
            let output = output ?? "\(scratch!.path)/archive.tar"
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
            if toStdout {
                try FileReader.forEachBlock(path: output) { block in
                    try FileHandle.standardOutput.write(contentsOf: Data(block))
                }
            }
            Console.write("saved \(images.map(\.reference).joined(separator: ", ")) to \(toStdout ? "stdout" : output) (\(format))\n")
        }
    }
}

/// `pkglayer load -i FILE`: a docker-archive or oci-archive into the local store, like `docker load` (without
/// `-i`, from stdin when it is not a terminal: `pkglayer load < web.tar`).
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Put the images of a docker-archive or oci-archive (gzip'd or not) into the local store (like 'docker load').")

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("i"), .customLong("input")], help: "The archive (default: stdin, when it is not a terminal).") var input: String?

    func run() throws {
        try runReportingErrors {
            var archive = input
            var scratch: TemporaryDirectory?
            if archive == nil {
                guard isatty(STDIN_FILENO) == 0 else {
                    throw PkgLayerError(.usage, "give -i FILE or pipe an archive to stdin (pkglayer load < image.tar)", at: "-i")
                }
                // The loader reads members by name: stdin is kept in a work directory first, removed afterwards.
                let directory = try TemporaryDirectory(prefix: "pkglayer-load-stdin")
                let path = "\(directory.path)/stdin.tar"
                FileManager.default.createFile(atPath: path, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty { try handle.write(contentsOf: chunk) }
                try handle.close()
                archive = path
                scratch = directory
            }
            defer { withExtendedLifetime(scratch) {} }
            for name in try ImageStore.open().load(archive: archive!) { print("Loaded image: \(name)") }
        }
    }
}
