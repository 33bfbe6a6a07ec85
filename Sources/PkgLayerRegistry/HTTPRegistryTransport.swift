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
    /// Per request: how long it may take in all, its body included (RegistryDeadline.swift).
    let deadline: RegistryDeadline

    /// - Parameter tls: nil for plain HTTP (`--insecure`).
    /// - Parameter deadline: the floor is also the idle read timeout (a server that sends nothing).
    public init(tls: TLSConfiguration?, connectTimeoutSeconds: Int64 = 30, deadline: RegistryDeadline = .current) {
        let idle = TimeAmount.milliseconds(Int64((deadline.floorSeconds * 1000).rounded(.up)))
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(connectTimeoutSeconds), read: idle))
        configuration.httpVersion = .http1Only
        // Connection failures come back at once: the client's own retry loop decides (a TLS failure is
        // final; AsyncHTTPClient's pool would otherwise keep redialling until the connect timeout).
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.deadline = deadline
    }

    /// A transport for `registry` (`host[:port]`) that trusts what `trust` says.
    public convenience init(registry: String, trust: RegistryTrust, deadline: RegistryDeadline = .current) throws {
        self.init(tls: trust.insecure ? nil : try trust.tlsConfiguration(for: registry), deadline: deadline)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends `request` within its deadline (`RegistryDeadline`): AsyncHTTPClient's own deadline ends
    /// when the response head arrives, so the body is raced here against a timer; when the timer wins
    /// the transfer is cancelled (the connection closed) and a `.timeout` error names the URL.
    public func send(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?) async throws -> RegistryResponse {
        let seconds = deadline.seconds(forBytes: request.body.length + Self.expectedAnswerBytes(for: request))
        let received = ByteCount(0)
        let outcome: RegistryResponse? = try await withThrowingTaskGroup(of: RegistryResponse?.self) { group in
            group.addTask { try await self.perform(request, download: download, progress: progress, seconds: seconds, received: received) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                return nil
            }
            defer { group.cancelAll() }
            // The first to finish decides: the transfer's answer, or nil from the timer.
            return try await group.next() ?? nil
        }
        guard let outcome else {
            let got = download == nil ? "" : " (\(received.add(0)) bytes received)"
            throw RegistryTransportError(.timeout, """
                timed out: \(request.method) \(request.displayURL) did not finish within \(RegistryDeadline.format(seconds))\(got); \
                the server stalls or drips its answer. If the link is just slow, raise \
                \(RegistryDeadline.floorVariable) (seconds, now \(RegistryDeadline.format(deadline.floorSeconds))) or lower \
                \(RegistryDeadline.speedVariable) (bytes per second, now \(Int(deadline.minimumBytesPerSecond)))
                """)
        }
        return outcome
    }

    /// The answer's size the deadline allows for: a blob's declared size, else the most pkglayer reads.
    static func expectedAnswerBytes(for request: RegistryRequest) -> Int64 {
        if let expected = request.expectedBytes { return expected }
        if request.method == "HEAD" { return 0 }
        return Int64(bodyLimit(for: request, status: 200).bytes)
    }

    private func perform(_ request: RegistryRequest, download: BlobWriter?, progress: (@Sendable (Int64) -> Void)?,
                         seconds: Double, received: ByteCount) async throws -> RegistryResponse {
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
            let response = try await client.execute(outgoing, timeout: .milliseconds(Int64((seconds * 1000).rounded(.up))))
            var result = RegistryResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
            if let download, (200..<300).contains(result.status) {
                for try await buffer in response.body {
                    try Task.checkCancellation()
                    let total = received.add(Int64(buffer.readableBytes))
                    // More than the manifest declares is refused at once, not written to disk first.
                    if let expected = request.expectedBytes, total > expected {
                        throw PkgLayerError(.registry, "the registry sent more than the \(expected) bytes the manifest declares for this blob; it serves something else",
                                            at: "\(request.method) \(request.displayURL)")
                    }
                    try buffer.withUnsafeReadableBytes { try download.write($0) }
                    progress?(Int64(buffer.readableBytes))
                }
            } else if request.method != "HEAD" {
                result.body = try await Self.collect(response.body, for: request, status: result.status)   // HTTPRegistryTransport+Limits.swift
            }
            try Task.checkCancellation()
            return result
        } catch let error as PkgLayerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.classify(error, request: request)
        }
    }

    /// TLS failures are final; everything else below HTTP (refused, reset, closed early, timed out) may be retried.
    static func classify(_ error: Error, request: RegistryRequest? = nil) -> RegistryTransportError {
        let text = String(describing: error)
        let url = request.map { " (\($0.method) \($0.displayURL))" } ?? ""
        if error is NIOSSLError || error is BoringSSLError || text.contains("SSL") || text.contains("certificate") {
            return RegistryTransportError(.tls, "TLS failed: \(text)\(url); if the registry uses a private CA, pass --ca-cert FILE or put it in /etc/docker/certs.d/HOST:PORT/ca.crt")
        }
        if let client = error as? HTTPClientError, client == .deadlineExceeded || client == .readTimeout || client == .connectTimeout {
            let hint = client == .readTimeout ? "; the server went silent for longer than the idle limit (\(RegistryDeadline.floorVariable) seconds)" : ""
            return RegistryTransportError(.timeout, "timed out: \(text)\(url)\(hint)")
        }
        return RegistryTransportError(.connection, "connection failed: \(text)\(url)")
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
