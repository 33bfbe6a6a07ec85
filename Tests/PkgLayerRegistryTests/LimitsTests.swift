import Foundation
import PkgLayerCore
import PkgLayerOCI
@testable import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

/// A misbehaving registry (python3, standard library only): oversized error bodies, an endless chunked
/// body, an oversized manifest and token answer. Every answer is read with a bounded buffer and
/// refused with a limit error, without retries (docs/limits.md).
final class RegistryLimitsTests: XCTestCase {
    static let script = """
        import http.server, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *args): pass
            def answer(self, status, body, headers=()):
                self.send_response(status)
                for name, value in headers: self.send_header(name, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                if self.path.startswith('/v2/big/manifests/'):
                    self.answer(200, b'{"pad":"' + b'x' * (5 << 20) + b'"}', [('Content-Type', 'application/vnd.oci.image.manifest.v1+json')])
                elif self.path.startswith('/v2/small/manifests/'):
                    self.answer(200, b'{"schemaVersion":2}', [('Content-Type', 'application/vnd.oci.image.manifest.v1+json')])
                elif self.path.startswith('/endless'):
                    self.send_response(500)
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    chunk = b'x' * 65536
                    try:
                        while True:
                            self.wfile.write(b'%x\\r\\n' % len(chunk) + chunk + b'\\r\\n')
                    except OSError:
                        pass
                elif self.path.startswith('/token'):
                    self.answer(200, b'{"token":"' + b'a' * (2 << 20) + b'"}')
                else:
                    self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"' + b'no' * (1 << 20) + b'"}]}',
                                [('WWW-Authenticate', 'Basic realm="x"')])
        http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
        """

    var server: Process?
    var scratch: ScratchDirectory!
    var port = 0

    override func setUpWithError() throws {
        try requireTool("python3")
        scratch = try ScratchDirectory()
        port = try freePort()
        let script = try scratch.write("server.py", Self.script)
        let log = scratch.path("server.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestProcess.which("python3")!)
        process.arguments = [script, String(port)]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        server = process
        try waitForPort(port, process: process, logPath: log)
    }

    override func tearDown() {
        if let server, server.isRunning { server.terminate(); server.waitUntilExit() }
    }

    func get(_ path: String) async throws -> RegistryResponse {
        let transport = HTTPRegistryTransport(tls: nil)
        do {
            let response = try await transport.send(RegistryRequest(method: "GET", url: "http://127.0.0.1:\(port)\(path)"))
            await transport.shutdown()
            return response
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    func testAnOversizedErrorBodyIsRefused() async throws {
        let error = await assertLimitExceeded(.registryResponseBytes, mentions: ["the registry's answer (HTTP 401)", "PKGLAYER_MAX_REGISTRY_RESPONSE_BYTES="]) {
            try await get("/v2/")
        }
        XCTAssertEqual(error?.location, "127.0.0.1:\(port): GET /v2/")
    }

    func testAnEndlessBodyIsCutOff() async throws {
        await assertLimitExceeded(.registryResponseBytes, mentions: ["HTTP 500"]) { try await get("/endless") }
    }

    func testAnOversizedTokenAnswerIsRefused() async throws {
        await assertLimitExceeded(.registryResponseBytes, mentions: ["HTTP 200"]) { try await get("/token?scope=x") }
    }

    func testManifestsAreReadUpToTheManifestLimit() async throws {
        let small = try await get("/v2/small/manifests/latest")
        XCTAssertEqual(small.status, 200)
        XCTAssertEqual(String(decoding: small.body, as: UTF8.self), #"{"schemaVersion":2}"#)
        await assertLimitExceeded(.ociJSONBytes, mentions: ["the manifest", "PKGLAYER_MAX_OCI_JSON_BYTES="]) {
            try await get("/v2/big/manifests/latest")
        }
    }

    /// Through the client: the refusal is final (no retries) and keeps its message.
    func testTheClientDoesNotRetryALimitError() async throws {
        let options = RegistryOptions(trust: RegistryTrust(insecure: true), retryDelay: 0)
        let client = RegistryClient(registry: "127.0.0.1:\(port)", transport: HTTPRegistryTransport(tls: nil), credential: nil,
                                    options: options, scopes: [])
        await assertLimitExceeded(.ociJSONBytes) { try await client.getManifest("big", reference: "latest") }
        let stats = await client.stats
        XCTAssertEqual(stats.requests, 1)
        await client.shutdown()
    }

    func testPulledManifestsWithTooManyLayers() throws {
        let digest = Digest.sha256(Array("x".utf8)).description
        let layer = #"{"mediaType":"\#(OCIMediaType.layerGzip)","digest":"\#(digest)","size":1}"#
        let json = #"{"schemaVersion":2,"config":\#(layer),"layers":[\#(Array(repeating: layer, count: 1001).joined(separator: ","))]}"#
        assertLimitExceeded(.ociLayers, mentions: ["layer count is 1001"]) { try ManifestJSON.blobs(Array(json.utf8), at: "r/x:latest") }
    }
}
