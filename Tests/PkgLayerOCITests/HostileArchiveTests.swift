import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// The store and `ImageStore.load` against hostile archives (issue 21), at the library level: members
/// are read back without leaving the extraction root, every blob entering the store is checked
/// against its digest, diff_ids against the layers, and the store and the layer cache do not trust a
/// damaged blob. HostileLoadTests (CLI) runs the whole corpus through `pkglayer load`.
final class HostileArchiveTests: XCTestCase {
    enum Member {
        case file(String, [UInt8])
        case dir(String)
        case symlink(String, String)
    }

    /// A plain tar of `members`, in order.
    func tar(_ path: String, _ members: [Member]) throws {
        let file = try AtomicFile(path: path, overwrite: true)
        let archive = try ArchiveWriter(format: .tarPax, sink: file)
        for member in members {
            switch member {
            case .file(let name, let bytes): try archive.writeMember(ArchiveEntryHeader(path: name, mode: 0o100644), data: bytes)
            case .dir(let name): try archive.writeHeader(ArchiveEntryHeader(path: name, mode: 0o040755))
            case .symlink(let name, let target):
                var header = ArchiveEntryHeader(path: name, mode: 0o120777)
                header.symlinkTarget = target
                try archive.writeHeader(header)
            }
        }
        try archive.finish()
        try file.commit()
    }

