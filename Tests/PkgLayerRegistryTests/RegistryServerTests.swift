import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

/// Push and pull against a real `docker-registry` (TLS with a private CA, htpasswd bcrypt auth), each
/// outcome judged by skopeo, oci-image-tool and the registry's own access log.
final class RegistryServerTests: XCTestCase {
    var credential: RegistryCredential { RegistryCredential(username: RegistryServer.username, password: RegistryServer.password) }

    func options(_ server: RegistryServer, chunkSize: Int64 = 32 << 20, mountFrom: [String] = [], noCA: Bool = false) -> RegistryOptions {
        RegistryOptions(trust: RegistryTrust(caCertificates: noCA ? [] : [server.caFile], certsDirectory: server.scratch.path("no-certs.d")),
                        credential: credential, dockerConfigPath: server.scratch.path("unused-config.json"),
                        retryDelay: 0.05, chunkSize: chunkSize, mountFrom: mountFrom)
    }

    func skopeoDigest(_ server: RegistryServer, _ reference: String) throws -> String? {
        let out = try TestProcess.runChecked("skopeo", ["inspect", "--cert-dir", server.certDirectory,
                                                        "--creds", "\(RegistryServer.username):\(RegistryServer.password)",
                                                        "docker://\(reference)"])
        return (try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])?["Digest"] as? String
    }

    func testPushIsSeenBySkopeoRepeatPushUploadsNothingAndPullReproducesTheDigest() throws {
        try requireTool("skopeo", "oci-image-tool")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        let reference = try RegistryReference(parsing: "\(server.host)/team/app:1.0")

        let first = try Registry.push(layout: fixture.layout, tag: TestImageFixture.tag, to: reference, options: options(server))
        XCTAssertEqual(first.digest, fixture.image.manifest.digest)
        XCTAssertEqual(first.stats.blobsUploaded, fixture.blobCount)
        XCTAssertEqual(first.stats.manifestsPut, 1)
        XCTAssertEqual(try skopeoDigest(server, reference.description), fixture.image.manifest.digest.description)

        // Again: every blob is found by HEAD, none is sent, and the registry saw no upload request.
        let mark = server.logText.count
        let second = try Registry.push(layout: fixture.layout, tag: TestImageFixture.tag, to: reference, options: options(server))
        XCTAssertEqual(second.stats.blobsUploaded, 0)
        XCTAssertEqual(second.stats.bytesUploaded, 0)
        XCTAssertEqual(second.stats.blobsExisting, fixture.blobCount)
        XCTAssertEqual(server.uploadRequests(after: mark), [], "the registry's log shows uploads on the repeat push")
        XCTAssertFalse(server.uploadRequests(after: 0).isEmpty, "the log should show the first push's uploads (is the access log on?)")

        // Pull into an empty place: same digest, and oci-image-tool accepts the layout.
        let output = fixture.scratch.path("pulled")
        let pulled = try Registry.pull(reference, into: output, options: options(server))
        XCTAssertEqual(pulled.digest, fixture.image.manifest.digest)
        XCTAssertEqual(pulled.tag, "1.0")
        XCTAssertEqual(pulled.stats.blobsDownloaded, fixture.blobCount)
        let validation = try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", output])
        XCTAssertTrue((validation.stdoutText + validation.stderrText).contains("Validation succeeded"), validation.stdoutText + validation.stderrText)
        let reader = try OCILayoutReader(path: output)
        XCTAssertEqual(try reader.manifest(tagged: "1.0")?.digest, fixture.image.manifest.digest)
        for blob in fixture.image.blobs {
            XCTAssertEqual(FileManager.default.contents(atPath: reader.store.path(for: blob.digest)),
                           FileManager.default.contents(atPath: "\(fixture.layout)/blobs/sha256/\(blob.digest.hex)"), "\(blob.digest)")
        }
        // And the pulled layout serves as an image base (`base: oci-layout:PATH:TAG`).
        let base = try BaseImage.ociLayout(path: output, tag: "1.0", into: try BlobStore(root: fixture.scratch.path("base-store")),
                                           architecture: .native)
        XCTAssertEqual(base.manifestDigest, fixture.image.manifest.digest)
        XCTAssertEqual(base.layers.map(\.descriptor.digest), fixture.image.layers.map(\.descriptor.digest))
        XCTAssertEqual(base.config.cmd, ["/bin/sh"])
        let inspected = try TestProcess.runChecked("skopeo", ["inspect", "oci:\(output):1.0"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: inspected.stdout) as? [String: Any])?["Digest"] as? String,
                       fixture.image.manifest.digest.description)
    }

    func testWrongPasswordIsAClearAuthErrorThatHidesTheSecret() throws {
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        var opts = options(server)
        let wrong = "not-the-password-\(UInt32.random(in: 1000...9999))"
        opts.credential = RegistryCredential(username: RegistryServer.username, password: wrong)
        let reference = try RegistryReference(parsing: "\(server.host)/team/app:1.0")
        XCTAssertThrowsError(try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: opts)) { error in
            guard let error = error as? PkgLayerError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .auth)
            let text = error.description
            XCTAssertTrue(text.contains("UNAUTHORIZED"), text)
            XCTAssertTrue(text.contains(RegistryServer.username), text)
            XCTAssertTrue(text.contains("GET /v2/"), text)
            XCTAssertFalse(text.contains(wrong), text)
            XCTAssertFalse(text.contains(Data("\(RegistryServer.username):\(wrong)".utf8).base64EncodedString()), text)
        }
        XCTAssertEqual(server.uploadRequests(after: 0), [])
        // Without any credential: the error says to log in.
        opts.credential = nil
        XCTAssertThrowsError(try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: opts)) { error in
            XCTAssertTrue("\(error)".contains("pkglayer login \(server.host)"), "\(error)")
        }
    }

    func testUntrustedCertificateFailsClosedAndCertsDirectoryIsTrusted() throws {
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        let reference = try RegistryReference(parsing: "\(server.host)/team/app:1.0")
        XCTAssertThrowsError(try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: options(server, noCA: true))) { error in
            guard let error = error as? PkgLayerError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, .registry)
            XCTAssertTrue(error.message.contains("TLS failed"), error.description)
            XCTAssertTrue(error.message.contains("--ca-cert"), error.description)
        }
        XCTAssertFalse(server.logText.contains("/v2/"), "a request reached the registry over an untrusted connection")
        // Docker's convention: certs.d/HOST:PORT/ca.crt is trusted without --ca-cert.
        var opts = options(server, noCA: true)
        let certsD = server.scratch.path("certs.d")
        try FileManager.default.createDirectory(atPath: "\(certsD)/\(server.host)", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: server.caFile, toPath: "\(certsD)/\(server.host)/ca.crt")
        opts.trust.certsDirectory = certsD
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: opts)
        XCTAssertEqual(report.digest, fixture.image.manifest.digest)
    }

    func testRetriesSurviveA503AndDroppedConnectionsThroughAFaultyProxy() throws {
        try requireTool("skopeo", "oci-image-tool")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        let proxy = try FaultyProxy(upstream: server, rules: [
            .init(method: "*", path: "/v2/", action: "503", times: 1),
            .init(method: "*", path: "/v2/", action: "drop", times: 1),
            .init(method: "PUT", path: "/blobs/uploads/", action: "drop", times: 1),
            .init(method: "PUT", path: "/manifests/", action: "503", times: 2),
            .init(method: "GET", path: "/blobs/sha256:", action: "drop", times: 1),
            .init(method: "GET", path: "/blobs/sha256:", action: "503", times: 1),
        ])
        let viaProxy = try RegistryReference(parsing: "\(proxy.host)/team/app:1.0")
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: viaProxy, options: options(server))
        XCTAssertEqual(report.digest, fixture.image.manifest.digest)
        XCTAssertGreaterThanOrEqual(report.stats.retries, 5, "\(report.stats)")
        let injected = proxy.requests.filter { !$0.hasSuffix(" forward") }
        XCTAssertEqual(injected.count, 5, proxy.requests.joined(separator: "\n"))
        // Judged at the registry itself, past the proxy.
        XCTAssertEqual(try skopeoDigest(server, "\(server.host)/team/app:1.0"), fixture.image.manifest.digest.description)
        let output = fixture.scratch.path("pulled")
        let pulled = try Registry.pull(viaProxy, into: output, options: options(server))
        XCTAssertEqual(pulled.digest, fixture.image.manifest.digest)
        XCTAssertGreaterThanOrEqual(pulled.stats.retries, 2)
        XCTAssertEqual(proxy.requests.filter { !$0.hasSuffix(" forward") }.count, 7, proxy.requests.joined(separator: "\n"))
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", output])
    }

    func testChunkedUploadResumesAfterADroppedPatch() throws {
        try requireTool("skopeo", "oci-image-tool")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        let proxy = try FaultyProxy(upstream: server, rules: [.init(method: "PATCH", path: "/blobs/uploads/", action: "drop", times: 1, skip: 2)])
        // The first two PATCHes go through, the third is dropped: the upload resumes from what the registry holds.
        let reference = try RegistryReference(parsing: "\(proxy.host)/team/chunked:1.0")
        let chunk: Int64 = 128 << 10
        let largest = fixture.image.layers.map(\.descriptor.size).max()!
        XCTAssertGreaterThan(largest, 3 * chunk, "the busybox layer should span several chunks")
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: reference, options: options(server, chunkSize: chunk))
        XCTAssertEqual(report.digest, fixture.image.manifest.digest)
        XCTAssertGreaterThanOrEqual(report.stats.chunks, Int((largest + chunk - 1) / chunk), "\(report.stats)")
        XCTAssertEqual(report.stats.resumes, 1, "\(report.stats)")
        XCTAssertTrue(proxy.requests.contains { $0.hasPrefix("PATCH ") && $0.hasSuffix(" drop") })
        XCTAssertTrue(proxy.requests.contains { $0.hasPrefix("GET ") && $0.contains("/blobs/uploads/") }, "no upload status was asked")
        XCTAssertEqual(try skopeoDigest(server, "\(server.host)/team/chunked:1.0"), fixture.image.manifest.digest.description)
        let pulled = try Registry.pull(try RegistryReference(parsing: "\(server.host)/team/chunked:1.0"),
                                       into: fixture.scratch.path("pulled"), options: options(server))
        XCTAssertEqual(pulled.digest, fixture.image.manifest.digest)
    }

    func testRememberedBlobLocationsMountWithoutBeingTold() throws {
        try requireTool("skopeo", "oci-image-tool")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        var opts = options(server)
        opts.blobLocations = fixture.scratch.path("cache/registry-blobs.json")
        _ = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "\(server.host)/team/x:1.0"), options: opts)
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "\(server.host)/team/y:1.0"), options: opts)
        XCTAssertEqual(report.stats.blobsMounted, fixture.blobCount, "\(report.stats)")
        XCTAssertEqual(report.stats.bytesUploaded, 0)
        XCTAssertEqual(try skopeoDigest(server, "\(server.host)/team/y:1.0"), fixture.image.manifest.digest.description)
        let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: opts.blobLocations!))) as! [String: [String: [String]]]
        XCTAssertEqual(recorded[server.host]?[fixture.image.layers[0].descriptor.digest.description], ["team/y", "team/x"])
        // A stale hint (the repository is gone from the registry) costs a mount request, not the push.
        var stale = opts
        stale.blobLocations = fixture.scratch.path("stale.json")
        let hints = Dictionary(uniqueKeysWithValues: fixture.image.blobs.map { ($0.digest.description, ["team/never-pushed"]) })
        try JSONSerialization.data(withJSONObject: [server.host: hints]).write(to: URL(fileURLWithPath: stale.blobLocations!))
        let fresh = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "\(server.host)/team/z:1.0"), options: stale)
        XCTAssertEqual(fresh.stats.blobsMounted, 0)
        XCTAssertEqual(fresh.stats.blobsUploaded, fixture.blobCount)
    }

    func testSecondRepositoryMountsBlobsFromTheFirst() throws {
        try requireTool("skopeo", "oci-image-tool")
        let server = try RegistryServer()
        let fixture = try TestImageFixture()
        _ = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "\(server.host)/team/a:1.0"), options: options(server))
        let mark = server.logText.count
        let report = try Registry.push(layout: fixture.layout, tag: nil, to: try RegistryReference(parsing: "\(server.host)/team/b:1.0"),
                                       options: options(server, mountFrom: ["team/a"]))
        XCTAssertEqual(report.stats.blobsMounted, fixture.blobCount, "\(report.stats)")
        XCTAssertEqual(report.stats.blobsUploaded, 0)
        let uploads = server.uploadRequests(after: mark)
        XCTAssertEqual(uploads.count, fixture.blobCount, uploads.joined(separator: "\n"))
        XCTAssertTrue(uploads.allSatisfy { $0.contains("mount=sha256") && $0.contains("from=team") }, uploads.joined(separator: "\n"))
        XCTAssertEqual(try skopeoDigest(server, "\(server.host)/team/b:1.0"), fixture.image.manifest.digest.description)
    }
}
