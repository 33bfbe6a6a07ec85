import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// Every output judged by the program that consumes it: oci-image-tool, skopeo, umoci and runc.
final class ImageOutputTests: XCTestCase {
    struct Built {
        let scratch: ScratchDirectory
        let store: BlobStore
        let image: AssembledImage
        let layout: String
        let ociArchive: String
        let dockerArchive: String
        let fixtures: [ManifestFixture]
    }

    static let tag = "1.0"
    static let repoTag = "pkglayer.test/busybox-app:1.0"

    func build(withApp: Bool = true) throws -> Built {
        let busybox = try TestPackages.busybox(), app = try TestPackages.app(), top = try TestPackages.imageFiles()
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-image")
        let store = try BlobStore(root: scratch.path("store"))
        let image = try ImageAssembler(store: store).assemble(try TestImage.request(busybox: busybox, app: withApp ? app : nil, top: top))
        let layout = scratch.path("layout")
        try OCILayoutWriter.write([TaggedImage(image, tag: Self.tag)], from: store, to: layout)
        let ociArchive = scratch.path("image.oci.tar")
        try OCIArchiveWriter.write([TaggedImage(image, tag: Self.tag)], from: store, to: ociArchive, epoch: TestImage.epoch)
        let dockerArchive = scratch.path("image.docker.tar")
        try DockerArchiveWriter.write(image, repoTags: [Self.repoTag], from: store, to: dockerArchive, epoch: TestImage.epoch)
        return Built(scratch: scratch, store: store, image: image, layout: layout, ociArchive: ociArchive,
                     dockerArchive: dockerArchive, fixtures: [busybox, app, top])
    }

