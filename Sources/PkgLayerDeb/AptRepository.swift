import Foundation
import PkgLayerArchive
import PkgLayerCore

/// One apt archive (root URL, suites, components) read for resolution:
/// `dists/SUITE/InRelease` is fetched and verified with `gpgv` against the keyring *before* anything in it
/// is read; its SHA256 list pins `COMPONENT/binary-ARCH/Packages.xz` (else `.gz`, else the uncompressed
/// `Packages`), which is fetched through the index cache and checked against that digest; `Valid-Until`
/// is enforced when present. With `trusted` the signature is skipped (and a warning logged).
public struct AptRepository {
    public var spec: RepositorySpec
    /// The archive root, without a trailing slash.
    public var url: String
    public var architecture: Architecture
    public var now: Date

    public init(spec: RepositorySpec, architecture: Architecture, now: Date = Date()) throws {
        guard let url = spec.url, !url.isEmpty else {
            throw PkgLayerError(.invalidInput, "the apt repository has no URL; read the host's sources with AptRepository.hostSources()",
                                at: spec.origin)
        }
        guard !spec.suites.isEmpty else {
            throw PkgLayerError(.invalidInput, "the apt repository \(url) names no suite; add e.g. suites: [bookworm]", at: spec.origin)
        }
        self.spec = spec
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.architecture = architecture
        self.now = now
    }

    /// Every package of every suite and component, in suite, component, file order.
    public func packages(cache: PackageDownloadCache, log: (String) -> Void) throws -> [AvailablePackage] {
        var result: [AvailablePackage] = []
        for suite in spec.suites {
            let release = try self.release(suite: suite, cache: cache, log: log)
            for component in spec.components {
                let source = "\(url) \(suite) \(component)"
                let (path, location) = try packagesFile(release: release, suite: suite, component: component, cache: cache, log: log)
                let reader = try ArchiveReader(path: path, raw: true)
                guard try reader.next() != nil else { continue }
                let bytes = try reader.readAll(limit: 1 << 30)
                result += try Self.parsePackages(bytes, baseURL: url, repository: "apt \(source)", location: location)
            }
        }
        return result
    }

    /// The `Packages` index of one component as a cached file, checked against the Release digests.
    func packagesFile(release: ReleaseFile, suite: String, component: String, cache: PackageDownloadCache,
                      log: (String) -> Void) throws -> (path: String, url: String) {
        let base = "\(component)/binary-\(architecture.deb)/Packages"
        var unavailable: PkgLayerError?
        for name in [base + ".xz", base + ".gz", base] {
            guard let entry = release.sha256[name] else { continue }
            let fileURL = "\(url)/dists/\(suite)/\(name)"
            do {
                return (try cache.index(url: fileURL, sha256: entry.sha256, log: log), fileURL)
            } catch let error as PkgLayerError where error.code == .io {
                // Not on this mirror (a mirror may carry only some compressions): try the next one.
                // A digest mismatch is not .io and is never retried.
                unavailable = error
                log("\(fileURL): \(error.message); trying the next compression")
            }
        }
        if let unavailable { throw unavailable }
        throw PkgLayerError(.invalidInput, """
            the Release file lists no \(base)(.xz|.gz): the suite has no component '\(component)' for \(architecture.deb); \
            components it has: \(Set(release.sha256.keys.compactMap { $0.split(separator: "/").first.map(String.init) }).sorted().joined(separator: ", "))
            """, at: "\(url)/dists/\(suite)/InRelease (\(spec.origin))")
    }

    /// Fetches, verifies and reads `dists/SUITE/InRelease`.
    func release(suite: String, cache: PackageDownloadCache, log: (String) -> Void) throws -> ReleaseFile {
        let inReleaseURL = "\(url)/dists/\(suite)/InRelease"
        let bytes = try cache.unpinned(url: inReleaseURL)
        let text: String
        if spec.trusted {
            log("warning: \(inReleaseURL) is not verified: the repository is marked trusted (\(spec.origin))")
            text = Self.clearsignedBody(String(decoding: bytes, as: UTF8.self))
        } else {
            text = try GPGVerifier.verifyClearsigned(bytes, keyring: spec.keyring ?? RepositorySpec.debianArchiveKeyring, url: inReleaseURL)
        }
        let release = try ReleaseFile(parsing: text, location: inReleaseURL)
        if let validUntil = release.validUntil, validUntil < now {
            throw PkgLayerError(.invalidInput, """
                the Release file expired at \(release.fields["valid-until"] ?? "?") (Valid-Until); the mirror is stale or replaying old indexes. \
                Use an up-to-date mirror
                """, at: inReleaseURL)
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
    /// Path relative to `dists/SUITE/` → digest and size.
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
