import Foundation
import PkgLayerTestSupport
import XCTest

/// Debian's `docker-registry` on 127.0.0.1 and a free port, set up the way a team sets up a private
/// registry: a CA and a server certificate (SAN IP:127.0.0.1) made with openssl, and htpasswd (bcrypt)
/// basic auth. Started in the test, stopped when dropped.
final class RegistryServer {
    static let username = "ci-user"
    static let password = "s3cret-Pa55-\(UInt32.random(in: 100_000...999_999))"

    let scratch: ScratchDirectory
    let port: Int
    /// Holds `ca.crt` only: what skopeo's `--cert-dir` and docker's certs.d want.
    let certDirectory: String
    var caFile: String { "\(certDirectory)/ca.crt" }
    let serverCert: String
    let serverKey: String
    let logPath: String
    private let process: Process
    private let log: FileHandle
    var host: String { "127.0.0.1:\(port)" }

    init() throws {
        try requireTool("docker-registry", "openssl", "htpasswd")
        scratch = try ScratchDirectory(prefix: "pkglayer-registry")
        port = try freePort()
        certDirectory = try scratch.makeDirectory("certs")
        serverCert = scratch.path("server.crt")
        serverKey = scratch.path("server.key")
        try Self.makeCertificates(in: scratch, caDirectory: certDirectory)
        let htpasswd = try TestProcess.runChecked("htpasswd", ["-Bbn", Self.username, Self.password]).stdoutText
        try scratch.write("htpasswd", htpasswd)
        let config = """
        version: 0.1
        log:
          level: info
          formatter: text
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(scratch.path("data"))
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          secret: pkglayer-test-secret
          tls:
            certificate: \(serverCert)
            key: \(serverKey)
        auth:
          htpasswd:
            realm: pkglayer-test
            path: \(scratch.path("htpasswd"))
        """
        try scratch.write("config.yml", config)
        logPath = scratch.path("registry.log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestProcess.which("docker-registry")!)
        process.arguments = ["serve", scratch.path("config.yml")]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        try waitForPort(port, process: process, logPath: logPath)
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// The registry's log so far.
    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Access-log lines of blob uploads (POST, PATCH or PUT on `/blobs/uploads/`) after `offset` characters of the log.
    func uploadRequests(after offset: Int) -> [String] {
        let text = logText
        let tail = text.count > offset ? String(text.dropFirst(offset)) : ""
        return tail.split(separator: "\n").map(String.init).filter { line in
            line.contains("/blobs/uploads/") && ["\"POST ", "\"PATCH ", "\"PUT "].contains { line.contains($0) }
        }
    }

    static func makeCertificates(in scratch: ScratchDirectory, caDirectory: String) throws {
        let ca = "\(caDirectory)/ca.crt", caKey = scratch.path("ca.key")
        try TestProcess.runChecked("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                               "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=pkglayer test CA",
                                               "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try TestProcess.runChecked("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                               "-keyout", scratch.path("server.key"), "-out", scratch.path("server.csr"), "-subj", "/CN=127.0.0.1"])
        let ext = try scratch.write("server.ext", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        try TestProcess.runChecked("openssl", ["x509", "-req", "-in", scratch.path("server.csr"), "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
                                               "-out", scratch.path("server.crt"), "-days", "2", "-extfile", ext])
    }
}

/// A port nobody listens on now (bound to 0 and released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw CocoaError(.fileWriteUnknown) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits (at most 15 s) until something accepts connections on the port.
func waitForPort(_ port: Int, process: Process, logPath: String) throws {
    for _ in 0..<150 {
        guard process.isRunning else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(process.arguments ?? []) exited with \(process.terminationStatus): \(log)"])
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if connected { return }
        usleep(100_000)
    }
    throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "nothing listens on 127.0.0.1:\(port) after 15 s"])
}
