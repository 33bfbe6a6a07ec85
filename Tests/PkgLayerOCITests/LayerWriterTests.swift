import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

final class LayerWriterTests: XCTestCase {
    func testSameManifestSameLayerInAnotherDirectoryAndLater() throws {
        let first = try TestPackages.app()
        let storeA = try ScratchDirectory(prefix: "pkglayer-oci-a")
        let a = try LayerWriter(threads: 1).write(try first.manifest(), to: try BlobStore(root: storeA.path))
        sleep(1)
        // Fresh source files (new on-disk mtimes and inode numbers), another store, another thread count.
        let second = try TestPackages.app()
        let storeB = try ScratchDirectory(prefix: "pkglayer-oci-b")
        let b = try LayerWriter(threads: 2).write(try second.manifest(), to: try BlobStore(root: storeB.path))
        withExtendedLifetime((first, second)) {}   // the fixtures own the source files
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.descriptor.mediaType, OCIMediaType.layerGzip)
        let bytesA = try Data(contentsOf: URL(fileURLWithPath: BlobStore(root: storeA.path).path(for: a.descriptor.digest)))
        XCTAssertEqual(Digest.sha256(bytesA), a.descriptor.digest)
        XCTAssertEqual(Int64(bytesA.count), a.descriptor.size)
    }

    func testDiffIDIsTheUncompressedTarAndGNUTarReadsTheMembers() throws {
        try requireTool("tar", "gzip")
        let app = try TestPackages.app()
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-layer")
        let store = try BlobStore(root: scratch.path)
        let layer = try LayerWriter().write(try app.manifest(), to: store)
        let blob = store.path(for: layer.descriptor.digest)

        let tarPath = scratch.path("layer.tar")
        let unzipped = try TestProcess.runChecked("gzip", ["-dc", blob])
        try unzipped.stdout.write(to: URL(fileURLWithPath: tarPath))
        XCTAssertEqual(Digest.sha256(unzipped.stdout), layer.diffID)
        XCTAssertEqual(Int64(unzipped.stdout.count), layer.uncompressedSize)
        // gzip's header: no name, mtime 0.
        let header = [UInt8](try Data(contentsOf: URL(fileURLWithPath: blob)).prefix(10))
        XCTAssertEqual(Array(header[3...7]), [0, 0, 0, 0, 0])

        // pax extended headers are named without a process id or time (GNU tar's default %d/PaxHeaders.%p is not).
        let raw = try Data(contentsOf: URL(fileURLWithPath: tarPath))
        let paxNames = stride(from: 0, to: raw.count - 512, by: 512).compactMap { offset -> String? in
            guard raw[offset + 156] == UInt8(ascii: "x") else { return nil }
            return String(decoding: raw[offset..<offset + 100].prefix { $0 != 0 }, as: UTF8.self)
        }
        XCTAssertFalse(paxNames.isEmpty, "the capability needs a pax header")
        XCTAssertFalse(paxNames.contains { $0.contains(String(getpid())) }, "\(paxNames)")
        let names = try TestProcess.runChecked("tar", ["-tf", tarPath]).stdoutText.split(separator: "\n").map(String.init)
        let expected = try app.manifest().entries.map { $0.relativePath + ($0.kind == .directory ? "/" : "") }
        XCTAssertEqual(names, expected, "members in manifest order, relative, directories with a trailing /")

        let listing = try TestProcess.runChecked("tar", ["--numeric-owner", "--full-time", "-tvf", tarPath],
                                                 environment: ["TZ": "UTC"]).stdoutText
        XCTAssertTrue(listing.contains("-rwsr-xr-x 0/0"), listing)
        XCTAssertTrue(listing.contains("-rw-r----- 101/102"), listing)
        XCTAssertTrue(listing.contains("usr/bin/app-link link to usr/bin/app"), listing)
        XCTAssertTrue(listing.contains("usr/bin/app-abs -> /usr/bin/app"), listing)
        XCTAssertTrue(listing.contains("2023-11-14 22:13:20"), listing)
        let names2 = try TestProcess.runChecked("tar", ["-tvf", tarPath]).stdoutText
        XCTAssertTrue(names2.contains("app/app"), "user and group names are kept: \(names2)")

        let xattrs = try TestProcess.runChecked("tar", ["--xattrs", "--xattrs-include=*", "-tvvf", tarPath]).stdoutText
        XCTAssertTrue(xattrs.contains("security.capability"), xattrs)
    }

    func testContentThatChangedSinceTheManifestIsRefusedAndLeavesNothing() throws {
        let fixture = try ManifestFixture()
        try fixture.file("/etc/app.conf", "original\n")
        let manifest = try fixture.manifest()
        let source = manifest["/etc/app.conf"]!.sourcePath!
        try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: source))   // same size, other content
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-bad")
        let store = try BlobStore(root: scratch.path)
        XCTAssertThrowsError(try LayerWriter().write(manifest, to: store)) { error in
            XCTAssertTrue("\(error)".contains("sha256"), "\(error)")
        }
        try Data("grown and longer\n".utf8).write(to: URL(fileURLWithPath: source))
        XCTAssertThrowsError(try LayerWriter().write(manifest, to: store)) { error in
            XCTAssertTrue("\(error)".contains("bytes"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobDirectory), [], "no blob and no temporary file is left")
        withExtendedLifetime(fixture) {}
    }

    func testPathsThatLeaveTheRootCannotEvenBeAManifest() {
        for hostile in ["/../etc/passwd", "/usr/../../etc/shadow", "../x"] {
            XCTAssertThrowsError(try FileManifest(entries: [ManifestEntry(path: hostile, kind: .file, mode: 0o644, mtime: 0)],
                                                  implicitDirectoryMtime: 0)) { error in
                XCTAssertEqual((error as? PkgLayerError)?.code, .pathEscapesRoot, hostile)
            }
        }
    }

    func testWhiteoutNamesAndEscapingSymlinksAreRefusedAndLeaveNothing() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-hostile")
        let store = try BlobStore(root: scratch.path)
        let cases: [(String, (ManifestFixture) throws -> Void)] = [
            ("whiteout", { try $0.file("/etc/.wh.passwd", "") }),
            ("opaque whiteout", { try $0.file("/usr/.wh..wh..opq", "") }),
            ("whiteout directory", { $0.directory("/var/.wh.lib") }),
            ("escaping symlink", { $0.symlink("/usr/bin/evil", to: "../../../../etc/shadow") }),
        ]
        for (name, add) in cases {
            let fixture = try ManifestFixture()
            try fixture.file("/etc/hostname", "box\n")
            try add(fixture)
            XCTAssertThrowsError(try LayerWriter().write(try fixture.manifest(), to: store), name) { error in
                XCTAssertEqual((error as? PkgLayerError)?.code, .pathEscapesRoot, "\(name): \(error)")
            }
        }
        // Links that stay inside, relative or absolute, are fine.
        let fixture = try ManifestFixture()
        fixture.symlink("/usr/lib/libx.so", to: "../../lib/libx.so.1")
        fixture.symlink("/usr/bin/abs", to: "/usr/lib/libx.so")
        XCTAssertNoThrow(try LayerWriter().write(try fixture.manifest(), to: store))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobDirectory).count, 1, "only the good layer")
    }

    func testBlobStoreIsContentAddressedAndSkipsWhatItHas() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-store")
        let store = try BlobStore(root: scratch.path)
        let bytes = Array("{\"a\":1}".utf8)
        let descriptor = try store.put(bytes, mediaType: OCIMediaType.imageConfig)
        XCTAssertEqual(descriptor.digest, Digest.sha256(bytes))
        XCTAssertEqual(store.path(for: descriptor.digest), "\(scratch.path)/blobs/sha256/\(descriptor.digest.hex)")
        XCTAssertTrue(store.has(descriptor.digest, size: 7))
        XCTAssertFalse(store.has(descriptor.digest, size: 8))
        let inode = try FileManager.default.attributesOfItem(atPath: store.path(for: descriptor.digest))[.systemFileNumber] as! UInt64
        try store.put(bytes, mediaType: OCIMediaType.imageConfig)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: store.path(for: descriptor.digest))[.systemFileNumber] as? UInt64, inode,
                       "a blob already present is not rewritten")
        XCTAssertEqual(try store.read(descriptor.digest), bytes)

        let writer = try store.makeWriter()
        try bytes.withUnsafeBytes { try writer.write($0) }
        XCTAssertThrowsError(try writer.commit(expecting: Digest.sha256(Array("other".utf8))))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobDirectory), [descriptor.digest.hex])
    }
}
