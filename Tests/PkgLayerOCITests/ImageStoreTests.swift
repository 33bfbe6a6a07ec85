import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// The local image store: an OCI layout under the cache root, judged by oci-image-tool and skopeo.
final class ImageStoreTests: XCTestCase {
    func assemble(into store: ImageStore, app: Bool, changed: String? = nil) throws -> AssembledImage {
        // The fixtures own the files the manifests point at: they must live until the layers are written.
        let busybox = try TestPackages.busybox(), top = try TestPackages.imageFiles()
        let appFixture = app ? try TestPackages.app() : nil
        if let changed { try busybox.file("/etc/busybox.conf", changed) }
        let request = try TestImage.request(busybox: busybox, app: appFixture, top: top)
        return try withExtendedLifetime((busybox, top, appFixture)) {
            try ImageAssembler(store: store.blobs, layerWriter: LayerWriter(cache: store.layerCache)).assemble(request)
        }
    }

    func testTaggedImagesRoundTripAndTheStoreIsAValidLayout() throws {
        try requireTool("oci-image-tool", "skopeo", "busybox")
        let scratch = try ScratchDirectory(prefix: "pkglayer-store")
        let store = try ImageStore.open(root: scratch.path("cache"))
        XCTAssertEqual(store.path, scratch.path("cache/images"))
        XCTAssertEqual(try store.list(), [])
        let full = try assemble(into: store, app: true), small = try assemble(into: store, app: false)
        try store.tag(full, as: "example.org/demo:1.0")
        try store.tag(small, as: "demo")

        let images = try store.list()
        XCTAssertEqual(images.map(\.reference), ["demo:latest", "example.org/demo:1.0"], "sorted, latest filled in")
        XCTAssertEqual(images[1].manifest.digest, full.manifest.digest)
        XCTAssertEqual(images[1].size, full.blobs.reduce(0) { $0 + $1.size })
        XCTAssertEqual(images[1].created, "2023-11-14T22:13:20Z")
        XCTAssertEqual(images[0].name, "demo")
        XCTAssertEqual(images[0].tag, "latest")

        XCTAssertEqual(try store.lookup("demo")?.manifest.digest, small.manifest.digest)
        XCTAssertEqual(try store.lookup("demo:latest")?.manifest.digest, small.manifest.digest)
        XCTAssertEqual(try store.lookup(String(full.manifest.digest.hex.prefix(12)))?.reference, "example.org/demo:1.0")
        XCTAssertEqual(try store.lookup("sha256:\(full.manifest.digest.hex)")?.reference, "example.org/demo:1.0")
        XCTAssertNil(try store.lookup("demo:2.0"))
        XCTAssertThrowsError(try store.require("nothing-here")) { error in
            XCTAssertTrue("\(error)".contains("demo:latest"), "the error lists what the store holds: \(error)")
        }
        XCTAssertThrowsError(try store.tag(full, as: "Upper:case"))

        // index.json: canonical, sorted, and what the real tools read.
        let index = try String(contentsOfFile: scratch.path("cache/images/index.json"), encoding: .utf8)
        XCTAssertLessThan(index.range(of: "demo:latest")!.lowerBound, index.range(of: "example.org/demo:1.0")!.lowerBound)
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store.path])
        let info = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "oci:\(store.path):example.org/demo:1.0"]))
        XCTAssertEqual(info["Digest"] as? String, full.manifest.digest.description)

        // A second handle on the same root sees the same images.
        let again = try ImageStore.open(root: scratch.path("cache"))
        XCTAssertEqual(try again.list(), images)
    }

    func testTaggingAgainReplacesTheImageAndUntagRemovesIt() throws {
        try requireTool("busybox")
        let scratch = try ScratchDirectory(prefix: "pkglayer-store")
        let store = try ImageStore.open(root: scratch.path("cache"))
        let first = try assemble(into: store, app: false), second = try assemble(into: store, app: true)
        XCTAssertNotEqual(first.manifest.digest, second.manifest.digest)
        try store.tag(first, as: "demo:1")
        let indexBefore = try Data(contentsOf: URL(fileURLWithPath: store.path + "/index.json"))
        try store.tag(first, as: "demo:1")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path + "/index.json")), indexBefore, "re-tagging the same image changes no byte")
        try store.tag(second, as: "demo:1")
        XCTAssertEqual(try store.list().map(\.manifest.digest), [second.manifest.digest], "one image per name:tag")
        XCTAssertTrue(try store.untag("demo:1"))
        XCTAssertFalse(try store.untag("demo:1"))
        XCTAssertEqual(try store.list(), [])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files stay behind")
    }

    func testPruneKeepsEveryReachableBlobAndRemovesTheRest() throws {
        try requireTool("oci-image-tool", "skopeo", "busybox")
        let scratch = try ScratchDirectory(prefix: "pkglayer-store")
        let root = scratch.path("cache")
        let store = try ImageStore.open(root: root)
        let kept = try assemble(into: store, app: true)
        let replaced = try assemble(into: store, app: true, changed: "old\n")
        try store.tag(replaced, as: "demo:1")
        try store.tag(kept, as: "demo:1")   // the old image's own busybox layer is now unreachable
        try store.tag(kept, as: "keep:me")
        _ = try store.blobs.put(Array("stray".utf8), mediaType: "application/octet-stream")
        try FileManager.default.createDirectory(atPath: "\(root)/outputs/abc", withIntermediateDirectories: true)
        try Data("pkg".utf8).write(to: URL(fileURLWithPath: "\(root)/outputs/abc/x.rpm"))

        let reachable = Set(kept.blobs.map(\.digest))
        let unreachable = Set(replaced.blobs.map(\.digest)).subtracting(reachable)
        XCTAssertEqual(unreachable.count, 3, "the replaced image's busybox layer, config and manifest")
        let cacheEntries = try FileManager.default.contentsOfDirectory(atPath: store.layerCache.directory).count

        let usage = try store.diskUsage()
        let images = try XCTUnwrap(usage.items.first { $0.name == "images" })
        XCTAssertEqual(images.reclaimable, replaced.blobs.filter { unreachable.contains($0.digest) }.reduce(0) { $0 + $1.size } + 5)
        XCTAssertEqual(usage.items.first { $0.name == "outputs" }?.bytes, 3)

        let dry = try store.prune(dryRun: true)
        XCTAssertEqual(Set(dry.blobs.map(\.digest)), unreachable.union([Digest.sha256(Array("stray".utf8))]))
        for digest in unreachable { XCTAssertTrue(store.blobs.has(digest), "a dry run removes nothing") }

        let report = try store.prune()
        XCTAssertEqual(report.blobs.count, 4)
        XCTAssertEqual(report.layerCacheEntries, 1, "the cache entry of the removed busybox layer")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.layerCache.directory).count, cacheEntries - 1)
        for digest in unreachable { XCTAssertFalse(store.blobs.has(digest)) }
        for blob in kept.blobs { XCTAssertTrue(store.blobs.has(blob.digest, size: blob.size), "reachable \(blob.digest) kept") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/outputs/abc/x.rpm"), "outputs stay without --all")
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store.path])
        for tag in ["demo:1", "keep:me"] {
            let info = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "oci:\(store.path):\(tag)"]))
            XCTAssertEqual(info["Digest"] as? String, kept.manifest.digest.description)
        }
        XCTAssertEqual(try store.prune().blobs.count, 0, "a second prune finds nothing")

        // Untagging the last name makes the image prunable; --all empties the outputs too.
        try store.untag("demo:1")
        XCTAssertEqual(try store.prune().blobs.count, 0, "keep:me still reaches everything")
        try store.untag("keep:me")
        let all = try store.prune(all: true)
        XCTAssertEqual(Set(all.blobs.map(\.digest)), reachable)
        XCTAssertEqual(all.directories.map(\.bytes), [3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(root)/outputs"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.blobDirectory), [])
    }

    func testPruneRefusesWhileAnotherProcessHasTheStoreOpen() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-store")
        let root = scratch.path("cache")
        let store = try ImageStore.open(root: root)
        _ = try store.blobs.put(Array("stray".utf8), mediaType: "application/octet-stream")
        // Another process holds a shared lock on the store's use lock, as a running pkglayer would: a
        // shell takes it with flock(1) on an inherited descriptor, then becomes `sleep` (same pid).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9>>\"$0\"; flock -s 9; : >\"$0.held\"; exec sleep 30", "\(root)/images.lock"]
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: "\(root)/images.lock.held") { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertThrowsError(try store.prune()) { error in
            XCTAssertTrue("\(error)".contains("another pkglayer"), "\(error)")
        }
        XCTAssertTrue(store.blobs.has(Digest.sha256(Array("stray".utf8))))
    }
}
