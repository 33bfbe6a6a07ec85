import Foundation
import PkgLayerCore

/// OpenPGP signature checks with `gpgv`, the verifier apt itself uses: no trust database, no agent, only
/// the keys in the given keyring count. An armored key (`.asc`, or a file starting with `-----BEGIN PGP`)
/// is converted with `gpg --dearmor` into a temporary keyring first, since gpgv reads only binary keyrings.
/// Nothing is written outside a temporary directory that is removed afterwards.
public enum GPGVerifier {
    /// Verifies a clearsigned message (apt's InRelease) and returns the signed text as gpgv wrote it out,
    /// so only what the signature covers is ever parsed. `url` names the message in errors.
    public static func verifyClearsigned(_ message: [UInt8], keyring: String, url: String) throws -> String {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-gpgv")
        let input = "\(scratch.path)/message", output = "\(scratch.path)/signed"
        try write(message, to: input)
        let key = try binaryKeyring(keyring, scratch: scratch.path)
        try run(["--homedir", scratch.path, "--keyring", key, "--output", output, input], keyring: keyring, url: url)
        guard let data = FileManager.default.contents(atPath: output) else {
            throw PkgLayerError(.io, "gpgv accepted the signature but wrote no signed text", at: url)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Verifies a detached signature (yum's repomd.xml.asc) over `data`.
    public static func verifyDetached(_ data: [UInt8], signature: [UInt8], keyring: String, url: String) throws {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-gpgv")
        let input = "\(scratch.path)/data", sig = "\(scratch.path)/data.sig"
        try write(data, to: input)
        try write(signature, to: sig)
        let key = try binaryKeyring(keyring, scratch: scratch.path)
        try run(["--homedir", scratch.path, "--keyring", key, sig, input], keyring: keyring, url: url)
    }

    private static func run(_ arguments: [String], keyring: String, url: String) throws {
        let result = try Subprocess.run("gpgv", arguments, environment: Subprocess.cLocaleEnvironment)
        guard result.status.succeeded else {
            let detail = result.text.split(separator: "\n").filter { !$0.contains("keybox") }.joined(separator: "; ")
            throw PkgLayerError(.invalidInput, """
                the signature does not verify against the keyring \(keyring) (gpgv: \(detail)); nothing from it was used or cached. \
                Check that the keyring holds the archive's signing key, or that the mirror was not tampered with
                """, at: url)
        }
    }

    private static func binaryKeyring(_ keyring: String, scratch: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: keyring) else {
            throw PkgLayerError(.io, "cannot read the keyring; name an existing .gpg or .asc file", at: keyring)
        }
        let head = handle.readData(ofLength: 16)
        try? handle.close()
        let armored = keyring.hasSuffix(".asc") || head.starts(with: Array("-----BEGIN".utf8))
        guard armored else { return keyring.hasPrefix("/") ? keyring : FileManager.default.currentDirectoryPath + "/" + keyring }
        let output = "\(scratch)/keyring.gpg"
        let result = try Subprocess.run("gpg", ["--homedir", scratch, "--batch", "--dearmor", "--output", output, keyring],
                                        environment: Subprocess.cLocaleEnvironment)
        guard result.status.succeeded else {
            throw PkgLayerError(.invalidInput, "gpg --dearmor could not read the armored key: \(result.text)", at: keyring)
        }
        return output
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw PkgLayerError.posix("writing", path: path)
        }
    }
}
