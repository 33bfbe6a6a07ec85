import Foundation
import PkgLayerCore
import XCTest

/// `python3 -m http.server` on 127.0.0.1 and a free port, serving a directory, with every GET it
/// answered recorded (so a test can assert that a second resolution fetched nothing).
// @unchecked Sendable: `buffer` is only touched under `lock` (the pipe handler runs on another thread).
public final class TestHTTPServer: @unchecked Sendable {
    public private(set) var port = 0
    private let process = Process()
    private let pipe = Pipe()
    private var buffer = Data()
    private let lock = NSLock()

    public init(directory: String) throws {
        try requireTool("python3")
        process.executableURL = URL(fileURLWithPath: TestProcess.which("python3")!)
        process.arguments = ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory]
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            if let range = output.range(of: #"port (\d+)"#, options: .regularExpression) {
                found = Int(output[range].dropFirst(5))
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let found else {
            stop()
            throw PkgLayerError(.io, "python3 -m http.server did not start: \(output)")
        }
        port = found
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The URL of a file the server serves.
    public func url(_ name: String) -> String { "\(baseURL)/\(name)" }

    public var output: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The paths requested so far, in order.
    public var requests: [String] {
        output.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "\"GET ") else { return nil }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        }
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        pipe.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

/// A throwaway OpenPGP signing key in its own GnuPG home (no passphrase), and signing with it: the
/// public key as a binary keyring and armored, the secret key exported armored (what `--sign-key FILE`
/// reads), its fingerprint and key id.
public struct TestSigningKey: Sendable {
    public let home: String
    /// The public key as a binary keyring (what apt's Signed-By usually names, and debsig-verify wants:
    /// not a keybox) and armored (`.asc`, for `rpm --import`).
    public let keyring: String
    public let armored: String
    public let secretKeyFile: String
    /// 40 and 16 upper-case hex digits.
    public let fingerprint: String
    public let keyID: String

    /// `algorithm` as gpg's --quick-gen-key spells it: `ed25519`, `rsa2048`, `rsa3072`.
    public init(directory: String, name: String = "pkglayer test archive", algorithm: String = "ed25519") throws {
        try requireTool("gpg")
        home = "\(directory)/gnupg"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.gpg(home, ["--passphrase", "", "--quick-gen-key", "\(name) <archive@example.invalid>", algorithm, "sign", "never"])
        let file = "\(directory)/\(name.replacingOccurrences(of: " ", with: "-"))"
        keyring = file + ".gpg"
        armored = file + ".asc"
        secretKeyFile = file + ".secret.asc"
        try Self.gpg(home, ["--output", keyring, "--export"])
        try Self.gpg(home, ["--armor", "--output", armored, "--export"])
        try Self.gpg(home, ["--armor", "--output", secretKeyFile, "--export-secret-keys"])
        let colons = try TestProcess.runChecked("gpg", ["--homedir", home, "--batch", "--with-colons", "--list-secret-keys"]).stdoutText
        fingerprint = try XCTUnwrap(colons.split(separator: "\n").first { $0.hasPrefix("fpr:") }?
            .split(separator: ":", omittingEmptySubsequences: false)[9]).uppercased()
        keyID = String(fingerprint.suffix(16))
    }

    public func clearsign(_ input: String, to output: String) throws {
        try Self.gpg(home, ["--yes", "--clearsign", "--output", output, input])
    }

    public func detachSign(_ input: String, to output: String) throws {
        try Self.gpg(home, ["--yes", "--armor", "--detach-sign", "--output", output, input])
    }

