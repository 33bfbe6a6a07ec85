import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// Fetching and verifying a suite's Release file.
extension AptRepository {
    /// `InRelease` verified with gpgv; else `Release` with its detached `Release.gpg`. A trusted
    /// repository may have neither signature, or no Release at all (nil: indexes are read without digests).
    func release(suite: String, cache: PackageDownloadCache) throws -> ReleaseFile? {
        let keyring = spec.keyring ?? RepositorySpec.debianArchiveKeyring
        let inReleaseURL = distURL(suite) + "InRelease"
        let missingInRelease: PkgLayerError
        do {
            let bytes = try cache.unpinned(url: inReleaseURL)
            let text: String
            if spec.trusted {
                logger.warning("\(inReleaseURL) is not verified: the repository is marked trusted (\(spec.origin))")
                text = Self.clearsignedBody(String(decoding: bytes, as: UTF8.self))
            } else {
                text = try GPGVerifier.verifyClearsigned(bytes, keyring: keyring, url: inReleaseURL)
            }
            return try checked(ReleaseFile(parsing: text, location: inReleaseURL), url: inReleaseURL)
        } catch let error as PkgLayerError where error.code == .io {
            missingInRelease = error
        }
        let releaseURL = distURL(suite) + "Release"
        let bytes: [UInt8]
        do {
            bytes = try cache.unpinned(url: releaseURL)
        } catch let error as PkgLayerError where error.code == .io {
            guard spec.trusted else { throw missingInRelease }
            logger.warning("\(distURL(suite)) has no Release file; its Packages index is used without digests (trusted, \(spec.origin))")
            return nil
        }
        if spec.trusted {
            logger.warning("\(releaseURL) is not verified: the repository is marked trusted (\(spec.origin))")
        } else {
            let signature: [UInt8]
            do {
                signature = try cache.unpinned(url: releaseURL + ".gpg")
            } catch let error as PkgLayerError where error.code == .io {
                throw PkgLayerError(.invalidInput, """
                    the archive has neither InRelease (\(missingInRelease.message)) nor Release.gpg (\(error.message)): it is unsigned. \
                    Sign it, or mark the repository trusted to use it unverified
                    """, at: distURL(suite))
            }
            try GPGVerifier.verifyDetached(bytes, signature: signature, keyring: keyring, url: releaseURL)
        }
        return try checked(ReleaseFile(parsing: String(decoding: bytes, as: UTF8.self), location: releaseURL), url: releaseURL)
    }

    private func checked(_ release: ReleaseFile, url: String) throws -> ReleaseFile {
        if let validUntil = release.validUntil, validUntil < now {
            throw PkgLayerError(.invalidInput, """
                the Release file expired at \(release.fields["valid-until"] ?? "?") (Valid-Until); the mirror is stale or replaying old indexes. \
                Use an up-to-date mirror
                """, at: url)
        }
        return release
    }

    /// The text of a clearsigned message with the armor and dash-escaping removed. Only for a repository
    /// marked trusted; a verified one takes the text from gpgv's output.
    static func clearsignedBody(_ text: String) -> String {
        guard text.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----") else { return text }
        var lines = ControlParagraph.lines(text)
        lines.removeFirst()
        while let first = lines.first, !first.isEmpty { lines.removeFirst() }   // Hash: headers
        if !lines.isEmpty { lines.removeFirst() }
        if let end = lines.firstIndex(of: "-----BEGIN PGP SIGNATURE-----") { lines = Array(lines[..<end]) }
        return lines.map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : $0 }.joined(separator: "\n")
    }
}

/// The fields of a Release file that matter here.
struct ReleaseFile {
    var fields: [String: String] = [:]
    /// Path relative to the suite's directory → digest and size.
    var sha256: [String: (sha256: String, size: Int64)] = [:]
    var validUntil: Date?

    init(parsing text: String, location: String) throws {
        var current: String?
        for line in ControlParagraph.lines(text) {
            if line.isEmpty { continue }
            if line.first == " " || line.first == "\t" {
                if current == "sha256" {
                    let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                    guard parts.count == 3, let size = Int64(parts[1]) else {
                        throw PkgLayerError(.invalidInput, "SHA256 line '\(line)' is not 'digest size path'", at: location)
                    }
                    sha256[String(parts[2])] = (String(parts[0]).lowercased(), size)
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            current = name
        }
        guard !sha256.isEmpty else {
            throw PkgLayerError(.invalidInput, "the Release file has no SHA256 list; pkglayer needs SHA256 digests", at: location)
        }
        if let text = fields["valid-until"] {
            guard let date = Self.parseDate(text) else {
                throw PkgLayerError(.invalidInput, "cannot read Valid-Until '\(text)'", at: location)
            }
            validUntil = date
        }
    }

    /// RFC 2822 dates as Release files write them: `Sat, 28 Nov 2026 00:53:02 UTC`.
    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEE, dd MMM yyyy HH:mm:ss Z", "dd MMM yyyy HH:mm:ss zzz"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
