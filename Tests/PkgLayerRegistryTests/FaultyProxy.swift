import Foundation
import PkgLayerTestSupport
import XCTest

/// A TLS-terminating HTTP proxy (python3, standard library only) in front of the test registry that
/// injects faults: for the first matching requests it answers 503 or drops the connection without an
/// answer (after reading the request, so the registry never sees it). Everything else is forwarded with
/// the Host header kept, so the registry's upload locations point back at the proxy. It serves at most
/// `lifetime` seconds and then stops by itself.
final class FaultyProxy {
    struct Rule: Encodable {
        /// `*` or an HTTP method.
        var method: String
        /// A substring of the request path (with query).
        var path: String
        /// `503` or `drop`.
        var action: String
        var times: Int
        /// Matching requests let through before the action starts.
        var skip: Int = 0
    }

    let port: Int
    let logPath: String
    private let process: Process
    var host: String { "127.0.0.1:\(port)" }

    init(upstream: RegistryServer, rules: [Rule], lifetime: Int = 300) throws {
        try requireTool("python3")
        port = try freePort()
        let script = try upstream.scratch.write("faulty-proxy-\(port).py", Self.script)
        logPath = upstream.scratch.path("proxy-\(port).log")
        struct Config: Encodable {
            var port: Int, upstream_port: Int, cert: String, key: String, ca: String, log: String, lifetime: Int, rules: [Rule]
        }
        let config = Config(port: port, upstream_port: upstream.port, cert: upstream.serverCert, key: upstream.serverKey,
                            ca: upstream.caFile, log: logPath, lifetime: lifetime, rules: rules)
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestProcess.which("python3")!)
        process.arguments = [script, json]
        let err = upstream.scratch.path("proxy-\(port).stderr")
        FileManager.default.createFile(atPath: err, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        try waitForPort(port, process: process, logPath: err)
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// One line per request: `METHOD PATH ACTION` (`forward`, `503` or `drop`).
    var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static let script = #"""
    import http.client, json, socket, ssl, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cfg = json.loads(sys.argv[1])
    rules = cfg["rules"]
    lock = threading.Lock()
    log = open(cfg["log"], "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            action = None
            with lock:
                for rule in rules:
                    if rule["times"] > 0 and rule["method"] in ("*", self.command) and rule["path"] in self.path:
                        if rule["skip"] > 0:
                            rule["skip"] -= 1
                            break
                        rule["times"] -= 1
                        action = rule["action"]
                        break
            log.write("%s %s %s\n" % (self.command, self.path, action or "forward"))
            if action == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if action == "503":
                payload = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            context = ssl.create_default_context(cafile=cfg["ca"])
            upstream = http.client.HTTPSConnection("127.0.0.1", cfg["upstream_port"], context=context, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length", "transfer-encoding")}
            send_body = body if self.command in ("PUT", "POST", "PATCH") else None
            upstream.request(self.command, self.path, body=send_body, headers=headers)
            response = upstream.getresponse()
            data = b"" if self.command == "HEAD" else response.read()
            self.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", response.getheader("Content-Length") or "0")
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
            upstream.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", cfg["port"]), Handler)
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cfg["cert"], cfg["key"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Timer(cfg["lifetime"], server.shutdown).start()
    server.serve_forever()
    """#
}
