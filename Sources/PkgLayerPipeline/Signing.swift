import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM
import PkgLayerSigning

/// Where the signing key comes from, as the command line and the environment name it:
/// `--sign-key FILE|KEYID|KEY` (else `$PKGLAYER_SIGN_KEY`; the key itself, armored, is accepted where a
/// file or key id is, since CI secrets are values, not files), the passphrase from `--sign-passphrase-file FILE`
/// (else `$PKGLAYER_SIGN_PASSPHRASE_FILE`, else `$PKGLAYER_SIGN_PASSPHRASE`), never from a flag's value,
/// and the GnuPG home for a key id from `--gnupg-home` (else `$GNUPGHOME`, else gpg's default).
public struct SigningOptions: Sendable, Equatable {
    public static let keyVariable = "PKGLAYER_SIGN_KEY"
    public static let passphraseFileVariable = "PKGLAYER_SIGN_PASSPHRASE_FILE"

    /// A key file, a key id, fingerprint or user id, or the secret key itself. Never printed: errors name
    /// `origin` and, once the key is read, its key id.
    public var key: String
    public var passphraseFile: String?
    public var gnupgHome: String?
    /// Where `key` came from, for messages: `--sign-key` or `$PKGLAYER_SIGN_KEY`.
    public var origin: String

    public init(key: String, passphraseFile: String? = nil, gnupgHome: String? = nil, origin: String = "--sign-key") {
        self.key = key; self.passphraseFile = passphraseFile; self.gnupgHome = gnupgHome; self.origin = origin
    }

    /// The flags, else the environment; nil when no key is named anywhere (nothing is signed).
    public static func resolve(key: String?, passphraseFile: String?, gnupgHome: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> SigningOptions? {
        let origin = nonEmpty(key) != nil ? "--sign-key" : "$\(keyVariable)"
        guard let key = nonEmpty(key) ?? nonEmpty(environment[keyVariable]) else { return nil }
        return SigningOptions(key: key, passphraseFile: nonEmpty(passphraseFile) ?? nonEmpty(environment[passphraseFileVariable]),
                              gnupgHome: nonEmpty(gnupgHome), origin: origin)
    }

    private static func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
}

/// A signing key, loaded once and checked before any work is done (a wrong passphrase fails at the start,
/// not after an hour of compiling), then handing out signers for any creation time: each package's signature
/// carries that package's own date, so signing is as reproducible as the package.
public struct SigningKey: Sendable {
    public let options: SigningOptions
    /// The key as loaded (creation time 0, raised to the key's own creation).
    public let first: OpenPGPSigner

    public init(_ options: SigningOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.options = options
        let passphrase = try SigningKeyLoader.passphrase(environment: environment, file: options.passphraseFile)
        first = try SigningKeyLoader.load(reference: options.key, passphrase: passphrase,
                                          gnupgHome: options.gnupgHome ?? environment["GNUPGHOME"], creationTime: 0,
                                          origin: options.origin)
    }

    /// A signer whose signatures say they were made at `time` (or at the key's creation, if that is later).
    public func signer(at time: Int64) throws -> any PackageSigner { try first.at(creationTime: time) }

    /// `RSA key 0123456789ABCDEF`: what progress and `--json` may say about the key. Never anything secret.
    public var summary: String { first.summary }
}

/// What signing one package file did, for the command line and `--json`.
public struct SignedPackage: Codable, Sendable, Equatable {
    public var path: String
    public var format: PackageFormat
    public var algorithm: String
    public var keyID: String
    /// The signature's creation time: SOURCE_DATE_EPOCH when set, else the package's own date.
    public var created: Int64
}

/// Signs package files in their own rooms' formats: an rpm header signature (RSAHEADER/DSAHEADER, as
/// `rpmsign --addsign`), a deb's debsigs `_gpgorigin` member. Each file is replaced atomically.
public enum PackageSigning {
    /// The format of a package file, by its first bytes (not its name).
    public static func format(of path: String) throws -> PackageFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PkgLayerError(.io, "cannot open the package; check that it exists and is readable", at: path)
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 21)) ?? Data())
        if head.starts(with: [0xed, 0xab, 0xee, 0xdb]) { return .rpm }
        if head.starts(with: Array("!<arch>\ndebian-binary".utf8)) { return .deb }
        throw PkgLayerError(.invalidInput, "is neither an rpm nor a deb package; pkglayer signs .rpm and .deb files", at: path)
    }

    /// The package's own date: an rpm's BUILDTIME from its headers alone; a deb's from its control data.
    static func packageDate(_ path: String, format: PackageFormat) throws -> Int64 {
        switch format {
        case .rpm: return try RPMReader.repositoryEntry(path: path).buildTime
        case .deb: return try Packagers.reader(for: .deb).read(path: path, extractTo: nil).spec.sourceDateEpoch.seconds
        }
    }

    /// Signs `path` with `key`. The signature's date is SOURCE_DATE_EPOCH when set, else the package's own
    /// date (its build time), so signing the same package twice gives the same bytes.
    @discardableResult
    public static func sign(_ path: String, with key: SigningKey, epoch: Int64? = nil) throws -> SignedPackage {
        let format = try format(of: path)
        let created: Int64
        if let epoch {
            created = epoch
        } else if let env = try SourceDateEpoch.fromEnvironment() {
            created = env.seconds
        } else {
            created = try packageDate(path, format: format)
        }
        let signer = try key.signer(at: created)
        switch format {
        case .rpm: _ = try RPMSigning.sign(fileAt: URL(fileURLWithPath: path), with: signer)
        case .deb: try DebSigning.sign(fileAt: URL(fileURLWithPath: path), with: signer)
        }
        Progress.note("signed \((path as NSString).lastPathComponent) with \(signer.summary)")
        return SignedPackage(path: path, format: format, algorithm: signer.algorithm.rawValue, keyID: signer.keyID,
                             created: signer.creationTime)
    }
}

extension PackageOutput {
    /// The output record of a package file as it is on disk now (after signing changed it).
    static func describing(_ path: String, format: PackageFormat) throws -> PackageOutput {
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber
        return PackageOutput(path: path, format: format, sha256: try FileDigest.sha256Hex(path: path), size: size?.uint64Value ?? 0)
    }
}
