import Foundation
import PkgLayerTestSupport
import XCTest

/// A temporary GnuPG home for one test: makes keys with the real gpg, exports them, verifies with gpg and
/// gpgv. Its agent is stopped and the directory removed when the value is dropped.
final class GnuPGHome {
    let scratch: ScratchDirectory
    let home: String

    init() throws {
        try requireTool("gpg", "gpgv", "gpgconf")
        // Short paths: gpg-agent's socket path must fit in sockaddr_un.
        scratch = try ScratchDirectory(prefix: "pgp")
        home = try scratch.makeDirectory("g", mode: 0o700)
    }

    deinit {
        _ = try? TestProcess.run("gpgconf", ["--homedir", home, "--kill", "all"])
    }

    @discardableResult
    func gpg(_ arguments: [String], stdin: Data? = nil) throws -> ProcessOutput {
        try TestProcess.runChecked("gpg", ["--homedir", home, "--batch", "--no-tty"] + arguments, stdin: stdin)
    }

    func gpgAllowingFailure(_ arguments: [String], stdin: Data? = nil) throws -> ProcessOutput {
        try TestProcess.run("gpg", ["--homedir", home, "--batch", "--no-tty"] + arguments, stdin: stdin)
    }

    /// `gpg --quick-gen-key USERID ALGO USAGE never`; returns the new key's fingerprint.
    @discardableResult
    func generate(_ userID: String, _ algorithm: String, usage: String = "sign", passphrase: String? = nil) throws -> String {
        try gpg(["--pinentry-mode", "loopback", "--passphrase", passphrase ?? "", "--quick-gen-key", userID, algorithm, usage, "never"])
        return try fingerprints(userID)[0]
    }

    /// `gpg --quick-add-key FPR ALGO USAGE never`; returns the new subkey's fingerprint.
    @discardableResult
    func addSubkey(_ primary: String, _ algorithm: String, usage: String, passphrase: String? = nil) throws -> String {
        try gpg(["--pinentry-mode", "loopback", "--passphrase", passphrase ?? "", "--quick-add-key", primary, algorithm, usage, "never"])
        return try fingerprints(primary).last!
    }

    /// The fingerprints of the key `reference` names: the primary first, then its subkeys.
    func fingerprints(_ reference: String) throws -> [String] {
        let listing = try gpg(["--with-colons", "--list-secret-keys", reference]).stdoutText
        return listing.split(separator: "\n").filter { $0.hasPrefix("fpr:") }.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) }
    }

    func exportSecret(_ reference: String, passphrase: String? = nil, armor: Bool = true) throws -> Data {
        try gpg(["--pinentry-mode", "loopback", "--passphrase-fd", "0"] + (armor ? ["--armor"] : []) + ["--export-secret-keys", reference],
                stdin: Data((passphrase ?? "").utf8)).stdout
    }

    func exportPublic(_ reference: String, armor: Bool = false) throws -> Data {
        try gpg((armor ? ["--armor"] : []) + ["--export", reference]).stdout
    }

    /// `gpgv --keyring KEYRING SIG DATA` with the key `reference` exported from this home as the keyring.
    func gpgv(signature: Data, data: Data, keyring: Data) throws -> ProcessOutput {
        let dir = try scratch.makeDirectory("gpgv-\(UUID().uuidString.prefix(8))", mode: 0o700)
        let keyringPath = try scratch.write("\((dir as NSString).lastPathComponent)/keyring.gpg", keyring)
        let signaturePath = try scratch.write("\((dir as NSString).lastPathComponent)/data.sig", signature)
        let dataPath = try scratch.write("\((dir as NSString).lastPathComponent)/data", data)
        return try TestProcess.run("gpgv", ["--homedir", dir, "--keyring", keyringPath, signaturePath, dataPath])
    }

    /// `gpg --verify SIG DATA` in this home.
    func verify(signature: Data, data: Data) throws -> ProcessOutput {
        let signaturePath = try scratch.write("verify-\(UUID().uuidString.prefix(8)).sig", signature)
        let dataPath = try scratch.write("verify-\(UUID().uuidString.prefix(8)).dat", data)
        return try gpgAllowingFailure(["--status-fd", "1", "--verify", signaturePath, dataPath])
    }

    /// `gpg --verify FILE` of a cleartext-signed message in this home.
    func verifyClearsigned(_ message: String) throws -> ProcessOutput {
        let path = try scratch.write("clear-\(UUID().uuidString.prefix(8)).asc", message)
        return try gpgAllowingFailure(["--status-fd", "1", "--verify", path])
    }
}
