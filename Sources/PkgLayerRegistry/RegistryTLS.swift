import Foundation
import NIOSSL
import PkgLayerCore

/// Where trust for a registry comes from: the system's CAs, plus any `--ca-cert` files, plus docker's
/// convention `/etc/docker/certs.d/HOST[:PORT]/*.crt`. Verification is never turned off; a registry
/// without TLS is reached only with `insecure` (plain HTTP).
public struct RegistryTrust: Sendable, Equatable {
    /// PEM files with extra CA certificates.
    public var caCertificates: [String]
    /// Docker's per-registry certificate directories; `HOST[:PORT]/` below it is read.
    public var certsDirectory: String
    /// Plain HTTP, no TLS at all.
    public var insecure: Bool

    public init(caCertificates: [String] = [], certsDirectory: String = "/etc/docker/certs.d", insecure: Bool = false) {
        self.caCertificates = caCertificates; self.certsDirectory = certsDirectory; self.insecure = insecure
    }

    /// The CA files that apply to `registry` (`host[:port]`), in order, each checked to exist.
    public func caFiles(for registry: String) throws -> [String] {
        for file in caCertificates where !FileManager.default.isReadableFile(atPath: file) {
            throw PkgLayerError(.usage, "CA certificate file cannot be read; give a PEM file with --ca-cert", at: file)
        }
        let dir = "\(certsDirectory)/\(registry)"
        let docker = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".crt") }.sorted().map { "\(dir)/\($0)" }
        return caCertificates + docker
    }

    /// A client TLS configuration that verifies the peer against the system roots plus the extra CAs.
    func tlsConfiguration(for registry: String) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        var extra: [NIOSSLCertificate] = []
        for file in try caFiles(for: registry) {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(file)
                guard !certificates.isEmpty else {
                    throw PkgLayerError(.usage, "holds no PEM certificate; give the registry's CA certificate", at: file)
                }
                extra += certificates
            } catch let error as PkgLayerError {
                throw error
            } catch {
                throw PkgLayerError(.usage, "is not a PEM certificate file (\(error)); give the registry's CA certificate", at: file)
            }
        }
        if !extra.isEmpty { tls.additionalTrustRoots = [.certificates(extra)] }
        return tls
    }
}
