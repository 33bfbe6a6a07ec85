import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerOCI

/// `pkglayer import rootfs.tar NAME[:TAG]`: a root file system tarball as a one-layer image, like
/// `docker import`, stored in the local store and usable as an image's `base:`.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a root file system tarball as a one-layer image in the local store (like 'docker import').",
        discussion: """
        The tarball may be plain, gzip, xz, zstd or bzip2. Owners, modes and mtimes are kept, so the same tarball always
        gives the same image; 'created' is $SOURCE_DATE_EPOCH, else the newest mtime in the tarball. Absolute member names
        are taken relative to the image root (as docker import does); names with '..' are refused. Device nodes, fifos and
        sockets are skipped (and listed).
        Examples:
          pkglayer import alpine-minirootfs.tar.gz alpine:3.20
          pkglayer import rootfs.tar.zst base --change 'ENV PATH=/usr/bin:/bin' --change 'CMD ["/bin/sh"]'
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The rootfs tarball.")
    var tarball: String

    @Argument(help: "The image's name in the store, NAME[:TAG] (TAG defaults to latest).")
    var reference: String

    @Option(name: [.customShort("c"), .customLong("change")],
            help: "A Dockerfile instruction for the config: ENV K=V, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, LABEL K=V, STOPSIGNAL (repeatable).")
    var changes: [String] = []

    @Option(name: [.customLong("platform"), .customLong("arch")], help: "The image's architecture (amd64, arm64, x86_64, …; default: this machine's). 'linux/arm64' also works.")
    var platform: String?

    @Flag(name: .customLong("json"), help: "Print the imported image as JSON.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let normalized = try ImageReference.normalize(reference)
            var architecture = Architecture.native
            if let platform {
                let arch = platform.split(separator: "/").count > 1 ? String(platform.split(separator: "/")[1]) : platform
                guard let parsed = Architecture(parsing: arch) else {
                    throw PkgLayerError(.usage, "unknown architecture '\(arch)'; use amd64, arm64, 386, arm, ppc64le, s390x or riscv64", at: "--platform")
                }
                architecture = parsed
            }
            var config = ContainerConfig()
            for change in changes { try Self.apply(change, to: &config) }
            try config.validate()
            let epoch = try SourceDateEpoch.fromEnvironment()
            // The tarball is read whole before the store is touched: a refused tarball writes nothing there.
            guard FileManager.default.isReadableFile(atPath: tarball) else {
                throw PkgLayerError(.invalidInput, "cannot read the rootfs tarball; give the path of a .tar, .tar.gz, .tar.xz or .tar.zst file", at: tarball)
            }
            let store = try ImageStore.open()
            let result = try RootfsImporter.importImage(tarball: tarball, into: store.blobs, layerWriter: LayerWriter(cache: store.layerCache),
                                                        architecture: architecture, config: config, epoch: epoch)
            try store.tag(result.image, as: normalized)
            for skipped in result.skipped {
                FileHandle.standardError.write(Data("pkglayer: warning: skipped \(skipped): an image layer from pkglayer cannot hold it\n".utf8))
            }
            if json {
                print(JSONValue.object([
                    ("reference", .string(normalized)), ("digest", .string(result.image.manifest.digest.description)),
                    ("layer", .string(result.image.layers[0].descriptor.digest.description)),
                    ("size", .int(result.image.layers[0].descriptor.size)), ("skipped", .array(result.skipped.map(JSONValue.string))),
                ]).pretty)
            } else {
                print("\(normalized) \(result.image.manifest.digest)")
            }
        }
    }

    /// Applies one `--change` (the subset of Dockerfile instructions `docker import --change` takes).
    static func apply(_ change: String, to config: inout ContainerConfig) throws {
        let trimmed = change.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw PkgLayerError(.usage, "expected 'INSTRUCTION VALUE', e.g. 'ENV PATH=/bin' or 'CMD [\"/bin/sh\"]'", at: "--change \(change)")
        }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        func list() throws -> [String] {
            if value.hasPrefix("[") {
                guard let array = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String] else {
                    throw PkgLayerError(.usage, "is not a JSON array of strings", at: "--change \(change)")
                }
                return array
            }
            return ["/bin/sh", "-c", value]
        }
        func pair() throws -> (String, String) {
            guard let eq = value.firstIndex(of: "="), eq != value.startIndex else {
                throw PkgLayerError(.usage, "expected KEY=value", at: "--change \(change)")
            }
            return (String(value[..<eq]), String(value[value.index(after: eq)...]))
        }
        switch parts[0].uppercased() {
        case "ENV": let (k, v) = try pair(); config.env.removeAll { $0.hasPrefix("\(k)=") }; config.env.append("\(k)=\(v)")
        case "CMD": config.cmd = try list()
        case "ENTRYPOINT": config.entrypoint = try list()
        case "WORKDIR": config.workingDir = value
        case "USER": config.user = value
        case "EXPOSE": config.exposedPorts += value.split(separator: " ").map(String.init)
        case "VOLUME": config.volumes += value.hasPrefix("[") ? try list() : value.split(separator: " ").map(String.init)
        case "LABEL": let (k, v) = try pair(); config.labels[k] = v
        case "STOPSIGNAL": config.stopSignal = value
        default:
            throw PkgLayerError(.usage, "unsupported instruction '\(parts[0])'; use ENV, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, LABEL or STOPSIGNAL",
                                at: "--change \(change)")
        }
    }
}
