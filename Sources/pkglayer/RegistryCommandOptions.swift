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
                        maxAttempts: retries, progress: progress || isatty(2) == 1 ? RegistryProgressReport.callback : nil,
                        blobLocations: RegistryBlobLocations.defaultPath)
    }
}

/// Blob progress onto the process's progress reporter: `uploading sha256:abcdef012345  42% (…)`, and
/// one line when a blob is skipped or mounted.
enum RegistryProgressReport {
    static let callback: @Sendable (RegistryProgress) -> Void = { event in
        let short = String(event.digest.description.prefix(19))
        let bytes = UInt64(max(0, event.transferred)), total = UInt64(max(0, event.total))
        switch event.state {
        case .uploading, .downloading:
            Progress.report(.transfer(verb: event.state == .uploading ? "uploading" : "downloading", subject: short,
                                      bytes: bytes, total: total, finished: false))
        case .exists: Progress.note("  \(short)  exists, skipped")
        case .mounted(let from): Progress.note("  \(short)  mounted from \(from)")
        case .done: Progress.report(.transfer(verb: "done", subject: short, bytes: bytes, total: total, finished: true))
        }
    }
}
