import Foundation
import PkgLayerCore
import PkgLayerFetch
@testable import PkgLayerRepositories
@testable import PkgLayerDeb
import PkgLayerTestSupport
import XCTest

/// Real signed apt archives on 127.0.0.1: dpkg-scanpackages indexes, gpg-clearsigned InRelease, real
/// Debian bookworm debs (scripts/install-deps.sh fetches them once) and our own debs from DebWriter.
final class AptRepositoryTests: XCTestCase {
    static let realDebs = "/var/cache/pkglayer-test/debs"

    private func realDebs() throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.realDebs))?.filter { $0.hasSuffix(".deb") } ?? []
        try requireCondition(names.count >= 7, "the bookworm test debs are missing from \(Self.realDebs): run scripts/install-deps.sh (it downloads them)")
        return names.sorted().map { "\(Self.realDebs)/\($0)" }
    }

    /// Our own deb: `myapp` needs libssl3 (>= 3.0.0) and zlib1g, provides `httpd`.
    private func myapp(in dir: String) throws -> String {
        let fx = try Fixture()
        try fx.file("/usr/bin/myapp", "#!/bin/sh\necho myapp\n", mode: 0o755)
        var spec = fx.spec(name: "myapp", version: "1.0", release: "1")
        spec.depends = [try Dependency(parsing: "libssl3 (>= 3.0.0)", field: "depends"), Dependency(name: "zlib1g")]
        spec.provides = [Dependency(name: "httpd")]
        let path = "\(dir)/myapp_1.0-1_amd64.deb"
        _ = try DebWriter().write(spec: spec, manifest: try fx.manifest(), to: path)
        return path
    }

    private struct Archive {
        let scratch: ScratchDirectory
        let key: TestSigningKey
        let server: TestHTTPServer
        var root: String { scratch.path("archive") }
        var cacheRoot: String { scratch.path("cache") }
        var cache: PackageDownloadCache { PackageDownloadCache(root: cacheRoot) }
        func spec(keyring: String? = nil) -> RepositorySpec {
            RepositorySpec(kind: .apt, url: server.baseURL, suites: ["test"], keyring: keyring ?? key.keyring, origin: "test.yml: repositories[0]")
        }
    }

    private func makeArchive(validUntil: String? = nil) throws -> Archive {
        let scratch = try ScratchDirectory()
        let key = try TestSigningKey(directory: try scratch.makeDirectory("keys"))
        let debs = try realDebs() + [try myapp(in: try scratch.makeDirectory("own"))]
        try AptArchiveFixture.build(root: try scratch.makeDirectory("archive"), suite: "test", debs: debs, key: key, validUntil: validUntil)
        return Archive(scratch: scratch, key: key, server: try TestHTTPServer(directory: scratch.path("archive")))
    }

    private func resolver(_ packages: [AvailablePackage], sources: String) -> DependencyResolver {
        DependencyResolver(index: PackageIndex(packages), scheme: .debian, architectures: ["amd64", "all"], sources: sources)
    }

    /// InRelease verifies against our key; the closure of our deb is the real bookworm runtime; each
    /// downloaded .deb matches the pool file and dpkg-deb reads it; a second read fetches only InRelease.
    func testSignedLoopbackArchive() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let repo = try AptRepository(spec: archive.spec(), architecture: .x86_64)
        let packages = try repo.packages(cache: archive.cache)
        XCTAssertEqual(packages.count, 8)
        let closure = try resolver(packages, sources: archive.server.baseURL).resolve(roots: [Dependency(name: "httpd")])
        XCTAssertEqual(closure.map(\.name), ["gcc-12-base", "libc6", "libgcc-s1", "libssl3", "myapp", "zlib1g"])
        for package in closure {
            let path = try archive.cache.package(url: package.location, sha256: package.sha256)
            XCTAssertTrue(path.hasPrefix("\(archive.cacheRoot)/packages/sha256/"), path)
            let pool = "\(archive.root)/\(package.location.dropFirst(archive.server.baseURL.count + 1))"
            XCTAssertEqual(try FileDigest.sha256Hex(path: path), try FileDigest.sha256Hex(path: pool))
            let info = try TestProcess.runChecked("dpkg-deb", ["-f", path, "Package", "Version"])
            XCTAssertTrue(info.stdoutText.contains("Package: \(package.name)\nVersion: \(package.version)"), info.stdoutText)
        }
        let before = archive.server.requests.count
        let again = try repo.packages(cache: archive.cache)
        XCTAssertEqual(again, packages)
        for package in closure { _ = try archive.cache.package(url: package.location, sha256: package.sha256) }
        XCTAssertEqual(Array(archive.server.requests.dropFirst(before)), ["/dists/test/InRelease"], "the index and the debs came from the cache")
    }

    /// An armored (.asc) key is dearmored for gpgv.
    func testArmoredKeyring() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let packages = try AptRepository(spec: archive.spec(keyring: archive.key.armored), architecture: .x86_64)
            .packages(cache: archive.cache)
        XCTAssertTrue(packages.contains { $0.name == "libssl3" })
    }

    /// A changed InRelease fails gpgv: the error names the URL and the keyring, and nothing is cached.
    func testTamperedInReleaseIsRefused() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let inRelease = "\(archive.root)/dists/test/InRelease"
        let text = try String(contentsOfFile: inRelease, encoding: .utf8)
        try text.replacingOccurrences(of: "Origin: pkglayer-test", with: "Origin: pkglayer-evil").write(toFile: inRelease, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(archive.server.baseURL)/dists/test/InRelease: the signature does not verify against the keyring \(archive.key.keyring)"),
                          message)
            XCTAssertTrue(message.contains("BAD signature"), message)
        }
        XCTAssertEqual(filesUnder(archive.cacheRoot), [])
        XCTAssertEqual(archive.server.requests, ["/dists/test/InRelease"], "nothing past InRelease was fetched")

        // Another archive's key does not verify it either.
        let other = try TestSigningKey(directory: try archive.scratch.makeDirectory("other"), name: "someone else")
        try AptArchiveFixture.writeRelease(root: archive.root, suite: "test", key: archive.key)
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(keyring: other.keyring), architecture: .x86_64)
            .packages(cache: archive.cache)) { error in
            XCTAssertTrue("\(error)".contains("No public key"), "\(error)")
        }
    }

    /// A Packages file that is not the one InRelease pins is refused and not kept.
    func testPackagesDigestMismatchIsRefused() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let binary = "\(archive.root)/dists/test/main/binary-amd64"
        try (try String(contentsOfFile: "\(binary)/Packages", encoding: .utf8) + "\nPackage: evil\nVersion: 1\n")
            .write(toFile: "\(binary)/Packages", atomically: true, encoding: .utf8)
        _ = try TestProcess.runChecked("xz", ["-k", "-f", "\(binary)/Packages"])
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)) { error in
            // Refused by its size (Release gives it; checked as the bytes arrive, as apt does) or, at the
            // same size, by its digest.
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(archive.server.baseURL)/dists/test/main/binary-amd64/Packages.xz: "), message)
            XCTAssertTrue(message.contains(": sha256 mismatch: expected ") || message.contains("the signed index gives the file's size as"), message)
        }
        XCTAssertEqual(filesUnder(archive.cacheRoot), [])
    }

    /// A .deb that is not the one Packages pins is refused and not kept.
    func testDebDigestMismatchIsRefused() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let packages = try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)
        let zlib = try XCTUnwrap(packages.first { $0.name == "zlib1g" })
        let pool = "\(archive.root)/\(zlib.location.dropFirst(archive.server.baseURL.count + 1))"
        try FileManager.default.removeItem(atPath: pool)
        try FileManager.default.copyItem(atPath: try XCTUnwrap(packages.first { $0.name == "libcrypt1" }).location
            .replacingOccurrences(of: archive.server.baseURL, with: archive.root), toPath: pool)
        XCTAssertThrowsError(try archive.cache.package(url: zlib.location, sha256: zlib.sha256)) { error in
            XCTAssertTrue("\(error)".contains("\(zlib.location): sha256 mismatch: expected \(zlib.sha256), got "), "\(error)")
        }
        XCTAssertEqual(filesUnder("\(archive.cacheRoot)/packages"), [])
    }

    /// An expired Valid-Until is refused (a replayed, old index).
    func testExpiredReleaseIsRefused() throws {
        let archive = try makeArchive(validUntil: "Tue, 01 Jan 2019 00:00:00 UTC")
        defer { archive.server.stop() }
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)) { error in
            XCTAssertTrue("\(error)".contains("the Release file expired at Tue, 01 Jan 2019 00:00:00 UTC (Valid-Until)"), "\(error)")
        }
    }

    /// Debian's real bookworm InRelease, verified offline against debian-archive-keyring, served from a
    /// loopback mirror through the mirror rewrite; libssl3's closure matches the pool files' digests.
    func testRealDebianInReleaseThroughLoopbackMirror() throws {
        let lists = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm"
        let keyring = RepositorySpec.debianArchiveKeyring
        try requireFixture("\(lists)_InRelease", what: "the host's apt lists for bookworm", fix: "run apt-get update (scripts/install-deps.sh does)")
        try requireFixture(keyring, what: "Debian's archive keyring", fix: "apt-get install debian-archive-keyring (scripts/install-deps.sh installs it)")
        let debs = try realDebs()
        let scratch = try ScratchDirectory()
        let mirror = try scratch.makeDirectory("mirror")
        let binary = try scratch.makeDirectory("mirror/dists/bookworm/main/binary-amd64")
        try FileManager.default.copyItem(atPath: "\(lists)_InRelease", toPath: "\(mirror)/dists/bookworm/InRelease")
        let packagesFile = "\(binary)/Packages"
        _ = try TestProcess.runChecked("/bin/sh", ["-c", "/usr/lib/apt/apt-helper cat-file \(lists)_main_binary-amd64_Packages.lz4 > \(packagesFile)"])
        // Put each test deb where the index says it lives.
        let filenames = try String(contentsOfFile: packagesFile, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("Filename: ") }.map { String($0.dropFirst("Filename: ".count)) }
        for deb in debs {
            let name = poolName(deb)
            guard let relative = filenames.first(where: { $0.hasSuffix("/" + name) }) else { continue }
            try FileManager.default.createDirectory(atPath: "\(mirror)/\((relative as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: deb, toPath: "\(mirror)/\(relative)")
        }
        let server = try TestHTTPServer(directory: mirror)
        defer { server.stop() }
        let cache = PackageDownloadCache(root: scratch.path("cache"), mirrors: ["http://deb.debian.org/debian": server.baseURL])
        let spec = RepositorySpec(kind: .apt, url: "http://deb.debian.org/debian", suites: ["bookworm"], keyring: keyring, origin: "test")
        let packages = try AptRepository(spec: spec, architecture: .x86_64).packages(cache: cache)
        XCTAssertGreaterThan(packages.count, 50_000)
        let closure = try resolver(packages, sources: "http://deb.debian.org/debian bookworm main").resolve(roots: [Dependency(name: "libssl3")])
        XCTAssertEqual(closure.map(\.name), ["gcc-12-base", "libc6", "libgcc-s1", "libssl3"])
        for package in closure {
            XCTAssertTrue(package.location.hasPrefix("http://deb.debian.org/debian/pool/main/"), package.location)
            let path = try cache.package(url: package.location, sha256: package.sha256)
            let local = debs.first { ($0 as NSString).lastPathComponent.hasPrefix("\(package.name)_") }!
            XCTAssertEqual(try FileDigest.sha256Hex(path: path), try FileDigest.sha256Hex(path: local), package.name)
        }
        XCTAssertTrue(server.requests.contains("/dists/bookworm/main/binary-amd64/Packages"), "\(server.requests)")
    }

    func testSourcesParsing() throws {
        let oneLine = try AptRepository.parseOneLineSources("""
            # comment
            deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://deb.debian.org/debian bookworm main contrib
            deb-src http://deb.debian.org/debian bookworm main
            deb [trusted=yes] file:/srv/repo ./
            """, file: "/etc/apt/sources.list")
        XCTAssertEqual(oneLine, [
            RepositorySpec(kind: .apt, url: "http://deb.debian.org/debian", suites: ["bookworm"], components: ["main", "contrib"],
                           keyring: "/usr/share/keyrings/x.gpg", origin: "/etc/apt/sources.list:2"),
            RepositorySpec(kind: .apt, url: "file:/srv/repo", suites: ["./"], components: [], trusted: true, origin: "/etc/apt/sources.list:4"),
        ])
        let deb822 = try AptRepository.parseDeb822Sources("""
            Types: deb deb-src
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://example.test/a
            Suites: x
            Components: main
            Enabled: no
            """, file: "debian.sources")
        XCTAssertEqual(deb822, [RepositorySpec(kind: .apt, url: "http://deb.debian.org/debian", suites: ["bookworm", "bookworm-updates"],
                                               components: ["main"], keyring: "/usr/share/keyrings/debian-archive-keyring.gpg",
                                               origin: "debian.sources:1")])
    }

    func testRelationsParsing() throws {
        let relations = try AptRepository.parseRelations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12), x (<= 1)", field: "Depends")
        XCTAssertEqual(relations.map(\.description), ["libc6 >= 2.34", "debconf >= 0.5 | debconf-2.0", "python3:any < 3.12", "x <= 1"])
        XCTAssertEqual(relations[2].alternatives[0].versionOperator, .lessThan)
        XCTAssertThrowsError(try AptRepository.parseRelations("libc6 (>= 2.34", field: "Depends"))
    }

    /// A hostile or broken index entry is refused naming the index line and the package.
    func testHostilePackagesEntries() throws {
        let good = "Package: a\nVersion: 1\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 1\nSHA256: \(String(repeating: "a", count: 64))\n"
        XCTAssertEqual(try AptRepository.parsePackages(Array((good + "\n" + good.replacingOccurrences(of: "Package: a", with: "Package: b")).utf8),
                                                       baseURL: "http://x", repository: "r", location: "P").map(\.location),
                       ["http://x/pool/a.deb", "http://x/pool/a.deb"])
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "pool/a.deb", with: "../../etc/passwd"), "P:1: a: Filename '../../etc/passwd' leaves the archive"),
            (good.replacingOccurrences(of: "pool/a.deb", with: "/etc/passwd"), "P:1: a: Filename '/etc/passwd' leaves the archive"),
            ("\n\n" + good.replacingOccurrences(of: "SHA256: ", with: "MD5sum: "), "P:3: the paragraph of a lacks 'SHA256'"),
            (good.replacingOccurrences(of: "Size: 1", with: "Size: lots"), "P:1: a: Size is not a number"),
            (good + "garbage line\n", "P: line 7 has no 'Field:'"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try AptRepository.parsePackages(Array(text.utf8), baseURL: "http://x", repository: "r", location: "P")) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(error)")
            }
        }
    }

    /// An archive that has only Release + Release.gpg (no InRelease) is verified through the detached
    /// signature; unsigned, it is refused unless marked trusted.
    func testDetachedReleaseSignature() throws {
        let archive = try makeArchive()
        defer { archive.server.stop() }
        let dists = "\(archive.root)/dists/test"
        try FileManager.default.removeItem(atPath: "\(dists)/InRelease")
        try archive.key.detachSign("\(dists)/Release", to: "\(dists)/Release.gpg")
        let packages = try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)
        XCTAssertEqual(packages.count, 8)

        try (try String(contentsOfFile: "\(dists)/Release", encoding: .utf8) + "Label: changed\n").write(toFile: "\(dists)/Release", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(archive.server.baseURL)/dists/test/Release: the signature does not verify"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: "\(dists)/Release.gpg")
        XCTAssertThrowsError(try AptRepository(spec: archive.spec(), architecture: .x86_64).packages(cache: archive.cache)) { error in
            XCTAssertTrue("\(error)".contains("the archive has neither InRelease"), "\(error)")
            XCTAssertTrue("\(error)".contains("it is unsigned"), "\(error)")
        }
        var trusted = archive.spec()
        trusted.trusted = true
        let (trustedPackages, warnings) = try Captured.lines { try AptRepository(spec: trusted, architecture: .x86_64).packages(cache: archive.cache) }
        XCTAssertEqual(trustedPackages.count, 8)
        XCTAssertTrue(warnings.contains { $0.hasPrefix("warning: \(archive.server.baseURL)/dists/test/Release is not verified") }, "\(warnings)")
    }

    /// A flat repository (`deb [trusted=yes] URL ./`, dpkg-scanpackages output and no Release at all).
    func testFlatTrustedRepository() throws {
        let debs = try realDebs()
        let scratch = try ScratchDirectory()
        let flat = try scratch.makeDirectory("flat")
        for deb in debs { try FileManager.default.copyItem(atPath: deb, toPath: "\(flat)/\(poolName(deb))") }
        let scan = try TestProcess.runChecked("dpkg-scanpackages", ["--multiversion", ".", "/dev/null"], in: flat)
        try scan.stdout.write(to: URL(fileURLWithPath: "\(flat)/Packages"))
        let server = try TestHTTPServer(directory: flat)
        defer { server.stop() }
        let spec = RepositorySpec(kind: .apt, url: server.baseURL, suites: ["./"], trusted: true, origin: "sources.list:1")
        let cache = PackageDownloadCache(root: scratch.path("cache"))
        let (packages, warnings) = try Captured.lines { try AptRepository(spec: spec, architecture: .x86_64).packages(cache: cache) }
        XCTAssertTrue(warnings.contains("warning: \(server.baseURL)/ has no Release file; its Packages index is used without digests (trusted, sources.list:1)"),
                      "\(warnings)")
        let closure = try resolver(packages, sources: server.baseURL).resolve(roots: [Dependency(name: "zlib1g")])
        XCTAssertEqual(closure.map(\.name), ["gcc-12-base", "libc6", "libgcc-s1", "zlib1g"])
        for package in closure {
            let path = try cache.package(url: package.location, sha256: package.sha256)
            XCTAssertEqual(try FileDigest.sha256Hex(path: path), package.sha256)
        }
        // Not trusted, the same directory is refused: it is unsigned.
        var untrusted = spec
        untrusted.trusted = false
        XCTAssertThrowsError(try AptRepository(spec: untrusted, architecture: .x86_64).packages(cache: cache))
    }
}
