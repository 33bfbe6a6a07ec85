import Foundation
import Logging
import PkgLayerCore

/// Finds a signing key and its passphrase, the way `--sign-key` and `--sign-passphrase-file` name them.
public enum SigningKeyLoader {
    /// The environment variable that holds the passphrase.
    public static let passphraseVariable = "PKGLAYER_SIGN_PASSPHRASE"

    /// Key files past this size are refused unread (a key with many user ids and photos stays far below).
    static let maximumKeyFileSize: UInt64 = 16 << 20

    /// A signer for `reference`: the secret key itself (armored, `-----BEGIN PGP PRIVATE KEY BLOCK-----`,
    /// as a CI secret holds it; or base64 of the binary key), a path to a key file (armored or binary), or
    /// else a key id, fingerprint or user id in a GnuPG home, exported once with gpg and then used natively.
    ///
    /// Errors never repeat a value that may be secret: key material is named by where it came from
    /// (`the key given in --sign-key`) and, once read, by its key id; a value that is long, multi-line or
    /// holds control characters is never echoed. A short key id, fingerprint, user id or path is.
    ///
    /// - Parameters:
    ///   - passphrase: unlocks a protected key (gpg gets it on stdin, never in its arguments).
    ///   - gnupgHome: the GnuPG home for a key reference (nil: gpg's own default, `GNUPGHOME` or `~/.gnupg`).
    ///   - creationTime: the signature creation time (SOURCE_DATE_EPOCH).
    ///   - origin: where `reference` came from, for errors (`--sign-key`, `$PKGLAYER_SIGN_KEY`).
    public static func load(reference: String, passphrase: String?, gnupgHome: String?, creationTime: Int64,
                            origin: String = "--sign-key") throws -> OpenPGPSigner {
        guard !reference.isEmpty else {
            throw PkgLayerError(.usage, "the signing key is empty; name a key file or a key id, fingerprint or user id in the GnuPG home", at: origin)
        }
        if let material = keyMaterial(in: reference) {
            return try OpenPGPSigner(secretKey: material.data, passphrase: passphrase, creationTime: creationTime,
                                     location: "the key given in \(origin) (\(material.kind))")
        }
        var isDirectory: ObjCBool = false
        if !mayBeSecret(reference), FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
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
        if mayBeSecret(reference) {
            throw PkgLayerError(.usage, "the value (\(reference.count) characters, not shown: it may be secret) is neither an existing key file, a key id, fingerprint or user id, nor an armored secret key (`-----BEGIN PGP PRIVATE KEY BLOCK-----` … `-----END PGP PRIVATE KEY BLOCK-----`, as `gpg --armor --export-secret-keys KEYID` writes it) or the base64 of a binary one; give the whole exported key, or a key file",
                                at: origin)
        }
        if reference.contains("/") {
            throw PkgLayerError(.io, "the signing key file does not exist; name an existing key file, or give the armored key itself", at: reference)
        }
        let exported = try exportFromGnuPG(reference: reference, passphrase: passphrase, gnupgHome: gnupgHome)
        return try OpenPGPSigner(secretKey: exported, passphrase: passphrase, creationTime: creationTime, location: "gpg:\(reference)")
    }

    /// The key itself when `value` is one, not a path or a key id: an armored block (also one whose line
    /// ends a CI system turned into spaces), or the base64 of a binary key (a secret key packet at least).
    /// Raw binary cannot come through an argument or a variable (it holds NUL bytes); name a file for it.
    static func keyMaterial(in value: String) -> (data: Data, kind: String)? {
        if value.contains("-----BEGIN PGP ") {
            return (Data(unflattenedArmor(value).utf8), "armored")
        }
        let compact = value.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }
        guard compact.count >= 100, compact.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+/=".unicodeScalars.contains($0)) }),
              let data = Data(base64Encoded: String(String.UnicodeScalarView(compact))), let first = data.first,
              first & 0x80 != 0 else { return nil }
        // Tag 5 (secret key): old format 0x94…0x97, new format 0xC5.
        let tag = first & 0x40 != 0 ? first & 0x3F : (first >> 2) & 0x0F
        guard tag == 5 else { return nil }
        return (data, "base64 of a binary key")
    }

    /// An armored block with its line ends restored when a CI variable flattened them to spaces
    /// (`-----BEGIN PGP PRIVATE KEY BLOCK----- lQOY… =abcd -----END PGP PRIVATE KEY BLOCK-----`).
    static func unflattenedArmor(_ value: String) -> String {
        guard !value.unicodeScalars.contains("\n"), let begin = value.range(of: "-----BEGIN PGP "),
              let beginEnd = value.range(of: "-----", range: begin.upperBound..<value.endIndex),
              let end = value.range(of: "-----END PGP ", range: beginEnd.upperBound..<value.endIndex) else { return value }
        let header = String(value[begin.lowerBound..<beginEnd.upperBound])
        let footer = String(value[end.lowerBound...]).trimmingCharacters(in: .whitespaces)
        // Armor headers (`Comment: …`) do not survive flattening (gpg 2.2 and later write none).
        let words = value[beginEnd.upperBound..<end.lowerBound].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        return header + "\n\n" + words.joined(separator: "\n") + "\n" + footer + "\n"
    }

    /// Whether `value` might be secret, so an error must not repeat it: it is long, spans lines, holds
    /// control characters, or is one long run of base64 (a key id is at most 40 hex digits; a user id
    /// holds spaces, `@` or `<`; a path holds a `.` or is short).
    static func mayBeSecret(_ value: String) -> Bool {
        if value.count > 256 || value.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) { return true }
        if value.contains("PRIVATE KEY") || value.contains("-----BEGIN") { return true }
        let hex = value.hasPrefix("0x") ? value.dropFirst(2) : Substring(value)
        if hex.count <= 64, hex.allSatisfy(\.isHexDigit) { return false }
        let base64ish = value.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+/=".unicodeScalars.contains($0)) }
        return base64ish && value.count >= 48
    }

    /// The passphrase from `file` (one trailing line end removed) or else from `PKGLAYER_SIGN_PASSPHRASE`;
    /// nil when neither is given. An error names the file, never its content.
    public static func passphrase(environment: [String: String], file: String?) throws -> String? {
        if let file {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                // A passphrase given where its file belongs must not be echoed; a path is shown.
                guard file.contains("/"), !mayBeSecret(file) else {
                    throw PkgLayerError(.io, "cannot read the passphrase file (the name given is not shown: it holds no '/', and may be the passphrase itself; put a passphrase in $\(passphraseVariable), or name its file as ./FILE)",
                                        at: "--sign-passphrase-file")
                }
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
