import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// Rootfs tarballs (`pkglayer import`), layouts and stored images as bases, judged by umoci and runc.
final class BaseImageTests: XCTestCase {
    static let epoch = SourceDateEpoch(1_700_000_000)

    /// A busybox root file system: /bin/busybox, applet symlinks, /etc with a passwd, /tmp sticky.
    static func busyboxRootfs(in scratch: ScratchDirectory, name: String = "rootfs.tar.gz") throws -> String {
        let tree = "tree-\(name)"
        let root = try scratch.makeDirectory(tree)
        try FileManager.default.createDirectory(atPath: "\(root)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: "\(root)/bin/busybox")
        for applet in ["sh", "echo", "ls", "cat"] { _ = try scratch.symlink("\(tree)/bin/\(applet)", to: "busybox") }
        _ = try scratch.write("\(tree)/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _ = try scratch.write("\(tree)/etc/motd", "from the base\n")
        try FileManager.default.linkItem(atPath: "\(root)/etc/motd", toPath: "\(root)/etc/motd.hard")
        _ = try scratch.makeDirectory("\(tree)/tmp", mode: 0o1777)
        let tarball = scratch.path(name)
        try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "--numeric-owner",
                                           "-czf", tarball, "-C", root, "."])
        return tarball
    }

    func importBusybox(_ scratch: ScratchDirectory, into store: ImageStore) throws -> RootfsImporter.Result {
        try RootfsImporter.importImage(tarball: try Self.busyboxRootfs(in: scratch), into: store.blobs,
                                       layerWriter: LayerWriter(cache: store.layerCache), architecture: .native,
                                       config: ContainerConfig(cmd: ["/bin/sh"], env: ["PATH=/bin", "BASE=yes"], workingDir: "/tmp",
                                                               exposedPorts: ["22"], labels: ["from": "base", "keep": "base"]))
    }

    func testImportingTheSameTarballTwiceGivesTheSameDigest() throws {
        try requireTool("busybox", "tar")
        let scratch = try ScratchDirectory(prefix: "pkglayer-import")
        let storeA = try ImageStore.open(root: scratch.path("a")), storeB = try ImageStore.open(root: scratch.path("b"))
        let first = try importBusybox(scratch, into: storeA)
        Thread.sleep(forTimeInterval: 1.1)
        let second = try RootfsImporter.importImage(tarball: try Self.busyboxRootfs(in: scratch, name: "again.tar.gz"), into: storeB.blobs,
                                                    layerWriter: LayerWriter(), architecture: .native,
                                                    config: ContainerConfig(cmd: ["/bin/sh"], env: ["PATH=/bin", "BASE=yes"], workingDir: "/tmp",
                                                                            exposedPorts: ["22"], labels: ["from": "base", "keep": "base"]))
        XCTAssertEqual(first.image.manifest.digest, second.image.manifest.digest)
        XCTAssertEqual(first.image.layers.count, 1)
        XCTAssertEqual(first.image.imageConfig.created, "2020-09-13T12:26:40Z", "created is the newest mtime, not the clock")
        XCTAssertEqual(first.skipped, [])
    }

