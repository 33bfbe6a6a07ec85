import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PkgLayerCore
import PkgLayerOCI

/// The production transport: AsyncHTTPClient over NIO, with TLS trust set per registry (the system
/// CAs plus extra roots), redirects left to the client (so credentials never follow one to another host).
// @unchecked Sendable: its state is AsyncHTTPClient clients (thread-safe), created once and only read.
public final class HTTPRegistryTransport: RegistryTransport, @unchecked Sendable {
    private let client: HTTPClient
    /// Per request: how long a request may take in all (uploads of large chunks included).
    private let requestTimeout: TimeAmount

    /// - Parameter tls: nil for plain HTTP (`--insecure`).
    public init(tls: TLSConfiguration?, connectTimeoutSeconds: Int64 = 30, requestTimeoutSeconds: Int64 = 3600) {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(connectTimeoutSeconds), read: .seconds(300)))
        configuration.httpVersion = .http1Only
        // Connection failures come back at once: the client's own retry loop decides (a TLS failure is
        // final; AsyncHTTPClient's pool would otherwise keep redialling until the connect timeout).
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        requestTimeout = .seconds(requestTimeoutSeconds)
    }

    /// A transport for `registry` (`host[:port]`) that trusts what `trust` says.
    public convenience init(registry: String, trust: RegistryTrust) throws {
        self.init(tls: trust.insecure ? nil : try trust.tlsConfiguration(for: registry))
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    public func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        switch request.body {
        case .empty:
            if ["PUT", "POST", "PATCH"].contains(request.method) { outgoing.headers.replaceOrAdd(name: "Content-Length", value: "0") }
        case .bytes(let bytes):
            outgoing.body = .bytes(ByteBuffer(bytes: bytes))
            progress?(Int64(bytes.count))
        case .file(let path, let offset, let length):
            outgoing.body = .stream(try FileChunks(path: path, offset: offset, length: length, progress: progress), length: .known(length))
        }
        do {
            let response = try await client.execute(outgoing, timeout: requestTimeout)
            var result = RegistryResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
            if let download, (200..<300).contains(result.status) {
                for try await buffer in response.body {
                    try buffer.withUnsafeReadableBytes { try download.write($0) }
                    progress?(Int64(buffer.readableBytes))
                }
            } else if request.method != "HEAD" {
                result.body = try await Self.collect(response.body, for: request, status: result.status)   // HTTPRegistryTransport+Limits.swift
            }
            return result
        } catch let error as PkgLayerError {
            throw error
        } catch {
            throw Self.classify(error)
        }
    }

    /// TLS failures are final; everything else below HTTP (refused, reset, closed early, timed out) may be retried.
    static func classify(_ error: Error) -> RegistryTransportError {
        let text = String(describing: error)
        if error is NIOSSLError || error is BoringSSLError || text.contains("SSL") || text.contains("certificate") {
            return RegistryTransportError(.tls, "TLS failed: \(text); if the registry uses a private CA, pass --ca-cert FILE or put it in /etc/docker/certs.d/HOST:PORT/ca.crt")
        }
        if let client = error as? HTTPClientError, client == .deadlineExceeded || client == .readTimeout || client == .connectTimeout {
            return RegistryTransportError(.timeout, "timed out: \(text)")
        }
        return RegistryTransportError(.connection, "connection failed: \(text)")
    }
}

/// A file range as an async sequence of buffers, read on demand with pread (constant memory).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    let progress: (@Sendable (Int64) -> Void)?

    init(path: String, offset: Int64, length: Int64, progress: (@Sendable (Int64) -> Void)?) throws {
        guard FileManager.default.isReadableFile(atPath: path) else { throw PkgLayerError.posix("open", path: path, errno: ENOENT) }
        self.path = path; self.offset = offset; self.length = length; self.progress = progress
    }

    func makeAsyncIterator() -> Iterator { Iterator(source: self) }

    final class Iterator: AsyncIteratorProtocol {
        let source: FileChunks
        var fd: Int32 = -1
        var position: Int64
        let end: Int64

        init(source: FileChunks) {
            self.source = source
            position = source.offset
            end = source.offset + source.length
        }

        deinit { if fd >= 0 { close(fd) } }

        func next() async throws -> ByteBuffer? {
            guard position < end else { return nil }
            if fd < 0 {
                fd = open(source.path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw PkgLayerError.posix("open", path: source.path) }
            }
            let want = Int(Swift.min(Int64(1 << 20), end - position))
            var buffer = ByteBufferAllocator().buffer(capacity: want)
            var got = 0
            let fd = self.fd, position = self.position
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
                got = pread(fd, raw.baseAddress, want, off_t(position))
                return Swift.max(got, 0)
            }
            guard got > 0 else {
                throw PkgLayerError(.io, "the file ended or could not be read at byte \(position) while uploading", at: source.path)
            }
            self.position += Int64(got)
            source.progress?(Int64(got))
            return buffer
        }
    }
}
