import Foundation
import PkgLayerCore
import PkgLayerFetch
@testable import PkgLayerRepositories
@testable import PkgLayerRPM
import PkgLayerTestSupport
import XCTest

/// A yum repository that createrepo_c makes from rpms our RPMWriter wrote, read over file:// and
/// loopback http, resolved, and the downloads checked with `rpm -K`.
final class YumRepositoryTests: XCTestCase {
    private func rpm(_ name: String, _ version: String, release: String = "1", arch: Architecture = .x86_64,
                     requires: [String] = [], provides: [String] = [], file: String? = nil, in dir: String) throws -> String {
        let fixture = try Fixture()
        try fixture.file(file ?? "/usr/share/\(name)/\(version).txt", "\(name) \(version)\n", mode: file == nil ? 0o644 : 0o755)
        var spec = PackageSpec(name: name, version: version, release: release, architecture: arch, sourceDateEpoch: Specs.epoch)
        spec.summary = name
        spec.license = "MIT"
        spec.depends = try requires.map { try Dependency(parsing: $0, field: "requires") }
        spec.provides = try provides.map { try Dependency(parsing: $0, field: "provides") }
        return try writePackage(spec, try fixture.manifest(), in: dir)
    }

    private struct Repo {
        let scratch: ScratchDirectory
        let key: TestSigningKey
        var root: String { scratch.path("repo") }
        var cache: PackageDownloadCache { PackageDownloadCache(root: scratch.path("cache")) }
    }

    /// webapp needs libfoo >= 2.0 (two versions exist), the virtual `webserver` and the file /usr/bin/helper.
    private func makeRepo() throws -> Repo {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let rpms = [
            try rpm("webapp", "1.0", requires: ["libfoo >= 2.0", "webserver", "/usr/bin/helper"], in: built),
            try rpm("libfoo", "1.5", in: built),
            try rpm("libfoo", "2.1", release: "3", in: built),
            try rpm("nginx-lite", "1.22", provides: ["webserver = 1.0"], in: built),
            try rpm("helper", "0.1", arch: .noarch, file: "/usr/bin/helper", in: built),
            try rpm("otherarch", "1", arch: .aarch64, in: built),
        ]
        let key = try TestSigningKey(directory: try scratch.makeDirectory("keys"))
        try YumRepositoryFixture.build(root: try scratch.makeDirectory("repo"), rpms: rpms, key: key)
        return Repo(scratch: scratch, key: key)
    }

    private func resolve(_ packages: [AvailablePackage], _ roots: [String]) throws -> [AvailablePackage] {
        try DependencyResolver(index: PackageIndex(packages), scheme: RPMVersionOrder.scheme, architectures: ["x86_64", "noarch"],
                               sources: "test repo", ignores: { YumRepository.isRPMFeature($0) })
            .resolve(roots: try roots.map { try Dependency(parsing: $0, field: "roots") })
    }

