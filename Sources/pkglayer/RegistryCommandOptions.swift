import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerRegistry

/// Flags every registry command shares: trust, retries and the progress display.
struct RegistryCommandOptions: ParsableArguments {
    @Option(name: .customLong("ca-cert"), help: ArgumentHelp("A PEM file with a CA the registry's certificate chains to (repeatable); added to the system CAs.", valueName: "FILE"))
    var caCertificates: [String] = []

    @Option(name: .customLong("certs-dir"), help: ArgumentHelp("Docker's per-registry CA directory; HOST[:PORT]/*.crt below it is trusted.", valueName: "DIR"))
    var certsDirectory = "/etc/docker/certs.d"

    @Flag(name: .customLong("insecure"), help: "Talk plain HTTP to the registry (no TLS at all). Only for registries on a trusted network.")
    var insecure = false

    @Option(name: .customLong("retries"), help: "Tries per request before a 5xx or a dropped connection is an error.")
    var retries = 5

    @Flag(name: .customLong("progress"), help: "Show bytes per blob on stderr even when it is not a terminal.")
    var progress = false

    func registryOptions() -> RegistryOptions {
        RegistryOptions(trust: RegistryTrust(caCertificates: caCertificates, certsDirectory: certsDirectory, insecure: insecure),
                        maxAttempts: retries, progress: progress || isatty(2) == 1 ? ProgressPrinter().callback : nil,
                        blobLocations: RegistryBlobLocations.defaultPath)
    }
}

/// Prints `sha256:abcdef012345  1.2 MiB / 3.4 MiB  uploading` lines on stderr, one per blob state
/// change and at most one per 4 MiB moved.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var printed: [Digest: Int64] = [:]

    var callback: @Sendable (RegistryProgress) -> Void { { [self] event in self.report(event) } }

    func report(_ event: RegistryProgress) {
        lock.lock(); defer { lock.unlock() }
        let label: String
        switch event.state {
        case .uploading, .downloading:
            let last = printed[event.digest] ?? -1
            guard last < 0 || event.transferred - last >= 4 << 20 || event.transferred == event.total else { return }
            printed[event.digest] = event.transferred
            label = event.state == .uploading ? "uploading" : "downloading"
        case .exists: label = "exists, skipped"
        case .mounted(let from): label = "mounted from \(from)"
        case .done: label = "done"
        }
        let short = String(event.digest.description.prefix(19))
        FileHandle.standardError.write(Data("\(short)  \(Self.size(event.transferred)) / \(Self.size(event.total))  \(label)\n".utf8))
    }

    static func size(_ bytes: Int64) -> String {
        bytes < 1 << 20 ? String(format: "%.1f KiB", Double(bytes) / 1024) : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
