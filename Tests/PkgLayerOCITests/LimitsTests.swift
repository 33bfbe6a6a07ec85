import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// Image JSON past the distribution spec's 4 MiB and manifests with absurd layer counts are refused
/// (docs/limits.md).
final class OCILimitsTests: XCTestCase {
    func makeLayout(_ scratch: ScratchDirectory) throws -> (path: String, reader: OCILayoutReader) {
        let path = try scratch.makeDirectory("layout")
        try scratch.write("layout/oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)
        try scratch.write("layout/index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        return (path, try OCILayoutReader(path: path))
    }

    func manifest(layers: Int, padding: Int = 0) -> [UInt8] {
        let digest = { (i: Int) in Digest.sha256(Array("blob \(i)".utf8)).description }
        let layerList = (0..<layers).map { #"{"mediaType":"\#(OCIMediaType.layerGzip)","digest":"\#(digest($0))","size":10}"# }
        let json = #"{"schemaVersion":2,"mediaType":"\#(OCIMediaType.imageManifest)","config":{"mediaType":"\#(OCIMediaType.imageConfig)","digest":"\#(digest(-1))","size":10},"layers":[\#(layerList.joined(separator: ","))],"annotations":{"pad":"\#(String(repeating: "x", count: padding))"}}"#
        return Array(json.utf8)
    }

    func testIndexJSONPastTheLimitIsRefusedBeforeItIsRead() throws {
        let scratch = try ScratchDirectory()
        let (path, reader) = try makeLayout(scratch)
        XCTAssertEqual(try reader.index(), [])
        try scratch.write("layout/index.json", #"{"schemaVersion":2,"manifests":[],"annotations":{"pad":"\#(String(repeating: "x", count: 5 << 20))"}}"#)
        let error = assertLimitExceeded(.ociJSONBytes, mentions: ["the file is 5", "PKGLAYER_MAX_OCI_JSON_BYTES="]) { try reader.index() }
        XCTAssertEqual(error?.location, path + "/index.json")
    }

    func testManifestBlobPastTheLimit() throws {
        let scratch = try ScratchDirectory()
        let (_, reader) = try makeLayout(scratch)
        let descriptor = try reader.store.put(manifest(layers: 1, padding: 5 << 20), mediaType: OCIMediaType.imageManifest)
        assertLimitExceeded(.ociJSONBytes, mentions: ["blob \(descriptor.digest) is 5"]) { try reader.reachableBlobs(from: descriptor) }
        let target = try BlobStore(root: scratch.path("target"))
        assertLimitExceeded(.ociJSONBytes) {
            try BaseImage.fromManifest(descriptor, in: reader.store, into: target, name: "base", architecture: .x86_64)
        }
    }

    func testTooManyLayers() throws {
        let scratch = try ScratchDirectory()
        let (_, reader) = try makeLayout(scratch)
        let small = try reader.store.put(manifest(layers: 3), mediaType: OCIMediaType.imageManifest)
        XCTAssertEqual(try reader.reachableBlobs(from: small).count, 5)
        let many = try reader.store.put(manifest(layers: 1001), mediaType: OCIMediaType.imageManifest)
        assertLimitExceeded(.ociLayers, mentions: ["layer count is 1001", "PKGLAYER_MAX_OCI_LAYERS="]) { try reader.reachableBlobs(from: many) }
        InputLimits.$current.withValue(.lowered([.ociLayers: 2])) {
            assertLimitExceeded(.ociLayers) { try reader.reachableBlobs(from: small) }
        }
    }
}
