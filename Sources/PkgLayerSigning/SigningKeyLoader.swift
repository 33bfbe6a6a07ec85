import Foundation
import Logging
import PkgLayerCore

/// Finds a signing key and its passphrase, the way `--sign-key` and `--sign-passphrase-file` name them.
public enum SigningKeyLoader {
    /// The environment variable that holds the passphrase.
    public static let passphraseVariable = "PKGLAYER_SIGN_PASSPHRASE"

    /// Key files past this size are refused unread (a key with many user ids and photos stays far below).
    static let maximumKeyFileSize: UInt64 = 16 << 20

    /// A signer for `reference`: a path to a key file (armored or binary secret key), or else a key id,
    /// fingerprint or user id in a GnuPG home, exported once with gpg and then used natively.
    ///
    /// - Parameters:
    ///   - passphrase: unlocks a protected key (gpg gets it on stdin, never in its arguments).
    ///   - gnupgHome: the GnuPG home for a key reference (nil: gpg's own default, `GNUPGHOME` or `~/.gnupg`).
    ///   - creationTime: the signature creation time (SOURCE_DATE_EPOCH).
    public static func load(reference: String, passphrase: String?, gnupgHome: String?, creationTime: Int64) throws -> OpenPGPSigner {
        guard !reference.isEmpty else {
            throw PkgLayerError(.usage, "the signing key is empty; name a key file or a key id, fingerprint or user id in the GnuPG home", at: "--sign-key")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else {
                throw PkgLayerError(.usage, "the signing key is a directory; name a key file (`gpg --armor --export-secret-keys KEYID > key.asc`) or a key id", at: reference)
            }
            if let size = (try? FileManager.default.attributesOfItem(atPath: reference))?[.size] as? UInt64, size > maximumKeyFileSize {
                throw PkgLayerError(.limitExceeded, "the signing key file is \(size) bytes; a secret key block is a few kilobytes (at most \(maximumKeyFileSize) bytes are read): name the exported key, not another file", at: reference)
            }
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: reference))
            } catch {
                throw PkgLayerError(.io, "cannot read the signing key file; check its permissions", at: reference, cause: error as NSError)
            }
            return try OpenPGPSigner(secretKey: data, passphrase: passphrase, creationTime: creationTime, location: reference)
        }
        if reference.contains("/") {
            throw PkgLayerError(.io, "the signing key file does not exist", at: reference)
        }
        let exported = try exportFromGnuPG(reference: reference, passphrase: passphrase, gnupgHome: gnupgHome)
        return try OpenPGPSigner(secretKey: exported, passphrase: passphrase, creationTime: creationTime, location: "gpg:\(reference)")
    }

    /// The passphrase from `file` (one trailing line end removed) or else from `PKGLAYER_SIGN_PASSPHRASE`;
    /// nil when neither is given. An error names the file, never its content.
    public static func passphrase(environment: [String: String], file: String?) throws -> String? {
        if let file {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw PkgLayerError(.io, "cannot read the passphrase file; check that it exists and is readable", at: file)
            }
            var bytes = [UInt8](data)
            if bytes.last == 0x0A {
                bytes.removeLast()
                if bytes.last == 0x0D { bytes.removeLast() }
            }
            guard let text = String(bytes: bytes, encoding: .utf8) else {
                throw PkgLayerError(.invalidInput, "the passphrase file is not UTF-8 text", at: file)
            }
            return text
        }
        return environment[passphraseVariable]
    }

    /// `gpg --batch [--homedir H] --pinentry-mode loopback --passphrase-fd 0 --armor --export-secret-keys REF`
    /// with the passphrase on stdin.
    static func exportFromGnuPG(reference: String, passphrase: String?, gnupgHome: String?) throws -> Data {
        let location = "gpg:\(reference)"
        guard let gpg = Subprocess.which("gpg", path: Subprocess.hostPath) else {
            throw PkgLayerError(.toolMissing, "gpg is needed to export key '\(reference)' from a GnuPG home (apt-get install gpg); or name an exported key file instead", at: location)
        }
        var arguments = ["--batch", "--no-tty"]
        if let gnupgHome { arguments += ["--homedir", gnupgHome] }
        arguments += ["--pinentry-mode", "loopback", "--passphrase-fd", "0", "--armor", "--export-secret-keys", "--", reference]

        let process = Process()
        process.executableURL = URL(fileURLWithPath: gpg)
        process.arguments = arguments
        process.environment = Subprocess.cLocaleEnvironment
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw PkgLayerError(.toolMissing, "cannot run gpg to export the signing key", at: location, cause: error as NSError)
        }
        // Read both pipes on their own threads so neither fills while the other is drained.
        final class Box: @unchecked Sendable { var data = Data() }  // written by one thread, read after join
        let out = Box(), err = Box()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { out.data = output.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err.data = errors.fileHandleForReading.readDataToEndOfFile() }
        let stdin = input.fileHandleForWriting
        if let passphrase { try? stdin.write(contentsOf: Data((passphrase + "\n").utf8)) }
        try? stdin.close()
        group.wait()
        process.waitUntilExit()

        let messages = String(decoding: err.data, as: UTF8.self)
        let home = gnupgHome ?? ProcessInfo.processInfo.environment["GNUPGHOME"] ?? "~/.gnupg"
        if process.terminationStatus != 0 || out.data.isEmpty {
            let lower = messages.lowercased()
            if lower.contains("bad passphrase") || lower.contains("no passphrase") || lower.contains("passphrase") && lower.contains("cancel") {
                if passphrase == nil {
                    throw PkgLayerError(.auth, "key \(reference) is protected by a passphrase; set PKGLAYER_SIGN_PASSPHRASE or --sign-passphrase-file", at: location)
                }
                throw PkgLayerError(.auth, "the passphrase does not unlock key \(reference); set PKGLAYER_SIGN_PASSPHRASE or --sign-passphrase-file", at: location)
            }
            if out.data.isEmpty && (process.terminationStatus == 0 || lower.contains("nothing exported")) {
                throw PkgLayerError(.invalidInput, "no secret key '\(reference)' in the GnuPG home \(home); list them with `gpg --homedir \(home) --list-secret-keys`", at: location)
            }
            let detail = messages.split(separator: "\n").suffix(3).joined(separator: "; ")
            throw PkgLayerError(.invalidInput, "gpg could not export secret key '\(reference)' from \(home) (exit code \(process.terminationStatus)): \(detail)", at: location)
        }
        Logger(label: "pkglayer.signing").debug("exported signing key from GnuPG home", metadata: ["key": "\(reference)", "home": "\(home)"])
        return out.data
    }
}
