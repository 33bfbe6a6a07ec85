import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

/// The client's logic against an in-memory registry: bearer tokens with scopes, chunking, mounts,
/// index platform choice, digest checks.
final class RegistryClientTests: XCTestCase {
    let credential = RegistryCredential(username: "robot", password: "hunter2-\(UInt32.random(in: 1000...9999))")

    func options(_ fake: FakeRegistry, chunkSize: Int64 = 32 << 20, mountFrom: [String] = []) -> RegistryOptions {
        RegistryOptions(credential: credential, retryDelay: 0, chunkSize: chunkSize, mountFrom: mountFrom, transport: fake)
    }

    func testBearerTokenIsFetchedWithBasicCredentialsAndTheRepositoryScopes() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        let reference = try RegistryReference(parsing: "registry.test/team/app:1.0")
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: options(fake, mountFrom: ["team/base"]))
        XCTAssertEqual(report.stats.blobsUploaded, fixture.blobCount)
        let tokenRequests = fake.requests.filter { $0.url.hasPrefix("https://auth.test/") }
        XCTAssertEqual(tokenRequests.count, 1, "one token serves the whole push")
        let query = URLComponents(string: tokenRequests[0].url)!.queryItems!
        XCTAssertEqual(query.filter { $0.name == "scope" }.map(\.value), ["repository:team/app:pull,push", "repository:team/base:pull"])
        XCTAssertEqual(query.first { $0.name == "service" }?.value, "registry.test")
        let registryRequests = fake.requests.filter { $0.url.hasPrefix("https://registry.test/") }
        XCTAssertEqual(registryRequests.filter { $0.header("Authorization") == nil }.count, 1, "only the first request goes out without a token")
        XCTAssertTrue(registryRequests.dropFirst().allSatisfy { $0.header("Authorization")?.hasPrefix("Bearer ") == true })
        XCTAssertTrue(fake.requests.allSatisfy { !$0.summary.contains(credential.password) && !$0.url.contains(credential.password) })
    }

    func testWrongCredentialsAtTheTokenServiceNameTheUserButNotTheSecret() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        var opts = options(fake)
        opts.credential = RegistryCredential(username: "robot", password: "wrong-secret-123")
        XCTAssertThrowsError(try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "registry.test/team/app:1"), options: opts)) { error in
            guard let error = error as? PkgLayerError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .auth)
            XCTAssertTrue(error.description.contains("robot"), error.description)
            XCTAssertFalse(error.description.contains("wrong-secret-123"), error.description)
        }
    }

    func testRetryAfterIsHonouredAndTheRegistrysErrorCodeIsQuoted() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        let reference = try RegistryReference(parsing: "registry.test/team/app:1.0")
        fake.failOnce("PUT", path: "/manifests/", with: RegistryResponse(status: 429, headers: [("Retry-After", "1")],
                                                                       body: Array(#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#.utf8)))
        let started = Date()
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: options(fake))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0, "Retry-After: 1 was not waited for (retryDelay is 0 here)")
        XCTAssertEqual(report.stats.retries, 1)
        XCTAssertEqual(report.stats.manifestsPut, 1)
        // A 4xx is not retried: the error names the registry's code, the request and what to do.
        let opts = options(fake)
        fake.failOnce("PUT", path: "/manifests/", with: RegistryResponse(status: 400, body: Array(#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}"#.utf8)))
        XCTAssertThrowsError(try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: opts)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("MANIFEST_INVALID") && text.contains("PUT /v2/team/app/manifests/1.0") && text.contains("oci-image-tool"), text)
        }
    }

    func testSmallChunksAndMountsAndARepeatPush() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        let a = try RegistryReference(parsing: "registry.test/team/a:1.0")
        let chunked = try Registry.push(layout: fixture.layout, tag: nil, to: a, options: options(fake, chunkSize: 100_000))
        let layerSize = fixture.image.layers[0].descriptor.size
        XCTAssertEqual(chunked.stats.chunks, Int((layerSize + 99_999) / 100_000) + fixture.image.layers.dropFirst().map { $0.descriptor.size > 100_000 ? 1 : 0 }.reduce(0, +))
        let again = try Registry.push(layout: fixture.layout, tag: nil, to: a, options: options(fake))
        XCTAssertEqual(again.stats.blobsUploaded, 0)
        XCTAssertEqual(again.stats.blobsExisting, fixture.blobCount)
        let b = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "registry.test/team/b:1.0"),
                                  options: options(fake, mountFrom: ["team/a"]))
        XCTAssertEqual(b.stats.blobsMounted, fixture.blobCount)
        XCTAssertEqual(b.stats.bytesUploaded, 0)
    }

    func testPullChoosesThisMachinesPlatformFromAnIndex() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        _ = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "registry.test/team/app:1.0"), options: options(fake))
        let native = OCIPlatform(Architecture.native)
        let other = OCIPlatform(architecture: native.architecture == "s390x" ? "amd64" : "s390x", os: "linux")
        var foreign = fixture.image.manifest
        foreign.digest = Digest(hex: String(repeating: "0", count: 64))
        foreign.platform = other
        let index = OCIImageIndex(manifests: [foreign, fixture.image.manifest]).json.canonicalBytes
        fake.storeManifest(index, mediaType: OCIMediaType.imageIndex, repository: "team/app", references: ["multi"])
        let out = try ScratchDirectory(prefix: "pkglayer-reg-pull")
        let pulled = try Registry.pull(try RegistryReference(parsing: "registry.test/team/app:multi"), into: out.path("layout"), options: options(fake))
        XCTAssertEqual(pulled.digest, fixture.image.manifest.digest)
        XCTAssertEqual(pulled.resolvedDigest, Digest.sha256(index))
        XCTAssertEqual(pulled.platform, native)
        let reader = try OCILayoutReader(path: out.path("layout"))
        XCTAssertEqual(try reader.manifest(tagged: "multi")?.platform, native)
        XCTAssertEqual(try reader.reachableBlobs(from: try reader.manifest(tagged: "multi")!).count, fixture.image.blobs.count)
        // Asking for a platform the index lacks names what it offers.
        var opts = options(fake)
        opts.platform = OCIPlatform(architecture: "mips64le", os: "linux")
        XCTAssertThrowsError(try Registry.pull(try RegistryReference(parsing: "registry.test/team/app:multi"), into: out.path("other"), options: opts)) { error in
            XCTAssertTrue("\(error)".contains("mips64le") && "\(error)".contains(other.architecture), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path("other")))
    }

    func testPullRejectsABlobThatDoesNotMatchItsDigest() throws {
        let fake = FakeRegistry(credential: credential)
        let fixture = try TestImageFixture()
        let config = fixture.image.config
        // A manifest whose config descriptor points at bytes that hash differently.
        fake.storeBlob(Array("{}".utf8), as: Digest.sha256(Array("{ }".utf8)), repository: "team/bad")
        var manifest = fixture.image.imageManifest
        manifest.config = OCIDescriptor(mediaType: config.mediaType, digest: Digest.sha256(Array("{ }".utf8)), size: 2)
        manifest.layers = []
        let bytes = manifest.json.canonicalBytes
        fake.storeManifest(bytes, mediaType: OCIMediaType.imageManifest, repository: "team/bad", references: ["1"])
        let out = try ScratchDirectory(prefix: "pkglayer-reg-pull")
        XCTAssertThrowsError(try Registry.pull(try RegistryReference(parsing: "registry.test/team/bad:1"), into: out.path("layout"), options: options(fake))) { error in
            XCTAssertTrue("\(error)".contains("not the expected \(Digest.sha256(Array("{ }".utf8)))"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path("layout")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "the staging blobs were left behind")
    }
}
