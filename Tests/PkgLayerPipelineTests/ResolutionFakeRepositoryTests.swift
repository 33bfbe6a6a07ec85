import Foundation
import PkgLayerCore
import PkgLayerPipeline
@testable import PkgLayerRepositories
import PkgLayerTestSupport
import XCTest

/// `PackageResolution` over a tiny signed apt repository of our own debs on 127.0.0.1: the closure of one
/// root, the lockfile written, then the same packages offline from the lockfile with the server stopped.
final class ResolutionFakeRepositoryTests: XCTestCase {
    /// A one-file deb written by the pipeline's deb writer.
    private func deb(_ name: String, _ version: String, depends: [String] = [], in scratch: ScratchDirectory) throws -> String {
        try scratch.write("trees/\(name)/usr/share/\(name)/README", "\(name) \(version)\n")
        var builder = ManifestBuilder(inputs: [.init(source: scratch.path("trees/\(name)"), destination: "/")])
        builder.sourceDateEpoch = SourceDateEpoch(1_700_000_000)
        let built = try builder.build()
        var spec = PackageSpec(name: name, version: version, architecture: .x86_64, sourceDateEpoch: built.sourceDateEpoch)
        spec.release = "1"
        spec.depends = try depends.map { try Dependency(parsing: $0, field: "depends") }
        let packager = Packagers.packager(for: .deb, overwrite: true)
        let path = "\(try scratch.makeDirectory("debs"))/\(packager.fileName(for: spec))"
        _ = try packager.pack(spec: spec, manifest: built.manifest, to: path)
        return path
    }

    func testClosureLockfileAndOfflineReplay() throws {
        try requireTool("gpg", "gpgv", "dpkg-scanpackages", "xz", "python3")
        let scratch = try ScratchDirectory()
        let debs = [
            try deb("app", "1.0", depends: ["libfoo (>= 2.0)"], in: scratch),
            try deb("libfoo", "2.1", depends: ["libbar"], in: scratch),
            try deb("libbar", "0.9", in: scratch),
            try deb("unrelated", "1.0", in: scratch),
        ]
        let key = try TestSigningKey(directory: try scratch.makeDirectory("keys"))
        try AptArchiveFixture.build(root: try scratch.makeDirectory("archive"), suite: "test", debs: debs, key: key)
        let server = try TestHTTPServer(directory: scratch.path("archive"))
        defer { server.stop() }
        let repositories = [RepositorySpec(kind: .apt, url: server.baseURL, suites: ["test"], keyring: key.keyring,
                                           origin: "image.yml: repositories[0]")]
        let lock = scratch.path("image.lock.json")
        func resolve(lockfile: String?, offline: Bool) throws -> [ResolvedPackage] {
            try PackageResolution.resolve(format: .deb, architecture: .x86_64, roots: [Dependency(name: "app")], local: [],
                                          repositories: repositories, lockfile: lockfile, writeLockfile: lockfile, offline: offline,
                                          cacheRoot: scratch.path("cache"))
        }

        let online = try resolve(lockfile: lock, offline: false)
        XCTAssertEqual(online.map { "\($0.name) \($0.version)" }, ["app 1.0-1", "libbar 0.9-1", "libfoo 2.1-1"])
        let written = Set(try debs.map { try FileDigest.sha256Hex(path: $0) })
        for package in online {
            XCTAssertEqual(package.format, .deb)
            XCTAssertNotNil(package.repository, package.name)
            XCTAssertEqual(try FileDigest.sha256Hex(path: package.path), package.sha256, "the cached file is the one resolved")
            XCTAssertTrue(written.contains(package.sha256), "\(package.name) is the deb we wrote")
        }

        let lockfile = try Lockfile.read(path: lock)
        XCTAssertEqual(lockfile.packages.map(\.name), ["app", "libbar", "libfoo"])
        XCTAssertEqual(lockfile.packages.map(\.sha256), online.map(\.sha256))
        for entry in lockfile.packages {
            XCTAssertTrue(entry.url.hasPrefix(server.baseURL + "/pool/main/"), entry.url)
        }

        server.stop()
        XCTAssertEqual(try resolve(lockfile: lock, offline: true), online, "the lockfile alone, offline, gives the same packages")
        // What made that work is the lockfile: offline without it there is nothing to resolve against.
        XCTAssertThrowsError(try resolve(lockfile: nil, offline: true))
    }
}