    func testOCIImageToolValidatesTheLayout() throws {
        try requireTool("oci-image-tool", "busybox")
        let built = try build()
        // Without --ref every ref in index.json is checked: its manifest, config and each layer blob.
        let all = try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", built.layout])
        XCTAssertTrue((all.stdoutText + all.stderrText).contains("Validation succeeded"), all.stdoutText + all.stderrText)
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", "--ref", "name=\(Self.tag)", built.layout])
        // The oci-archive is the same layout as a tar. (oci-image-tool 1.0.0-rc1 cannot walk any layout
        // tar that has layers, umoci's included: "find failed: unable to walk: end of walk"; so it judges
        // the archive unpacked by GNU tar.)
        let unpacked = try built.scratch.makeDirectory("unpacked-archive")
        try TestProcess.runChecked("tar", ["-xf", built.ociArchive, "-C", unpacked])
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", unpacked])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(unpacked)/index.json")),
                       try Data(contentsOf: URL(fileURLWithPath: "\(built.layout)/index.json")))
        // And the checker does look: a layer blob with one byte changed fails it.
        let broken = built.scratch.path("broken")
        try FileManager.default.copyItem(atPath: built.layout, toPath: broken)
        let victim = "\(broken)/blobs/sha256/\(built.image.layers[1].descriptor.digest.hex)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        bytes[bytes.count / 2] ^= 0xFF
        try FileManager.default.removeItem(atPath: victim)
        try bytes.write(to: URL(fileURLWithPath: victim))
        XCTAssertFalse(try TestProcess.run("oci-image-tool", ["validate", "--type", "image", broken]).succeeded)
        let layoutFile = try String(contentsOfFile: "\(built.layout)/oci-layout")
        XCTAssertEqual(layoutFile, #"{"imageLayoutVersion":"1.0.0"}"#)
        let index = try String(contentsOfFile: "\(built.layout)/index.json")
        XCTAssertTrue(index.contains(#""org.opencontainers.image.ref.name":"1.0""#), index)
    }

    func testSkopeoReadsLayoutOCIArchiveAndDockerArchive() throws {
        try requireTool("skopeo", "busybox")
        let built = try build()
        let manifestDigest = built.image.manifest.digest.description
        let layerDigests = built.image.layers.map { $0.descriptor.digest.description }
        let arch = Architecture.native.oci.architecture

        for reference in ["oci:\(built.layout):\(Self.tag)", "oci-archive:\(built.ociArchive):\(Self.tag)"] {
            let info = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", reference]))
            XCTAssertEqual(info["Digest"] as? String, manifestDigest, reference)
            XCTAssertEqual(info["Layers"] as? [String], layerDigests, reference)
            XCTAssertEqual(info["Architecture"] as? String, arch, reference)
            XCTAssertEqual(info["Os"] as? String, "linux", reference)
            XCTAssertEqual(info["Created"] as? String, "2023-11-14T22:13:20Z", reference)

            let raw = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--raw", reference]))
            let layerAnnotations = (raw["layers"] as? [[String: Any]] ?? []).map { ($0["annotations"] as? [String: String]) ?? [:] }
            XCTAssertEqual(layerAnnotations.map { $0[LayerOrigin.nameAnnotation] }, ["busybox-static", "app", "image files"], reference)
            XCTAssertEqual(layerAnnotations.map { $0[LayerOrigin.versionAnnotation] }, ["1:1.35.0-4", "1.0-1", nil], reference)

            let config = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--config", reference]))
            let history = (config["history"] as? [[String: Any]] ?? []).compactMap { $0["created_by"] as? String }
            XCTAssertEqual(history, ["pkglayer: busybox-static 1:1.35.0-4 (deb)", "pkglayer: app 1.0-1 (rpm)", "pkglayer: image files"], reference)
            let runConfig = config["config"] as? [String: Any] ?? [:]
            XCTAssertEqual(runConfig["Cmd"] as? [String], ["/bin/echo", "hello-from-pkglayer"])
            XCTAssertNotNil((runConfig["ExposedPorts"] as? [String: Any])?["8080/tcp"])
            // skopeo's parsed view knows only OCI fields; Docker's Healthcheck is in the raw config.
            let rawConfig = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--raw", "--config", reference]))
            XCTAssertEqual(((rawConfig["config"] as? [String: Any])?["Healthcheck"] as? [String: Any])?["Test"] as? [String], ["CMD", "/bin/echo", "ok"])
            let diffIDs = (config["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
            XCTAssertEqual(diffIDs, built.image.layers.map { $0.diffID.description })
        }

        // docker-archive: the layers are the uncompressed tars, so skopeo reports the diff IDs.
        let docker = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "docker-archive:\(built.dockerArchive)"]))
        XCTAssertEqual(docker["Layers"] as? [String], built.image.layers.map { $0.diffID.description })
        XCTAssertEqual(docker["Architecture"] as? String, arch)
        XCTAssertEqual(docker["RepoTags"] as? [String], [], "skopeo lists registry tags here; the archive's tag is checked below")
        let dockerConfig = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--raw", "--config", "docker-archive:\(built.dockerArchive)"]))
        XCTAssertEqual((dockerConfig["history"] as? [[String: Any]])?.count, 3)
        // The docker-archive's own members, as `docker load` reads them.
        let members = try TestProcess.runChecked("tar", ["-tf", built.dockerArchive]).stdoutText.split(separator: "\n").map(String.init)
        var expectedMembers = ["\(built.image.config.digest.hex).json"]
        for layer in built.image.layers { expectedMembers += ["\(layer.diffID.hex)/", "\(layer.diffID.hex)/layer.tar"] }
        XCTAssertEqual(members, expectedMembers + ["manifest.json"])
        let dockerManifest = try TestProcess.runChecked("tar", ["-xOf", built.dockerArchive, "manifest.json"]).stdoutText
        XCTAssertEqual(dockerManifest, #"[{"Config":"\#(built.image.config.digest.hex).json","Layers":["#
            + built.image.layers.map { "\"\($0.diffID.hex)/layer.tar\"" }.joined(separator: ",") + #"],"RepoTags":["\#(Self.repoTag)"]}]"#)
        // Both archives: owner 0:0, every mtime the epoch.
        for archive in [built.dockerArchive, built.ociArchive] {
            let listing = try TestProcess.runChecked("tar", ["--numeric-owner", "--full-time", "-tvf", archive], environment: ["TZ": "UTC"]).stdoutText
            for line in listing.split(separator: "\n") {
                XCTAssertTrue(line.contains(" 0/0 ") && line.contains("2023-11-14 22:13:20"), "\(archive): \(line)")
            }
        }
        // Copying reads and verifies every layer against its digest.
        let copied = built.scratch.path("copied")
        try TestProcess.runChecked("skopeo", ["copy", "docker-archive:\(built.dockerArchive)", "oci:\(copied):copy"])
        try TestProcess.runChecked("skopeo", ["copy", "docker-archive:\(built.dockerArchive):\(Self.repoTag)", "oci:\(copied):bytag"])
        try TestProcess.runChecked("skopeo", ["copy", "oci-archive:\(built.ociArchive):\(Self.tag)", "oci:\(copied):fromarchive"])
    }

    func testUmociUnpacksAndRuncRunsTheImage() throws {
        try requireTool("umoci", "runc", "getcap", "busybox")
        let built = try build()
        let bundle = built.scratch.path("bundle")
        try TestProcess.runChecked("umoci", ["unpack", "--image", "\(built.layout):\(Self.tag)", bundle])
        let rootfs = "\(bundle)/rootfs"

        var info = stat()
        XCTAssertEqual(lstat("\(rootfs)/usr/bin/suid-helper", &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o4755, "the setuid bit survives")
        XCTAssertEqual(lstat("\(rootfs)/var/lib/app/state", &info), 0)
        XCTAssertEqual([info.st_uid, info.st_gid], [101, 102])
        XCTAssertEqual(info.st_mode & 0o7777, 0o640)
        XCTAssertEqual(lstat("\(rootfs)/tmp", &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o1777)
        var app = stat(), link = stat()
        XCTAssertEqual(lstat("\(rootfs)/usr/bin/app", &app), 0)
        XCTAssertEqual(lstat("\(rootfs)/usr/bin/app-link", &link), 0)
        XCTAssertEqual(app.st_ino, link.st_ino, "the hardlink is a hardlink")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(rootfs)/bin/sh"), "busybox")
        let caps = try TestProcess.runChecked("getcap", ["\(rootfs)/usr/bin/pinger"]).stdoutText
        XCTAssertTrue(caps.contains("cap_net_raw=ep"), "the capability survives: '\(caps)'")

        // The generated runtime config: no terminal, run the greeting.
        let runc = RuncBundle(path: bundle)
        try runc.configure(args: ["/bin/echo", "hello-from-pkglayer"])
        let run = try runc.run()
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "hello-from-pkglayer", run.stderrText)
    }

    func testTwoAssembliesInOtherDirectoriesAndLaterGiveTheSameBytes() throws {
        try requireTool("busybox")
        let first = try build()
        sleep(1)
        let second = try build()
        XCTAssertNotEqual(first.layout, second.layout)
        XCTAssertEqual(first.image.manifest.digest, second.image.manifest.digest)
        XCTAssertEqual(first.image, second.image)
        for path in [\Built.ociArchive, \Built.dockerArchive] {
            let a = try Data(contentsOf: URL(fileURLWithPath: first[keyPath: path]))
            let b = try Data(contentsOf: URL(fileURLWithPath: second[keyPath: path]))
            XCTAssertEqual(Digest.sha256(a), Digest.sha256(b), first[keyPath: path])
        }
        let indexA = try Data(contentsOf: URL(fileURLWithPath: "\(first.layout)/index.json"))
        let indexB = try Data(contentsOf: URL(fileURLWithPath: "\(second.layout)/index.json"))
        XCTAssertEqual(indexA, indexB)
    }

    func testImagesSharingAPackageShareItsLayer() throws {
        try requireTool("busybox")
        let withApp = try build(withApp: true)
        let without = try build(withApp: false)
        XCTAssertNotEqual(withApp.image.manifest.digest, without.image.manifest.digest)
        XCTAssertEqual(withApp.image.layers[0].descriptor.digest, without.image.layers[0].descriptor.digest, "the busybox layer")
        XCTAssertEqual(withApp.image.layers.last!.descriptor.digest, without.image.layers.last!.descriptor.digest, "the image files")
        XCTAssertEqual(without.image.layers.count, 2)
    }

    func testAddingImagesToALayoutKeepsTheOtherTagsAndDropsUnreachableBlobs() throws {
        try requireTool("oci-image-tool", "skopeo", "busybox")
        let full = try build(withApp: true)
        let small = try build(withApp: false)
        let layout = full.scratch.path("shared")
        try OCILayoutWriter.add([TaggedImage(full.image, tag: "full")], from: full.store, to: layout)
        try OCILayoutWriter.add([TaggedImage(small.image, tag: "small"), TaggedImage(small.image, tag: "latest")], from: small.store, to: layout)
        let reader = try OCILayoutReader(path: layout)
        XCTAssertEqual(try reader.index().compactMap { $0.annotations[OCIAnnotation.refName] }, ["full", "small", "latest"])
        XCTAssertEqual(try reader.manifest(tagged: "full")?.digest, full.image.manifest.digest)
        for tag in ["full", "small", "latest"] {
            let info = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "oci:\(layout):\(tag)"]))
            XCTAssertNotNil(info["Digest"], tag)
        }
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", layout])
        let blobCount = { try FileManager.default.contentsOfDirectory(atPath: "\(layout)/blobs/sha256").count }
        // full: 3 layers + config + manifest; small adds its own config and manifest (its layers are shared).
        XCTAssertEqual(try blobCount(), 7)

        // Moving "full" to the small image leaves the app layer and full's config and manifest unreachable.
        try OCILayoutWriter.add([TaggedImage(small.image, tag: "full")], from: small.store, to: layout)
        XCTAssertEqual(try OCILayoutReader(path: layout).index().compactMap { $0.annotations[OCIAnnotation.refName] }, ["small", "latest", "full"])
        XCTAssertEqual(try blobCount(), 4)
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", layout])
        XCTAssertThrowsError(try OCILayoutReader(path: full.scratch.path("store")), "a blob store is not a layout")
    }

    func testADockerArchiveFromALayoutEqualsTheOneFromTheAssembly() throws {
        try requireTool("skopeo", "busybox")
        let built = try build()
        let fromLayout = built.scratch.path("from-layout.docker.tar")
        try DockerArchiveWriter.write(layout: try OCILayoutReader(path: built.layout), tag: Self.tag, repoTags: [Self.repoTag],
                                      to: fromLayout, epoch: TestImage.epoch)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fromLayout)), try Data(contentsOf: URL(fileURLWithPath: built.dockerArchive)))

        // A layout pkglayer did not write: skopeo's copy of ours (its own index.json and blob files).
        let foreign = built.scratch.path("foreign")
        try TestProcess.runChecked("skopeo", ["copy", "oci:\(built.layout):\(Self.tag)", "oci:\(foreign):other"])
        let converted = built.scratch.path("foreign.docker.tar")
        try DockerArchiveWriter.write(layout: try OCILayoutReader(path: foreign), tag: "other", repoTags: ["foreign/image:other"],
                                      to: converted, epoch: TestImage.epoch)
        let info = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "docker-archive:\(converted)"]))
        XCTAssertEqual(info["Layers"] as? [String], built.image.layers.map { $0.diffID.description })
        XCTAssertThrowsError(try DockerArchiveWriter.write(layout: try OCILayoutReader(path: foreign), tag: "missing", repoTags: [],
                                                           to: built.scratch.path("none.tar"), epoch: TestImage.epoch))
    }

    func testTheArchitectureComesFromCoreInEveryPlace() throws {
        try requireTool("skopeo", "oci-image-tool", "busybox")
        let fixture = try ManifestFixture()
        try fixture.file("/etc/os-release", "ID=pkglayer\n")
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-arch")
        let store = try BlobStore(root: scratch.path("store"))
        let image = try ImageAssembler(store: store).assemble(ImageRequest(
            layers: [LayerSource(manifest: try fixture.manifest(), origin: LayerOrigin(name: "os-release"))],
            epoch: TestImage.epoch, architecture: .aarch64))
        let layout = scratch.path("layout")
        try OCILayoutWriter.write([TaggedImage(image, tag: "arm")], from: store, to: layout)
        let config = try jsonObject(try TestProcess.runChecked("skopeo", ["inspect", "--config", "oci:\(layout):arm"]))
        XCTAssertEqual(config["architecture"] as? String, "arm64")
        XCTAssertEqual(config["variant"] as? String, "v8")
        XCTAssertEqual(config["os"] as? String, "linux")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(layout)/index.json"))) as! [String: Any]
        let platform = ((index["manifests"] as? [[String: Any]])?.first?["platform"]) as? [String: String]
        XCTAssertEqual(platform, ["architecture": "arm64", "os": "linux", "variant": "v8"])
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", layout])
    }

    func testLayoutWritesAreAtomicAndRefuseToClobber() throws {
        try requireTool("busybox")
        let built = try build()
        let images = [TaggedImage(built.image, tag: Self.tag)]
        XCTAssertThrowsError(try OCILayoutWriter.write(images, from: built.store, to: built.layout)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .fileExists)
        }
        XCTAssertThrowsError(try OCIArchiveWriter.write(images, from: built.store, to: built.ociArchive, epoch: TestImage.epoch))
        try OCILayoutWriter.write(images + [TaggedImage(built.image, tag: "latest")], from: built.store, to: built.layout, overwrite: true)
        let index = try String(contentsOfFile: "\(built.layout)/index.json")
        XCTAssertTrue(index.contains(#""org.opencontainers.image.ref.name":"latest""#), index)
        XCTAssertThrowsError(try OCILayoutWriter.write(images + images, from: built.store, to: built.layout, overwrite: true),
                             "a tag used twice")
        XCTAssertThrowsError(try OCILayoutWriter.write([TaggedImage(built.image, tag: "bad tag")], from: built.store,
                                                       to: built.scratch.path("other")))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: built.scratch.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no staging directory or temporary file is left behind")
    }
}