    private static func gpg(_ home: String, _ arguments: [String]) throws {
        _ = try TestProcess.runChecked("gpg", ["--homedir", home, "--batch", "--pinentry-mode", "loopback"] + arguments)
    }
}

/// Builds a real apt archive in a directory: `pool/main/*.deb`, `dists/SUITE/main/binary-ARCH/Packages`
/// (by dpkg-scanpackages) and `Packages.xz`, a Release file with their SHA256, and InRelease clearsigned
/// with `key` (unsigned when nil).
public enum AptArchiveFixture {
    public static func build(root: String, suite: String, debs: [String], key: TestSigningKey?, architecture: String = "amd64",
                             validUntil: String? = nil) throws {
        try requireTool("dpkg-scanpackages", "xz")
        let fm = FileManager.default
        let pool = "\(root)/pool/main"
        let binary = "\(root)/dists/\(suite)/main/binary-\(architecture)"
        try fm.createDirectory(atPath: pool, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: binary, withIntermediateDirectories: true)
        for deb in debs {
            let target = "\(pool)/\(poolName(deb))"
            if !fm.fileExists(atPath: target) { try fm.copyItem(atPath: deb, toPath: target) }
        }
        let scan = try TestProcess.runChecked("dpkg-scanpackages", ["--multiversion", "pool", "/dev/null"], in: root)
        try scan.stdout.write(to: URL(fileURLWithPath: "\(binary)/Packages"))
        _ = try TestProcess.runChecked("xz", ["-k", "-f", "\(binary)/Packages"])
        try writeRelease(root: root, suite: suite, architecture: architecture, validUntil: validUntil, key: key)
    }

    /// (Re)writes Release and InRelease over the index files present now.
    public static func writeRelease(root: String, suite: String, architecture: String = "amd64", validUntil: String? = nil,
                                    key: TestSigningKey?) throws {
        let dists = "\(root)/dists/\(suite)"
        var lines = ["Origin: pkglayer-test", "Suite: \(suite)", "Codename: \(suite)",
                     "Date: Thu, 01 Jan 2026 00:00:00 UTC", "Architectures: \(architecture)", "Components: main"]
        if let validUntil { lines.append("Valid-Until: \(validUntil)") }
        lines.append("SHA256:")
        for name in ["Packages", "Packages.xz"] {
            let path = "\(dists)/main/binary-\(architecture)/\(name)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue
            lines.append(" \(try FileDigest.sha256Hex(path: path)) \(size) main/binary-\(architecture)/\(name)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dists)/Release", atomically: true, encoding: .utf8)
        if let key {
            try key.clearsign("\(dists)/Release", to: "\(dists)/InRelease")
        } else {
            try FileManager.default.copyItem(atPath: "\(dists)/Release", toPath: "\(dists)/InRelease")
        }
    }
}

/// The file name an archive's pool gives a deb: apt-get download writes the epoch as `1%3a`, pools leave
/// the epoch out.
public func poolName(_ deb: String) -> String {
    (deb as NSString).lastPathComponent.replacingOccurrences(of: #"_[0-9]+%3a"#, with: "_", options: .regularExpression)
}

/// Files under a directory, recursively, relative (for "nothing was cached" checks).
public func filesUnder(_ directory: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
    return walker.compactMap { $0 as? String }.filter {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: "\(directory)/\($0)", isDirectory: &isDir) && !isDir.boolValue
    }.sorted()
}

/// Builds a real yum repository: the rpms copied into `root/Packages/`, `createrepo_c` over it, and
/// `repodata/repomd.xml.asc` signed with `key` (no signature when nil).
public enum YumRepositoryFixture {
    public static func build(root: String, rpms: [String], key: TestSigningKey?) throws {
        try requireTool("createrepo_c")
        let packages = "\(root)/Packages"
        try FileManager.default.createDirectory(atPath: packages, withIntermediateDirectories: true)
        for rpm in rpms {
            let target = "\(packages)/\((rpm as NSString).lastPathComponent)"
            if !FileManager.default.fileExists(atPath: target) { try FileManager.default.copyItem(atPath: rpm, toPath: target) }
        }
        _ = try TestProcess.runChecked("createrepo_c", ["--quiet", "--checksum", "sha256", root])
        if let key { try key.detachSign("\(root)/repodata/repomd.xml", to: "\(root)/repodata/repomd.xml.asc") }
    }
}
