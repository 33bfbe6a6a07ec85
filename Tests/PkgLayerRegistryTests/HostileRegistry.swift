import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// A registry that misbehaves on purpose (python3, standard library only), for `pkglayer pull` and
/// `base:` against hostile answers. It serves what `routes` say (read again on every request, so a
/// test can change them): a status, headers and a body, sent whole, dripped one byte every 0.2 s
/// under a large Content-Length (`drip`) or as chunks without one (`drip-chunked`), or headers and
/// then silence (`stall`). With `tls`, one port speaks both HTTPS and plain HTTP (the first byte of a
/// connection decides), so a redirect to `http://` on the same host and port can be tested. Every
/// request is logged with its scheme and all its headers (`requests`). It stops by itself after
/// `lifetime` seconds.
final class HostileRegistry {
    struct Route: Encodable {
        var path: String
        var method = "*"
        /// `*`, `http` or `https`.
        var scheme = "*"
        var status = 200
        var headers: [[String]] = []
        var body: String?
        var bodyFile: String?
        /// `send`, `drip`, `drip-chunked` or `stall`.
        var behaviour = "send"
        /// The Content-Length a drip or a stall announces.
        var declared = 1 << 20
        /// When set, requests without exactly this Authorization header get 401 with `challenge`.
        var auth: String?
        var challenge: String?

        enum CodingKeys: String, CodingKey {
            case path, method, scheme, status, headers, body, behaviour, declared, auth, challenge
            case bodyFile = "body_file"
        }
    }

    struct Request: Decodable {
        var scheme: String
        var method: String
        var path: String
        var headers: [String: String]
    }

    let scratch: ScratchDirectory
    let port: Int
    let logPath: String
    let routesPath: String
    private let process: Process
    var host: String { "127.0.0.1:\(port)" }

