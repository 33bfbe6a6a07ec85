import Foundation
import PkgLayerCore
import PkgLayerRPM
import PkgLayerDeb
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerRepositories

/// `PackageResolution`, the facade the image pipeline calls, over real signed repositories on 127.0.0.1:
/// our own packages (built by `pkglayer package`) resolved against them, the lockfile written, then
/// honoured offline with the server stopped; a changed lockfile digest and a stale lockfile.
final class PackageResolutionTests: XCTestCase {
    static let realDebs = "/var/cache/pkglayer-test/debs"

    private func realDebs() throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.realDebs))?.filter { $0.hasSuffix(".deb") } ?? []
        try requireCondition(names.count >= 7, "the bookworm test debs are missing from \(Self.realDebs): run scripts/install-deps.sh (it downloads them)")
        return names.sorted().map { "\(Self.realDebs)/\($0)" }
    }

    /// A package made by pkglayer's own writers from a one-file tree (what `pkglayer package -s dir` does).
    private func ownPackage(_ type: String, name: String, version: String, arch: String, depends: [String] = [],
                            in scratch: ScratchDirectory) throws -> String {
        let tree = try scratch.makeDirectory("tree-\(name)-\(type)")
        _ = try scratch.write("tree-\(name)-\(type)/usr/share/\(name)/README", "\(name) \(version)\n")
        let out = try scratch.makeDirectory("own-\(type)")
        var builder = ManifestBuilder(inputs: [.init(source: tree, destination: "/")])
        builder.sourceDateEpoch = SourceDateEpoch(1_700_000_000)
        let built = try builder.build()
        var spec = PackageSpec(name: name, version: version, architecture: try XCTUnwrap(Architecture(parsing: arch)),
                               sourceDateEpoch: built.sourceDateEpoch)
        spec.release = "1"
        spec.license = "MIT"
        spec.depends = try depends.map { try Dependency(parsing: $0, field: "-d") }
        let packager: any Packager = type == "rpm" ? RPMWriter() : DebWriter()
        let path = "\(out)/\(packager.fileName(for: spec))"
        _ = try packager.pack(spec: spec, manifest: built.manifest, to: path)
        return path
    }

    private struct AptSetup {
        let scratch: ScratchDirectory
        let server: TestHTTPServer
        let key: TestSigningKey
        let local: String
        var repositories: [RepositorySpec] {
            [RepositorySpec(kind: .apt, url: server.baseURL, suites: ["test"], keyring: key.keyring, origin: "image.yml: repositories[0]")]
        }
        var cacheRoot: String { scratch.path("cache") }
    }

    private func aptSetup() throws -> AptSetup {
        let debs = try realDebs()
        let scratch = try ScratchDirectory()
        let key = try TestSigningKey(directory: try scratch.makeDirectory("keys"))
        try AptArchiveFixture.build(root: try scratch.makeDirectory("archive"), suite: "test", debs: debs, key: key)
        let local = try ownPackage("deb", name: "myapp", version: "1.0", arch: "amd64",
                                   depends: ["libssl3 (>= 3.0.0)", "zlib1g"], in: scratch)
        return AptSetup(scratch: scratch, server: try TestHTTPServer(directory: scratch.path("archive")), key: key, local: local)
    }

    private func resolve(_ setup: AptSetup, roots: [String] = [], lockfile: String?, write: String?, offline: Bool = false,
                         cacheRoot: String? = nil) throws -> [ResolvedPackage] {
        try PackageResolution.resolve(format: .deb, architecture: .x86_64, roots: roots.map { Dependency(name: $0) }, local: [setup.local],
                                      repositories: setup.repositories, lockfile: lockfile, writeLockfile: write, offline: offline,
                                      cacheRoot: cacheRoot ?? setup.cacheRoot)
    }

    /// Resolve online → lockfile; stop the server; resolve again offline with the lockfile → the same set.
    func testAptLockfileRoundTripOffline() throws {
        let setup = try aptSetup()
        let lock = setup.scratch.path("image.lock.json")
        let first = try resolve(setup, lockfile: lock, write: lock)
        XCTAssertEqual(first.map(\.name), ["gcc-12-base", "libc6", "libgcc-s1", "libssl3", "myapp", "zlib1g"])
        let own = try XCTUnwrap(first.first { $0.name == "myapp" })
        XCTAssertNil(own.repository)
        XCTAssertEqual(own.path, setup.local)
        for package in first {
            XCTAssertEqual(try FileDigest.sha256Hex(path: package.path), package.sha256, package.name)
            XCTAssertEqual(package.format, .deb)
            _ = try TestProcess.runChecked("dpkg-deb", ["-I", package.path])
        }
        let written = try Lockfile.read(path: lock)
        XCTAssertEqual(written.packages.map(\.name), ["gcc-12-base", "libc6", "libgcc-s1", "libssl3", "zlib1g"])
        XCTAssertTrue(written.packages.allSatisfy { $0.url.hasPrefix(setup.server.baseURL + "/pool/main/") })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: lock))

        // Resolving again writes the same bytes.
        let again = setup.scratch.path("again.lock.json")
        _ = try resolve(setup, lockfile: nil, write: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), bytes, "the lockfile is deterministic")

        setup.server.stop()
        let (offline, lines) = try Captured.lines { try resolve(setup, lockfile: lock, write: lock, offline: true) }
        XCTAssertEqual(offline, first)
        XCTAssertTrue(lines.contains { $0.hasPrefix("using the lockfile \(lock)") }, "\(lines)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: lock)), bytes)

        // Without the lockfile, offline cannot resolve, and says so.
        XCTAssertThrowsError(try resolve(setup, lockfile: nil, write: nil, offline: true)) { error in
            XCTAssertTrue("\(error)".contains("offline: cannot fetch a repository index"), "\(error)")
        }
    }

    /// A lockfile digest that was changed is refused: the error names the lockfile, the package and both
    /// digests, and nothing is written (no cache entry, no lockfile).
    func testChangedLockfileDigestIsRefused() throws {
        let setup = try aptSetup()
        defer { setup.server.stop() }
        let lock = setup.scratch.path("image.lock.json")
        _ = try resolve(setup, lockfile: nil, write: lock)
        let original = try Lockfile.read(path: lock)
        let real = try XCTUnwrap(original.packages.first { $0.name == "libssl3" }).sha256
        let forged = String(repeating: "ab", count: 32)
        let text = try String(contentsOfFile: lock, encoding: .utf8).replacingOccurrences(of: real, with: forged)
        try text.write(toFile: lock, atomically: true, encoding: .utf8)

        let freshCache = setup.scratch.path("fresh-cache")
        let other = setup.scratch.path("other.lock.json")
        XCTAssertThrowsError(try resolve(setup, lockfile: lock, write: other, cacheRoot: freshCache)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(lock): package libssl3 "), message)
            XCTAssertTrue(message.contains("the lockfile pins sha256 \(forged)"), message)
            XCTAssertTrue(message.contains("has sha256 \(real)"), message)
        }
        XCTAssertTrue(filesUnder(freshCache + "/packages").allSatisfy { !$0.contains(forged) && !$0.contains(real) },
                      "\(filesUnder(freshCache))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: other))
        XCTAssertEqual(try String(contentsOfFile: lock, encoding: .utf8), text, "the lockfile is left as it was")

        // A size that does not fit the pinned file is an edited lockfile too.
        let zlib = try XCTUnwrap(original.packages.first { $0.name == "zlib1g" })
        try String(contentsOfFile: lock, encoding: .utf8).replacingOccurrences(of: forged, with: real)
            .replacingOccurrences(of: "\"size\": \(zlib.size)", with: "\"size\": \(zlib.size + 1)").write(toFile: lock, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try resolve(setup, lockfile: lock, write: other)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(lock): package zlib1g \(zlib.version): the lockfile gives size \(zlib.size + 1), but the file with its sha256 has \(zlib.size) bytes"),
                          "\(error)")
        }
    }

    /// A lockfile for other inputs: online it is resolved again and rewritten; offline it is an error.
    func testStaleLockfile() throws {
        let setup = try aptSetup()
        defer { setup.server.stop() }
        let lock = setup.scratch.path("image.lock.json")
        _ = try resolve(setup, lockfile: nil, write: lock)
        XCTAssertThrowsError(try resolve(setup, roots: ["libpcre2-8-0"], lockfile: lock, write: lock, offline: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(lock): the lockfile was written for other inputs"), "\(error)")
        }
        let (updated, lines) = try Captured.lines { try resolve(setup, roots: ["libpcre2-8-0"], lockfile: lock, write: lock) }
        XCTAssertTrue(updated.contains { $0.name == "libpcre2-8-0" })
        XCTAssertTrue(lines.contains("the lockfile \(lock) is stale (the inputs changed): resolving again"), "\(lines)")
        XCTAssertTrue(try Lockfile.read(path: lock).packages.contains { $0.name == "libpcre2-8-0" })
    }

    /// yum: a repository of rpms from `pkglayer package`, a local rpm needing one of them; lockfile, offline.
    func testYumRepositoryWithLockfile() throws {
        let scratch = try ScratchDirectory()
        let libfoo = try ownPackage("rpm", name: "libfoo", version: "2.1", arch: "x86_64", in: scratch)
        let key = try TestSigningKey(directory: try scratch.makeDirectory("keys"))
        try YumRepositoryFixture.build(root: try scratch.makeDirectory("repo"), rpms: [libfoo], key: key)
        let app = try ownPackage("rpm", name: "app", version: "1.0", arch: "noarch", depends: ["libfoo >= 2.0"], in: scratch)
        let server = try TestHTTPServer(directory: scratch.path("repo"))
        let repositories = [RepositorySpec(kind: .yum, url: server.baseURL, keyring: key.armored, origin: "image.yml: repositories[0]")]
        let lock = scratch.path("image.lock.json")
        func run(offline: Bool) throws -> [ResolvedPackage] {
            try PackageResolution.resolve(format: .rpm, architecture: .x86_64, roots: [], local: [app], repositories: repositories,
                                          lockfile: lock, writeLockfile: lock, offline: offline, cacheRoot: scratch.path("cache"))
        }
        let online = try run(offline: false)
        XCTAssertEqual(online.map { "\($0.name)-\($0.version).\($0.architecture)" }, ["app-1.0-1.noarch", "libfoo-2.1-1.x86_64"])
        for package in online {
            let check = try TestProcess.runChecked("rpm", ["-K", package.path])
            XCTAssertTrue(check.stdoutText.hasSuffix("digests OK\n"), check.stdoutText)
        }
        server.stop()
        XCTAssertEqual(try run(offline: true), online)
    }

    /// `apt` without a URL stands for the host's sources (each with its own Signed-By); a repository of the
    /// wrong kind for the image's format is an error naming where it was declared.
    func testHostSourcesAndWrongKind() throws {
        let host = [RepositorySpec(kind: .apt, url: "http://deb.debian.org/debian", suites: ["bookworm"], keyring: "/k.gpg", origin: "/etc/apt/x.sources:1")]
        let expanded = try PackageResolution.expand([RepositorySpec(kind: .apt, origin: "image.yml: repositories[0]")], format: .deb,
                                                    hostSources: { host })
        XCTAssertEqual(expanded, host)
        let trusted = try PackageResolution.expand([RepositorySpec(kind: .apt, trusted: true, origin: "i")], format: .deb, hostSources: { host })
        XCTAssertEqual(trusted.map(\.trusted), [true])
        XCTAssertThrowsError(try PackageResolution.expand([RepositorySpec(kind: .yum, url: "http://x", origin: "image.yml: repositories[1]")],
                                                          format: .deb)) { error in
            XCTAssertEqual("\(error)", "image.yml: repositories[1]: a yum repository cannot serve a deb image; use apt repositories")
        }
        XCTAssertThrowsError(try PackageResolution.expand([RepositorySpec(kind: .apt, origin: "image.yml: repositories[0]")], format: .deb,
                                                          hostSources: { [] })) { error in
            XCTAssertTrue("\(error)".hasPrefix("image.yml: repositories[0]: the host has no apt sources"), "\(error)")
        }
    }
}
