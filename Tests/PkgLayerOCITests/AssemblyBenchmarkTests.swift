import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// Opt-in (PKGLAYER_OCI_BENCH=1): times a cold assembly of a real tree against `umoci insert` of the
/// same tree, a warm assembly with one package changed, and a no-op, and prints the ratios. Nothing
/// is asserted on time; the figures belong in the benchmark report.
final class AssemblyBenchmarkTests: XCTestCase {
    func testPrintAssemblyRatiosAgainstUmoci() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_OCI_BENCH"] == "1" else {
            throw XCTSkip("set PKGLAYER_OCI_BENCH=1 to run the assembly benchmark")
        }
        try requireTool("umoci", "busybox")
        let tree = ProcessInfo.processInfo.environment["PKGLAYER_OCI_BENCH_TREE"] ?? "/usr/lib/python3.11"
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-bench")

        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        // umoci: a fresh layout and image, then one layer from the tree.
        let umociLayout = scratch.path("umoci")
        try TestProcess.runChecked("umoci", ["init", "--layout", umociLayout])
        try TestProcess.runChecked("umoci", ["new", "--image", "\(umociLayout):t"])
        let umoci = try seconds {
            try TestProcess.runChecked("umoci", ["insert", "--image", "\(umociLayout):t", tree, "/tree"])
        }

        let umociBlobs = "\(umociLayout)/blobs/sha256"
        let umociLayerSize = try FileManager.default.contentsOfDirectory(atPath: umociBlobs)
            .map { (try FileManager.default.attributesOfItem(atPath: "\(umociBlobs)/\($0)")[.size] as? Int) ?? 0 }.max() ?? 0

        // pkglayer, from cold: walk and hash the tree, write the layer, the config, the manifest, the layout.
        let busybox = try TestPackages.busybox(), top = try TestPackages.imageFiles()
        let store = try BlobStore(root: scratch.path("store"))
        let cache = try LayerCache(directory: scratch.path("cache"))
        let level = Int(ProcessInfo.processInfo.environment["PKGLAYER_OCI_BENCH_LEVEL"] ?? "") ?? 6
        let assembler = ImageAssembler(store: store, layerWriter: LayerWriter(compressionLevel: level, cache: cache))
        func request(_ treeManifest: FileManifest) throws -> ImageRequest {
            var request = try TestImage.request(busybox: busybox, app: nil, top: top)
            request.layers.append(LayerSource(manifest: treeManifest, origin: LayerOrigin(name: "tree", version: "1")))
            return request
        }
        func treeManifest() throws -> FileManifest {
            var builder = ManifestBuilder(inputs: [.init(source: tree, destination: "/tree")])
            builder.sourceDateEpoch = TestImage.epoch
            return try builder.build().manifest
        }
        var layoutCount = 0
        func assembleToLayout(_ request: ImageRequest) throws {
            let image = try assembler.assemble(request)
            if layoutCount == 0 { print("oci-bench level \(level): tree layer \(image.layers[image.layers.count - 2].descriptor.size) bytes, umoci's \(umociLayerSize) bytes") }
            layoutCount += 1
            try OCILayoutWriter.write([TaggedImage(image, tag: "t")], from: store, to: scratch.path("layout\(layoutCount)"))
        }
        var walk = 0.0
        let cold = try seconds {
            var walked: FileManifest?
            walk = try seconds { walked = try treeManifest() }
            try assembleToLayout(try request(walked!))
        }
        let manifest = try treeManifest()
        let changedBusybox = try TestPackages.busybox()
        try changedBusybox.file("/etc/busybox.conf", "changed\n")
        let oneChanged = try seconds {
            var changed = try request(manifest)
            changed.layers[0] = LayerSource(manifest: try changedBusybox.manifest(), origin: LayerOrigin(name: "busybox-static", version: "2"))
            try assembleToLayout(changed)
        }
        let noop = try seconds { try assembleToLayout(try request(manifest)) }
        print(String(format: "oci-bench tree=%@ umoci-insert=%.3fs pkglayer-cold=%.3fs (%.2fx umoci) (walk+hash %.3fs) one-changed=%.3fs (%.3fx cold) no-op=%.3fs",
                     tree, umoci, cold, cold / umoci, walk, oneChanged, oneChanged / cold, noop))
    }
}