    /// `tls`: the server certificate and key (PEM) for HTTPS beside plain HTTP on the same port.
    init(tls: (cert: String, key: String)? = nil, lifetime: Int = 600) throws {
        try requireTool("python3")
        scratch = try ScratchDirectory(prefix: "pkglayer-hostile-registry")
        port = try freePort()
        let script = try scratch.write("hostile-registry.py", Self.script)
        logPath = scratch.path("requests.log")
        routesPath = scratch.path("routes.json")
        try Data("[]".utf8).write(to: URL(fileURLWithPath: routesPath))
        struct Config: Encodable {
            var port: Int, log: String, routes: String, lifetime: Int, cert: String?, key: String?
        }
        let config = Config(port: port, log: logPath, routes: routesPath, lifetime: lifetime, cert: tls?.cert, key: tls?.key)
        let configPath = try scratch.write("config.json", String(decoding: try JSONEncoder().encode(config), as: UTF8.self))
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestProcess.which("python3")!)
        process.arguments = [script, configPath]
        let err = scratch.path("stderr.log")
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        try waitForPort(port, process: process, logPath: err)
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// Replaces the routes (the first match wins; a path ending in `*` matches by prefix).
    func set(_ routes: [Route]) throws {
        let data = try JSONEncoder().encode(routes)
        let temporary = routesPath + ".new"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, routesPath) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// Every request so far.
    var requests: [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// The routes that serve `image` (a `HostileImage`) as `REPOSITORY:TAG` (and by digest).
    static func routes(serving image: HostileImage, as repository: String, tag: String) -> [Route] {
        var routes: [Route] = []
        for reference in [tag, image.manifestDigest.description] {
            routes.append(Route(path: "/v2/\(repository)/manifests/\(reference)",
                                headers: [["Content-Type", OCIMediaType.imageManifest], ["Docker-Content-Digest", image.manifestDigest.description]],
                                bodyFile: image.blobPath(image.manifestDigest)))
        }
        for digest in image.blobDigests {
            routes.append(Route(path: "/v2/\(repository)/blobs/\(digest)", bodyFile: image.blobPath(digest)))
        }
        return routes
    }

    static let script = #"""
    import json, socket, ssl, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cfg = json.load(open(sys.argv[1]))
    lock = threading.Lock()
    log = open(cfg["log"], "a", buffering=1)
    tls = None
    if cfg.get("cert"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cfg["cert"], cfg["key"])
    stop_at = time.time() + cfg["lifetime"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        scheme = "http"

        def log_message(self, *args):
            pass

        def respond(self, status, headers, body, length=None):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def drip(self, write):
            try:
                while time.time() < stop_at:
                    write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            self.close_connection = True

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?")[0]
            with lock:
                log.write(json.dumps({"scheme": self.scheme, "method": self.command, "path": self.path,
                                      "headers": dict(self.headers.items())}) + "\n")
            route = None
            for r in json.load(open(cfg["routes"])):
                if r.get("method", "*") not in ("*", self.command) or r.get("scheme", "*") not in ("*", self.scheme):
                    continue
                p = r["path"]
                if p == path or (p.endswith("*") and path.startswith(p[:-1])):
                    route = r
                    break
            if route is None:
                self.respond(404, [("Content-Type", "application/json")], b'{"errors":[{"code":"NAME_UNKNOWN","message":"no such route"}]}')
                return
            if route.get("auth") and self.headers.get("Authorization") != route["auth"]:
                self.respond(401, [("WWW-Authenticate", route["challenge"]), ("Content-Type", "application/json")],
                             b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
                return
            body = b""
            if route.get("body_file"):
                body = open(route["body_file"], "rb").read()
            elif route.get("body") is not None:
                body = route["body"].encode()
            headers = [tuple(h) for h in route.get("headers", [])]
            behaviour = route.get("behaviour", "send")
            status = route.get("status", 200)
            if behaviour == "send":
                self.respond(status, headers, b"" if self.command == "HEAD" else body, length=len(body))
                return
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if behaviour == "drip-chunked":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.drip(lambda b: self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b)))
                return
            self.send_header("Content-Length", str(route.get("declared", 1 << 20)))
            self.end_headers()
            if behaviour == "drip":
                self.drip(lambda b: self.wfile.write(b))
            else:
                try:
                    while time.time() < stop_at:
                        time.sleep(0.5)
                except OSError:
                    pass
                self.close_connection = True

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def finish_request(self, request, client_address):
            scheme = "http"
            if tls is not None:
                request.settimeout(10)
                try:
                    first = request.recv(1, socket.MSG_PEEK)
                    if first == b"\x16":
                        request = tls.wrap_socket(request, server_side=True)
                        scheme = "https"
                except (OSError, ssl.SSLError):
                    return
                request.settimeout(None)
            type("Handler", (Handler,), {"scheme": scheme})(request, client_address, self)

    server = Server(("127.0.0.1", cfg["port"]), Handler)
    threading.Timer(cfg["lifetime"], server.shutdown).start()
    server.serve_forever()
    """#
}

/// An image written by hand as an OCI layout, its layers tars made by Python's tarfile from member
/// lists, so they can hold what no well-behaved tool writes (`../` names, device nodes, a file
/// beneath a symlink, a hardlink to nothing).
struct HostileImage {
    /// One tar member: `file` (with `data`), `dir`, `symlink` or `hardlink` (to `target`), `char`,
    /// `block` or `fifo`.
    struct Member: Encodable {
        var name: String
        var type = "file"
        var target: String?
        var data: String?

        static func file(_ name: String, _ data: String = "x\n") -> Member { Member(name: name, type: "file", data: data) }
        static func dir(_ name: String) -> Member { Member(name: name, type: "dir") }
        static func symlink(_ name: String, to target: String) -> Member { Member(name: name, type: "symlink", target: target) }
        static func hardlink(_ name: String, to target: String) -> Member { Member(name: name, type: "hardlink", target: target) }
        static func node(_ name: String, _ type: String) -> Member { Member(name: name, type: type) }
    }

    /// An OCI layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`), the image tagged `tag`.
    let layout: String
    let tag: String
    let manifestDigest: Digest
    let configDigest: Digest
    let layerDigests: [Digest]
    var blobDigests: [Digest] { [configDigest] + layerDigests }

    func blobPath(_ digest: Digest) -> String { "\(layout)/blobs/sha256/\(digest.hex)" }

    /// Writes the image: each of `layers` (bottom first) a gzip'd tar of its members.
    init(layers: [[Member]], at layout: String, tag: String = "1") throws {
        self.layout = layout
        self.tag = tag
        let blobs = "\(layout)/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        func put(_ data: Data) throws -> Digest {
            let digest = Digest.sha256(Array(data))
            try data.write(to: URL(fileURLWithPath: "\(blobs)/\(digest.hex)"))
            return digest
        }
        var layerDescriptors: [OCIDescriptor] = [], diffIDs: [String] = []
        for (index, members) in layers.enumerated() {
            let tar = "\(layout)/layer-\(index).tar.gz"
            try generateWithPython(Self.tarScript, [tar, String(decoding: try JSONEncoder().encode(members), as: UTF8.self)])
            let raw = try TestProcess.runChecked("python3", ["-c", "import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", tar])
            diffIDs.append("sha256:" + raw.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
            let data = try Data(contentsOf: URL(fileURLWithPath: tar))
            try FileManager.default.removeItem(atPath: tar)
            layerDescriptors.append(OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: try put(data), size: Int64(data.count)))
        }
        let platform = OCIPlatform(Architecture.native)
        let config: [String: Any] = ["architecture": platform.architecture, "os": platform.os, "config": [String: Any](),
                                     "rootfs": ["type": "layers", "diff_ids": diffIDs]]
        let configData = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        configDigest = try put(configData)
        layerDigests = layerDescriptors.map(\.digest)
        func descriptor(_ mediaType: String, _ digest: Digest, _ size: Int) -> [String: Any] {
            ["mediaType": mediaType, "digest": digest.description, "size": size]
        }
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": OCIMediaType.imageManifest,
            "config": descriptor(OCIMediaType.imageConfig, configDigest, configData.count),
            "layers": layerDescriptors.map { descriptor($0.mediaType, $0.digest, Int($0.size)) },
        ]
        let manifestData = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        manifestDigest = try put(manifestData)
        var entry = descriptor(OCIMediaType.imageManifest, manifestDigest, manifestData.count)
        entry["annotations"] = [OCIAnnotation.refName: tag]
        let index: [String: Any] = ["schemaVersion": 2, "manifests": [entry]]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]).write(to: URL(fileURLWithPath: "\(layout)/index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: "\(layout)/oci-layout"))
    }

    static let tarScript = #"""
    import gzip, io, json, sys, tarfile
    out, members = sys.argv[1], json.loads(sys.argv[2])
    buf = io.BytesIO()
    types = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
             "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.mtime = 1600000000
            info.mode = 0o644
            if m["type"] == "file":
                data = (m.get("data") or "").encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = types[m["type"]]
            if m["type"] == "dir":
                info.mode = 0o755
            if m["type"] in ("symlink", "hardlink"):
                info.linkname = m["target"]
            if m["type"] in ("char", "block"):
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info)
    open(out, "wb").write(gzip.compress(buf.getvalue(), mtime=0))
    """#
}