    func testResolveOverFileAndHTTP() throws {
        let repo = try makeRepo()
        let server = try TestHTTPServer(directory: repo.root)
        defer { server.stop() }
        for url in ["file://\(repo.root)", server.baseURL] {
            let spec = RepositorySpec(kind: .yum, url: url, keyring: repo.key.armored, origin: "test")
            let packages = try YumRepository(spec: spec, architecture: .x86_64).packages(cache: repo.cache)
            XCTAssertEqual(packages.map(\.name).sorted(), ["helper", "libfoo", "libfoo", "nginx-lite", "otherarch", "webapp"])
            let closure = try resolve(packages, ["webapp"])
            XCTAssertEqual(closure.map { "\($0.name)-\($0.version).\($0.architecture)" },
                           ["helper-0.1-1.noarch", "libfoo-2.1-3.x86_64", "nginx-lite-1.22-1.x86_64", "webapp-1.0-1.x86_64"])
            for package in closure {
                let path = try repo.cache.package(url: package.location, sha256: package.sha256)
                let check = try TestProcess.runChecked("rpm", ["-K", "--nosignature", path])
                XCTAssertTrue(check.stdoutText.contains("digests OK"), check.stdoutText)
                let query = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}", path])
                XCTAssertEqual(query.stdoutText, "\(package.name)-\(package.version)")
            }
        }
        // libfoo < 2 picks the older one; the aarch64 package is not installable on x86_64.
        let packages = try YumRepository(spec: RepositorySpec(kind: .yum, url: server.baseURL, trusted: true, origin: "t"), architecture: .x86_64)
            .packages(cache: repo.cache)
        XCTAssertEqual(try resolve(packages, ["libfoo < 2"]).map(\.version), ["1.5-1"])
        XCTAssertThrowsError(try resolve(packages, ["otherarch"])) { error in
            XCTAssertTrue("\(error)".contains("available: 1-1 (aarch64, not installable here)"), "\(error)")
        }
    }

    /// A repomd.xml changed after signing (or signed by another key) is refused; nothing is cached.
    func testBadSignatureIsRefused() throws {
        let repo = try makeRepo()
        let repomd = "\(repo.root)/repodata/repomd.xml"
        try (try String(contentsOfFile: repomd, encoding: .utf8) + "\n").write(toFile: repomd, atomically: true, encoding: .utf8)
        let spec = RepositorySpec(kind: .yum, url: "file://\(repo.root)", keyring: repo.key.keyring, origin: "test")
        XCTAssertThrowsError(try YumRepository(spec: spec, architecture: .x86_64).packages(cache: repo.cache)) { error in
            XCTAssertTrue("\(error)".hasPrefix("file://\(repo.root)/repodata/repomd.xml: the signature does not verify against the keyring \(repo.key.keyring)"),
                          "\(error)")
        }
        XCTAssertEqual(filesUnder(repo.scratch.path("cache")), [])
        // Without a key and not marked trusted, a yum repository is refused up front.
        XCTAssertThrowsError(try YumRepository(spec: RepositorySpec(kind: .yum, url: "file:///x", origin: "img.yml: repositories[0]"),
                                               architecture: .x86_64)) { error in
            XCTAssertTrue("\(error)".hasPrefix("img.yml: repositories[0]: the yum repository file:///x names no key"), "\(error)")
        }
    }

    func testVersionOrder() {
        XCTAssertLessThan(RPMVersionOrder.compare("1.0-1", "1.0-2"), 0)
        XCTAssertLessThan(RPMVersionOrder.compare("1.9", "1.10"), 0)
        XCTAssertGreaterThan(RPMVersionOrder.compare("1:0.1-1", "9.9-9"), 0)
        XCTAssertLessThan(RPMVersionOrder.compare("1.0~rc1-1", "1.0-1"), 0)
        XCTAssertTrue(RPMVersionOrder.satisfies("2.1-3", .greaterOrEqual, "2.1"))
        XCTAssertTrue(RPMVersionOrder.satisfies("2.1-3", .equal, "2.1"), "a requirement without release matches any release")
        XCTAssertFalse(RPMVersionOrder.satisfies("2.1-3", .equal, "2.1-4"))
        XCTAssertFalse(RPMVersionOrder.satisfies("2.1-3", .lessThan, "2.1"))
    }

    /// primary.xml entries that leave the repository, or carry no sha256, are refused naming the package.
    func testHostilePrimaryEntries() throws {
        func primary(_ href: String, checksum: String = "sha256") -> Data {
            Data("""
                <?xml version="1.0" encoding="UTF-8"?>
                <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
                <package type="rpm"><name>evil</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>
                <checksum type="\(checksum)" pkgid="YES">\(String(repeating: "a", count: 64))</checksum>
                <size package="10" installed="0" archive="0"/><location href="\(href)"/>
                <format><rpm:requires><rpm:entry name="rpmlib(CompressedFileNames)" flags="LE" epoch="0" ver="3.0.4" rel="1"/>
                <rpm:entry name="(a or b)"/></rpm:requires></format></package>
                </metadata>
                """.utf8)
        }
        let ok = try YumPrimaryParser.parse(primary("Packages/evil.rpm"), baseURL: "http://x", repository: "r", location: "primary.xml")
        XCTAssertEqual(ok.map(\.location), ["http://x/Packages/evil.rpm"])
        XCTAssertEqual(ok[0].depends.map(\.description), ["rpmlib(CompressedFileNames) <= 3.0.4-1", "a | b"])
        for href in ["../../etc/passwd", "/etc/passwd"] {
            XCTAssertThrowsError(try YumPrimaryParser.parse(primary(href), baseURL: "http://x", repository: "r", location: "primary.xml")) { error in
                XCTAssertEqual("\(error)", "primary.xml: package evil lacks a name, a version or a location inside the repository")
            }
        }
        XCTAssertThrowsError(try YumPrimaryParser.parse(primary("P/e.rpm", checksum: "sha1"), baseURL: "http://x", repository: "r", location: "primary.xml")) { error in
            XCTAssertTrue("\(error)".contains("package evil has a sha1 checksum; pkglayer needs sha256"), "\(error)")
        }
    }
}