    func testAnImportedRootfsIsABaseThatRuncRuns() throws {
        try requireTool("umoci", "runc", "busybox", "oci-image-tool", "skopeo", "tar")
        let scratch = try ScratchDirectory(prefix: "pkglayer-import")
        let store = try ImageStore.open(root: scratch.path("cache"))
        let imported = try importBusybox(scratch, into: store)
        try store.tag(imported.image, as: "busybox-rootfs:1")

        let base = try XCTUnwrap(try BaseImage.resolve("busybox-rootfs:1", store: store, architecture: .native))
        XCTAssertEqual(base.layers.map(\.descriptor.digest), imported.image.layers.map(\.descriptor.digest))
        let app = try TestPackages.app()
        defer { withExtendedLifetime(app) {} }
        var request = ImageRequest(layers: [LayerSource(manifest: try app.manifest(), origin: LayerOrigin(name: "app", version: "1.0-1", format: "rpm"))],
                                   config: ContainerConfig(entrypoint: ["/usr/bin/app"], env: ["BASE=overridden", "APP=1"], labels: ["keep": "app"]),
                                   epoch: Self.epoch, architecture: .native)
        request.base = base
        let image = try ImageAssembler(store: store.blobs, layerWriter: LayerWriter(cache: store.layerCache)).assemble(request)
        try store.tag(image, as: "app-on-busybox")

        XCTAssertEqual(image.layers.count, 2)
        XCTAssertEqual(image.layers[0].descriptor.digest, imported.image.layers[0].descriptor.digest, "the base layer is shared, not rewritten")
        XCTAssertEqual(image.imageConfig.diffIDs[0], imported.image.layers[0].diffID)
        XCTAssertEqual(image.imageConfig.history.map(\.createdBy), ["pkglayer: rootfs (tar)", "pkglayer: app 1.0-1 (rpm)"])
        XCTAssertEqual(image.imageManifest.annotations[OCIAnnotation.baseName], "busybox-rootfs:1")
        XCTAssertEqual(image.imageManifest.annotations[OCIAnnotation.baseDigest], imported.image.manifest.digest.description)
        // Inherited config: env merged by name, cmd dropped because the entrypoint changed, workdir, ports and labels kept.
        let config = image.imageConfig.config
        XCTAssertEqual(config.env, ["PATH=/bin", "BASE=overridden", "APP=1"])
        XCTAssertEqual(config.entrypoint, ["/usr/bin/app"])
        XCTAssertNil(config.cmd)
        XCTAssertEqual(config.workingDir, "/tmp")
        XCTAssertEqual(config.exposedPorts, ["22/tcp"])
        XCTAssertEqual(config.labels, ["from": "base", "keep": "app"])

        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store.path])
        let raw = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--config", "oci:\(store.path):app-on-busybox:latest"]))
        XCTAssertEqual((raw["config"] as? [String: Any])?["WorkingDir"] as? String, "/tmp")

        let bundle = scratch.path("bundle")
        try TestProcess.runChecked("umoci", ["unpack", "--image", "\(store.path):app-on-busybox:latest", bundle])
        let rootfs = "\(bundle)/rootfs"
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(rootfs)/bin/echo"), "busybox")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(rootfs)/usr/bin/app"), "the package layer is on top")
        var motd = stat(), hard = stat(), tmp = stat()
        XCTAssertEqual(lstat("\(rootfs)/etc/motd", &motd), 0)
        XCTAssertEqual(lstat("\(rootfs)/etc/motd.hard", &hard), 0)
        XCTAssertEqual(motd.st_ino, hard.st_ino, "the tarball's hardlink stays a hardlink")
        XCTAssertEqual(lstat("\(rootfs)/tmp", &tmp), 0)
        XCTAssertEqual(tmp.st_mode & 0o7777, 0o1777)

        let runc = RuncBundle(path: bundle)
        try runc.configure(args: ["/bin/busybox", "echo", "hello-from-the-base"])
        let run = try runc.run()
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "hello-from-the-base", run.stderrText)
    }

    func testABaseFromAnOCILayoutKeepsItsHistoryAndConfig() throws {
        try requireTool("busybox", "oci-image-tool", "umoci")
        let scratch = try ScratchDirectory(prefix: "pkglayer-base-layout")
        // The base: the standard test image, written as a layout somewhere else.
        let other = try BlobStore(root: scratch.path("elsewhere"))
        let busybox = try TestPackages.busybox(), top = try TestPackages.imageFiles(), app = try TestPackages.app()
        defer { withExtendedLifetime((busybox, top, app)) {} }
        let baseImage = try ImageAssembler(store: other).assemble(try TestImage.request(busybox: busybox, app: nil, top: top))
        let layout = scratch.path("base-layout")
        try OCILayoutWriter.write([TaggedImage(baseImage, tag: "v1")], from: other, to: layout)

        let store = try ImageStore.open(root: scratch.path("cache"))
        for spec in ["oci-layout:\(layout):v1", "oci-layout:\(layout)", layout] {
            let base = try XCTUnwrap(try BaseImage.resolve(spec, store: store, architecture: .native), spec)
            XCTAssertEqual(base.manifestDigest, baseImage.manifest.digest, spec)
            XCTAssertEqual(base.history, baseImage.imageConfig.history, spec)
            XCTAssertEqual(base.config.json.canonical, baseImage.imageConfig.config.json.canonical, "the config reads back as it was written: \(spec)")
        }
        XCTAssertThrowsError(try BaseImage.resolve("oci-layout:\(layout):nope", store: store, architecture: .native)) { error in
            XCTAssertTrue("\(error)".contains("v1"), "the error lists the tags: \(error)")
        }
        XCTAssertThrowsError(try BaseImage.resolve("no-such-image", store: store, architecture: .native))
        XCTAssertNil(try BaseImage.resolve("scratch", store: store, architecture: .native))

        let base = try BaseImage.resolve("oci-layout:\(layout):v1", store: store, architecture: .native)
        for blob in baseImage.layers { XCTAssertTrue(store.blobs.has(blob.descriptor.digest), "base blobs are in the store") }
        var request = ImageRequest(layers: [LayerSource(manifest: try app.manifest(), origin: LayerOrigin(name: "app"))],
                                   config: ContainerConfig(cmd: ["/usr/bin/app"]), epoch: Self.epoch, architecture: .native)
        request.base = base
        let image = try ImageAssembler(store: store.blobs).assemble(request)
        XCTAssertEqual(image.layers.count, baseImage.layers.count + 1)
        XCTAssertEqual(Array(image.imageConfig.history.prefix(baseImage.layers.count)), baseImage.imageConfig.history)
        XCTAssertEqual(image.layers.first?.descriptor.annotations[LayerOrigin.nameAnnotation], "busybox-static", "the base's layer annotations stay")
        let config = image.imageConfig.config
        XCTAssertEqual(config.cmd, ["/usr/bin/app"])
        XCTAssertEqual(config.env, ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"])
        XCTAssertEqual(config.user, "0:0")
        XCTAssertEqual(config.healthcheck, baseImage.imageConfig.config.healthcheck)
        XCTAssertEqual(Set(config.volumes), ["/var/lib/app"])

        // The same request in another store (another directory) gives the same image.
        let store2 = try ImageStore.open(root: scratch.path("cache2"))
        request.base = try BaseImage.resolve("oci-layout:\(layout):v1", store: store2, architecture: .native)
        XCTAssertEqual(try ImageAssembler(store: store2.blobs).assemble(request).manifest.digest, image.manifest.digest)

        try store.tag(image, as: "on-layout")
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store.path])
        let bundle = scratch.path("bundle")
        try TestProcess.runChecked("umoci", ["unpack", "--image", "\(store.path):on-layout:latest", bundle])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(bundle)/rootfs/bin/busybox"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(bundle)/rootfs/usr/bin/app"))
    }

    func testABaseOfAnotherArchitectureIsRefused() throws {
        try requireTool("busybox")
        let scratch = try ScratchDirectory(prefix: "pkglayer-base-arch")
        let store = try ImageStore.open(root: scratch.path("cache"))
        let busybox = try TestPackages.busybox(), top = try TestPackages.imageFiles()
        let image = try withExtendedLifetime((busybox, top)) {
            try ImageAssembler(store: store.blobs).assemble(try TestImage.request(busybox: busybox, app: nil, top: top))
        }
        try store.tag(image, as: "native")
        let foreign: Architecture = Architecture.native == .aarch64 ? .x86_64 : .aarch64
        XCTAssertThrowsError(try BaseImage.resolve("native", store: store, architecture: foreign)) { error in
            XCTAssertTrue("\(error)".contains("same platform"), "\(error)")
        }
    }

    func testHostileRootfsTarballsAreRefusedWithNothingWritten() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-import-hostile")
        let script = """
        import io, sys, tarfile
        def make(path, members):
            with tarfile.open(path, "w") as t:
                for name, kind, extra in members:
                    info = tarfile.TarInfo(name)
                    info.mtime = 1600000000
                    if kind == "file":
                        data = b"x\\n"; info.size = len(data); t.addfile(info, io.BytesIO(data))
                    elif kind == "link":
                        info.type = tarfile.LNKTYPE; info.linkname = extra; t.addfile(info)
                    elif kind == "fifo":
                        info.type = tarfile.FIFOTYPE; t.addfile(info)
        d = sys.argv[1]
        make(d + "/dotdot.tar", [("etc/ok", "file", None), ("../escape", "file", None)])
        make(d + "/inner-dotdot.tar", [("usr/../../etc/shadow", "file", None)])
        make(d + "/link-out.tar", [("etc/ok", "file", None), ("etc/hard", "link", "../../etc/passwd")])
        make(d + "/absolute.tar", [("/etc/abs", "file", None), ("./etc/rel", "file", None), ("run/fifo", "fifo", None)])
        """
        try TestProcess.runChecked("python3", ["-c", script, scratch.path("")])
        let root = scratch.path("cache")
        for (name, member) in [("dotdot.tar", "../escape"), ("inner-dotdot.tar", "usr/../../etc/shadow"), ("link-out.tar", "../../etc/passwd")] {
            let store = try BlobStore(root: root)
            XCTAssertThrowsError(try RootfsImporter.importImage(tarball: scratch.path(name), into: store, layerWriter: LayerWriter(),
                                                               architecture: .native, scratchParent: scratch.path(""))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(member) && text.contains(".."), "the error names the entry: \(text)")
                XCTAssertEqual((error as? PkgLayerError)?.code, .pathEscapesRoot, text)
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobDirectory), [], "no blob written for \(name)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path("")).filter { $0.hasPrefix("pkglayer-import") }
        XCTAssertEqual(leftovers, [], "the import scratch directories are removed")

        // Absolute names are taken relative to the image root (as docker import does); a fifo is skipped and reported.
        let store = try BlobStore(root: scratch.path("ok"))
        let result = try RootfsImporter.importImage(tarball: scratch.path("absolute.tar"), into: store, layerWriter: LayerWriter(), architecture: .native)
        XCTAssertEqual(result.skipped, ["/run/fifo (fifo)"])
        let listing = try TestProcess.runChecked("tar", ["-tzf", store.path(for: result.image.layers[0].descriptor.digest)]).stdoutText
        XCTAssertEqual(listing.split(separator: "\n").sorted(), ["etc/", "etc/abs", "etc/rel"])
    }
}
