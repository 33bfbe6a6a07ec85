import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

final class LayerCacheTests: XCTestCase {
    func testUnchangedPackagesAreNotWrittenAgain() throws {
        try requireTool("busybox")
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-cache")
        let store = try BlobStore(root: scratch.path("store"))
        let cache = try LayerCache(directory: scratch.path("cache"))
        let assembler = ImageAssembler(store: store, layerWriter: LayerWriter(cache: cache))
        let busybox = try TestPackages.busybox(), app = try TestPackages.app(), top = try TestPackages.imageFiles()
        let request = try TestImage.request(busybox: busybox, app: app, top: top)
        let first = try assembler.assemble(request)

        // With every source file gone, the same request can only succeed from the cache.
        for fixture in [busybox, app, top] { try FileManager.default.removeItem(atPath: fixture.scratch.path("content")) }
        let again = try assembler.assemble(request)
        XCTAssertEqual(again, first)

        // Without the cache it is the same image, written from scratch (fresh fixtures).
        let plainScratch = try ScratchDirectory(prefix: "pkglayer-oci-nocache")
        let fresh = (try TestPackages.busybox(), try TestPackages.app(), try TestPackages.imageFiles())
        let plain = try ImageAssembler(store: try BlobStore(root: plainScratch.path))
            .assemble(try TestImage.request(busybox: fresh.0, app: fresh.1, top: fresh.2))
        withExtendedLifetime(fresh) {}
        XCTAssertEqual(plain.manifest.digest, first.manifest.digest)

        // One package changes: only its layer is new.
        let changedApp = try TestPackages.app()
        try changedApp.file("/usr/share/app/NEWS", "1.0-2\n")
        let changed = try assembler.assemble(try TestImage.request(busybox: busybox, app: changedApp, top: top))
        XCTAssertEqual(changed.layers[0], first.layers[0])
        XCTAssertNotEqual(changed.layers[1].descriptor.digest, first.layers[1].descriptor.digest)
        XCTAssertEqual(changed.layers[2], first.layers[2])
    }

    func testTheKeyFollowsWhatReachesTheBytes() throws {
        let fixture = try ManifestFixture()
        try fixture.file("/etc/a.conf", "a\n")
        let manifest = try fixture.manifest()
        let key = LayerCache.key(for: manifest, compressionLevel: 6)
        XCTAssertNotNil(key)
        XCTAssertNotEqual(key, LayerCache.key(for: manifest, compressionLevel: 9))
        // Moving the source elsewhere does not change the key; the mode does.
        XCTAssertEqual(key, LayerCache.key(for: manifest.mapEntries { $0.sourcePath = "/elsewhere" }, compressionLevel: 6))
        XCTAssertNotEqual(key, LayerCache.key(for: manifest.mapEntries { if $0.kind == .file { $0.mode = 0o600 } }, compressionLevel: 6))
        // Content without a digest cannot be trusted to a key.
        XCTAssertNil(LayerCache.key(for: manifest.mapEntries { $0.sha256 = nil }, compressionLevel: 6))
    }

    func testAHitWhoseBlobIsGoneIsWrittenAgain() throws {
        let fixture = try ManifestFixture()
        try fixture.file("/etc/a.conf", "a\n")
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-cache")
        let store = try BlobStore(root: scratch.path("store"))
        let writer = LayerWriter(cache: try LayerCache(directory: scratch.path("cache")))
        let layer = try writer.write(try fixture.manifest(), to: store)
        try FileManager.default.removeItem(atPath: store.path(for: layer.descriptor.digest))
        XCTAssertEqual(try writer.write(try fixture.manifest(), to: store), layer)
        XCTAssertTrue(store.has(layer.descriptor.digest, size: layer.descriptor.size))
    }

    func testAHardlinkToAGhostIsRefused() throws {
        let fixture = try ManifestFixture()
        try fixture.file("/var/log/app.log", "")
        fixture.hardlink("/var/log/app.log.1", to: "/var/log/app.log")
        let manifest = try fixture.manifest().mapEntries { if $0.path == "/var/log/app.log" { $0.flags.insert(.ghost) } }
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-ghost")
        XCTAssertThrowsError(try LayerWriter().write(manifest, to: try BlobStore(root: scratch.path))) { error in
            XCTAssertTrue("\(error)".contains("ghost"), "\(error)")
        }
    }
}