    /// A one-file layer tar, its diff ID, and a config naming it.
    func layer() throws -> (tar: [UInt8], config: [UInt8]) {
        let scratch = try ScratchDirectory()
        try tar(scratch.path("layer.tar"), [.file("etc/app", Array("app\n".utf8))])
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: scratch.path("layer.tar"))))
        return (bytes, config(diffIDs: [Digest.sha256(bytes)]))
    }

    func config(diffIDs: [Digest]) -> [UInt8] {
        Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[\#(diffIDs.map { "\"\($0)\"" }.joined(separator: ","))]}}"#.utf8)
    }

    let dockerManifest = Array(#"[{"Config":"C.json","RepoTags":["team/app:1"],"Layers":["L/layer.tar"]}]"#.utf8)

    func assertNothingStored(_ store: ImageStore, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.blobDirectory), [], "blobs stored", file: file, line: line)
        XCTAssertEqual(try store.list().map(\.reference), [], "tags recorded", file: file, line: line)
    }

    func refusal(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> PkgLayerError? {
        do {
            _ = try body()
            XCTFail("expected a refusal", file: file, line: line)
        } catch let error as PkgLayerError {
            return error
        } catch {
            XCTFail("expected a PkgLayerError, got \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: - Reading members back

    func testMembersAreReadBackWithoutLeavingTheRoot() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.write("host/secret", "host secret\n")
        let host = scratch.path("host/secret")
        let extractor = try ArchiveExtractor(root: scratch.path("root"), archiveName: "test.tar", keepSpecialBits: false)
        func add(_ header: ArchiveEntryHeader, _ bytes: [UInt8] = []) throws {
            try extractor.extract(header) { write in try bytes.withUnsafeBytes { try write($0) } }
        }
        func link(_ name: String, _ target: String) -> ArchiveEntryHeader {
            var header = ArchiveEntryHeader(path: name, mode: 0o120777)
            header.symlinkTarget = target
            return header
        }
        try add(ArchiveEntryHeader(path: "inner/", mode: 0o040755))
        var data = ArchiveEntryHeader(path: "inner/data", mode: 0o100644)
        data.size = 5
        try add(data, Array("data\n".utf8))
        for (name, target) in [("abs", "/inner/data"), ("rel", "inner/data"), ("dir", "/inner"), ("host", host), ("hostdir", scratch.path("host")),
                               ("loop1", "loop2"), ("loop2", "loop1"), ("inner/up", "../inner/data"), ("dangling", "/nowhere")] {
            try add(link(name, target))
        }
        XCTAssertEqual(extractor.symlinks.count, 9)
        func read(_ name: String) throws -> String {
            let (fd, _) = try extractor.openMember(name)
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = Glibc.read(fd, &bytes, bytes.count)
            return String(decoding: bytes[0..<max(0, n)], as: UTF8.self)
        }
        for name in ["inner/data", "abs", "rel", "dir/data", "inner/up", "./abs"] {
            XCTAssertEqual(try read(name), "data\n", name)
        }
        XCTAssertEqual(try extractor.openMember("dir/data").path, "inner/data")
        func problem(_ name: String) -> ArchiveExtractor.MemberProblem? {
            do { _ = try read(name) } catch let problem as ArchiveExtractor.MemberProblem { return problem } catch { XCTFail("\(error)") }
            XCTFail("\(name) was read")
            return nil
        }
        // An absolute link is looked up inside the root, where the host's file is not.
        guard case .missing = problem("host") else { return XCTFail("host") }
        guard case .missing = problem("hostdir/secret") else { return XCTFail("hostdir/secret") }
        guard case .missing = problem("dangling") else { return XCTFail("dangling") }
        guard case .tooManyLinks = problem("loop1") else { return XCTFail("loop1") }
        guard case .notAFile = problem("inner") else { return XCTFail("inner") }
        guard case .escapes = problem("../root/abs") else { return XCTFail("../root/abs") }
        XCTAssertEqual(try String(contentsOfFile: host, encoding: .utf8), "host secret\n")
    }

    // MARK: - load

    func testADockerLayerLinkedToAHostFileIsRefusedAndNothingIsStored() throws {
        let scratch = try ScratchDirectory()
        _ = try scratch.write("canary/secret", "canary\n")
        let (_, config) = try layer()
        let store = try ImageStore.open(root: scratch.path("cache"))
        for target in [scratch.path("canary/secret"), "/etc/shadow", "/etc/passwd"] {
            let archive = scratch.path("evil.tar")
            try tar(archive, [.file("C.json", config), .dir("L/"), .symlink("L/layer.tar", target), .file("manifest.json", dockerManifest)])
            let error = refusal { try store.load(archive: archive) }
            XCTAssertEqual(error?.location, "\(archive): manifest.json")
            XCTAssertTrue(error?.message.contains("names 'L/layer.tar', which the archive does not hold: the link 'L/layer.tar -> \(target)' leads to nothing") ?? false,
                          "\(String(describing: error))")
            try assertNothingStored(store)
        }
    }

    func testDockerDiffIDsAreCheckedAgainstTheLayers() throws {
        let scratch = try ScratchDirectory()
        let (layerTar, config) = try layer()
        let store = try ImageStore.open(root: scratch.path("cache"))
        let wrong = self.config(diffIDs: [Digest.sha256(Array("other".utf8))])
        try tar(scratch.path("wrong.tar"), [.file("C.json", wrong), .dir("L/"), .file("L/layer.tar", layerTar), .file("manifest.json", dockerManifest)])
        let error = refusal { try store.load(archive: scratch.path("wrong.tar")) }
        XCTAssertEqual(error?.location, "\(scratch.path("wrong.tar")): L/layer.tar")
        XCTAssertTrue(error?.message.contains("rootfs.diff_ids[0]") ?? false, "\(String(describing: error))")
        try assertNothingStored(store)

        // The same archive with the right diff ID loads, with docker's config digest as the image ID;
        // a second image whose layer.tar is a relative link to the first (old `docker save`) shares it.
        let manifest = Array(#"[{"Config":"C.json","RepoTags":["team/app:1"],"Layers":["L/layer.tar"]},{"Config":"C.json","RepoTags":["team/app:2"],"Layers":["M/layer.tar"]}]"#.utf8)
        try tar(scratch.path("good.tar"), [.file("C.json", config), .dir("L/"), .file("L/layer.tar", layerTar), .dir("M/"),
                                          .symlink("M/layer.tar", "../L/layer.tar"), .file("manifest.json", manifest)])
        XCTAssertEqual(try store.load(archive: scratch.path("good.tar")), ["team/app:1", "team/app:2"])
        let details = try store.details(try store.require("team/app:1"))
        XCTAssertEqual(details.config.digest, Digest.sha256(config))
        XCTAssertEqual(details.layers.map(\.diffID), [Digest.sha256(layerTar)])
        XCTAssertTrue(try store.verify().isClean)
        XCTAssertEqual(try store.verify().blobs, 3, "config, one layer, one manifest")
    }

    func testAnOCIBlobThatDoesNotMatchItsNameIsRefused() throws {
        let scratch = try ScratchDirectory()
        let (layerTar, config) = try layer()
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"\#(OCIMediaType.imageManifest)","config":{"mediaType":"\#(OCIMediaType.imageConfig)","digest":"\#(Digest.sha256(config))","size":\#(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(Digest.sha256(layerTar))","size":\#(layerTar.count)}]}"#.utf8)
        let index = Array(#"{"schemaVersion":2,"manifests":[{"mediaType":"\#(OCIMediaType.imageManifest)","digest":"\#(Digest.sha256(manifest))","size":\#(manifest.count),"annotations":{"org.opencontainers.image.ref.name":"app:1"}}]}"#.utf8)
        func layout(_ layerBytes: [UInt8]) -> [Member] {
            [.file("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)), .file("index.json", index), .dir("blobs/"), .dir("blobs/sha256/"),
             .file("blobs/sha256/\(Digest.sha256(config).hex)", config), .file("blobs/sha256/\(Digest.sha256(manifest).hex)", manifest),
             .file("blobs/sha256/\(Digest.sha256(layerTar).hex)", layerBytes)]
        }
        let store = try ImageStore.open(root: scratch.path("cache"))
        var flipped = layerTar
        flipped[flipped.count / 2] ^= 1
        try tar(scratch.path("flipped.tar"), layout(flipped))
        let error = refusal { try store.load(archive: scratch.path("flipped.tar")) }
        XCTAssertEqual(error?.location, "\(scratch.path("flipped.tar")): blobs/sha256/\(Digest.sha256(layerTar).hex)")
        XCTAssertTrue(error?.message.contains("hashes to \(Digest.sha256(flipped)), not to its name") ?? false, "\(String(describing: error))")
        try assertNothingStored(store)

        try tar(scratch.path("good.tar"), layout(layerTar))
        XCTAssertEqual(try store.load(archive: scratch.path("good.tar")), ["app:1"])
        XCTAssertTrue(try store.verify().isClean)
        // Blobs in the store do not keep the archive's modes.
        var info = stat()
        XCTAssertEqual(lstat(store.blobs.path(for: Digest.sha256(layerTar)), &info), 0)
        XCTAssertEqual(info.st_mode & 0o7777, 0o644)
        // A damaged copy already in the store (same size) is replaced when the image is loaded again.
        let stored = store.blobs.path(for: Digest.sha256(layerTar))
        try Data(flipped).write(to: URL(fileURLWithPath: stored))
        XCTAssertFalse(try store.verify().isClean)
        XCTAssertEqual(try store.load(archive: scratch.path("good.tar")), ["app:1"])
        let after = try store.verify()
        XCTAssertTrue(after.isClean, "\(after.problems)")
    }

    // MARK: - The store trusts nothing on use

    func testTransferVerifyingRefusesABlobThatDoesNotMatchItsName() throws {
        let scratch = try ScratchDirectory()
        let source = try BlobStore(root: scratch.path("source")), target = try BlobStore(root: scratch.path("target"))
        let good = Array("good blob".utf8), evil = Array("evil blob".utf8)
        try Data(evil).write(to: URL(fileURLWithPath: source.path(for: Digest.sha256(good))))
        let error = refusal { try source.transfer(Digest.sha256(good), size: Int64(good.count), to: target, verifying: true) }
        XCTAssertTrue(error?.message.contains("not to its name") ?? false, "\(String(describing: error))")
        XCTAssertFalse(target.has(Digest.sha256(good)))
    }

    func testADamagedBlobIsReplacedNotKept() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(root: scratch.path("store"))
        let bytes = Array("a small config".utf8)
        let descriptor = try store.put(bytes, mediaType: OCIMediaType.imageConfig)
        let path = store.path(for: descriptor.digest)
        func damage() throws {
            chmod(path, 0o644)
            var flipped = bytes
            flipped[0] ^= 1
            try Data(flipped).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try store.verify(descriptor.digest, size: descriptor.size))
        }
        try damage()
        try store.put(bytes, mediaType: OCIMediaType.imageConfig)
        XCTAssertNoThrow(try store.verify(descriptor.digest, size: descriptor.size), "put replaced the damaged blob")
        try damage()
        let writer = try store.makeWriter()
        try bytes.withUnsafeBytes { try writer.write($0) }
        _ = try writer.commit(expecting: descriptor.digest)
        XCTAssertNoThrow(try store.verify(descriptor.digest, size: descriptor.size), "commit replaced the damaged blob")
    }

    func testSavingAnOCIArchiveChecksEveryBlob() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(root: scratch.path("store"))
        let (layerTar, config) = try layer()
        let configDescriptor = try store.put(config, mediaType: OCIMediaType.imageConfig)
        let layerDescriptor = try store.put(layerTar, mediaType: "application/vnd.oci.image.layer.v1.tar")
        let manifest = try store.put(JSONValue.object([("schemaVersion", .int(2)), ("mediaType", .string(OCIMediaType.imageManifest)),
                                                       ("config", configDescriptor.json), ("layers", .array([layerDescriptor.json]))]).canonicalBytes,
                                     mediaType: OCIMediaType.imageManifest)
        let tagged = [TaggedManifest(descriptor: manifest, tag: "app", blobs: [manifest, configDescriptor, layerDescriptor])]
        try OCIArchiveWriter.write(tagged, from: store, to: scratch.path("good.tar"), epoch: SourceDateEpoch(0))
        let path = store.path(for: layerDescriptor.digest)
        chmod(path, 0o644)
        var flipped = layerTar
        flipped[100] ^= 1
        try Data(flipped).write(to: URL(fileURLWithPath: path))
        let error = refusal { try OCIArchiveWriter.write(tagged, from: store, to: scratch.path("bad.tar"), epoch: SourceDateEpoch(0)) }
        XCTAssertEqual(error?.location, path)
        XCTAssertTrue(error?.message.contains("store verify") ?? false)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), ["good.tar", "store"], "nothing at the output's name")
    }

    func testTheLayerCacheDoesNotTrustADamagedBlob() throws {
        let scratch = try ScratchDirectory()
        let store = try BlobStore(root: scratch.path("store"))
        let cache = try LayerCache(directory: scratch.path("cache/layers"))
        var info = stat()
        XCTAssertEqual(stat(cache.directory, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700, "the layer cache is private")
        let bytes = Array(repeating: UInt8(7), count: 4096)
        let descriptor = try store.put(bytes, mediaType: OCIMediaType.layerGzip)
        let layer = LayerBlob(descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: descriptor.digest, size: descriptor.size),
                              diffID: Digest.sha256(Array("tar".utf8)), uncompressedSize: 3)
        let key = Digest.sha256(Array("key".utf8)), other = Digest.sha256(Array("other key".utf8))
        try cache.record(key, layer, in: store)
        try cache.record(other, layer)   // no file identity recorded: the first lookup hashes the blob
        XCTAssertEqual(cache.lookup(key, in: store), layer)
        XCTAssertEqual(cache.lookup(other, in: store), layer)
        let entry = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(cache.directory)/\(other.hex).json"))) as? [String: Any])
        XCTAssertNotNil(entry["inode"], "a verified hit records the file's identity")

        let path = store.path(for: descriptor.digest)
        chmod(path, 0o644)
        var flipped = bytes
        flipped[10] ^= 1
        try Data(flipped).write(to: URL(fileURLWithPath: path))   // same size, new inode or mtime
        XCTAssertNil(cache.lookup(key, in: store), "a same-size damaged blob is a miss")
        XCTAssertNil(cache.lookup(other, in: store))
    }

    func testStoreVerifyFindsDamagedAndMissingBlobs() throws {
        let scratch = try ScratchDirectory()
        let (layerTar, config) = try layer()
        let store = try ImageStore.open(root: scratch.path("cache"))
        try tar(scratch.path("good.tar"), [.file("C.json", config), .dir("L/"), .file("L/layer.tar", layerTar), .file("manifest.json", dockerManifest)])
        _ = try store.load(archive: scratch.path("good.tar"))
        XCTAssertTrue(try store.verify().isClean)
        let layerDigest = try store.details(try store.require("team/app:1")).layers[0].descriptor.digest
        let configPath = store.blobs.path(for: Digest.sha256(config))
        chmod(configPath, 0o644)
        var flipped = config
        flipped[2] ^= 1
        try Data(flipped).write(to: URL(fileURLWithPath: configPath))
        unlink(store.blobs.path(for: layerDigest))
        _ = try scratch.write("cache/images/blobs/sha256/not-a-digest", "x")
        let result = try store.verify()
        XCTAssertEqual(result.problems.count, 3, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.location == configPath && $0.message.contains("content hashes to \(Digest.sha256(flipped))") }, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.location == "team/app:1" && $0.message.contains("needs blob \(layerDigest)") }, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.location.hasSuffix("not-a-digest") }, "\(result.problems)")
    }

    func testMalformedJSONNamesTheDocument() throws {
        let deep = Data(String(repeating: "[", count: 100_000).utf8)
        let error = refusal { try OCILayoutReader.jsonObject(deep, at: "image.tar: manifest.json") }
        XCTAssertEqual(error?.location, "image.tar: manifest.json")
        XCTAssertTrue(error?.message.hasPrefix("is not valid JSON") ?? false, "\(String(describing: error))")
    }
}
