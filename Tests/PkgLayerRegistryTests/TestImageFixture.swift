import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport

/// A small image assembled with the real ImageAssembler and written as an OCI layout: busybox (about
/// 1 MiB compressed, so a small chunk size splits it) plus a layer of the image's own files.
struct TestImageFixture {
    static let tag = "1.0"
    let scratch: ScratchDirectory
    let layout: String
    let image: AssembledImage
    let store: BlobStore

    init(extraFile: String = "hello from pkglayer\n") throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-reg-image")
        let mtime: Int64 = 1_700_000_000
        func entry(_ path: String, _ source: String, mode: UInt32) throws -> ManifestEntry {
            let size = try FileManager.default.attributesOfItem(atPath: source)[.size] as! UInt64
            return ManifestEntry(path: path, kind: .file, mode: mode, mtime: mtime, size: size,
                                 sha256: try FileDigest.sha256Hex(path: source), sourcePath: source)
        }
        let busybox = FileManager.default.isReadableFile(atPath: "/bin/busybox") ? "/bin/busybox" : "/bin/ls"
        let copy = scratch.path("busybox")
        try FileManager.default.copyItem(atPath: busybox, toPath: copy)
        let bottom = try FileManifest(entries: [
            try entry("/bin/busybox", copy, mode: 0o755),
            ManifestEntry(path: "/bin/sh", kind: .symlink, mode: 0o777, mtime: mtime, linkTarget: "busybox"),
        ], implicitDirectoryMtime: mtime)
        let hello = try scratch.write("hello.txt", extraFile)
        let top = try FileManifest(entries: [try entry("/etc/hello.txt", hello, mode: 0o644)], implicitDirectoryMtime: mtime)
        store = try BlobStore(root: scratch.path("store"))
        let request = ImageRequest(layers: [LayerSource(manifest: bottom, origin: LayerOrigin(name: "busybox-static", version: "1", format: "deb"))],
                                   topLayer: top, config: ContainerConfig(cmd: ["/bin/sh"]), epoch: SourceDateEpoch(mtime),
                                   architecture: .native)
        image = try ImageAssembler(store: store).assemble(request)
        layout = scratch.path("layout")
        try OCILayoutWriter.write([TaggedImage(image, tag: Self.tag)], from: store, to: layout)
    }

    /// Layers and config: the blobs a push uploads.
    var blobCount: Int { image.layers.count + 1 }
}
