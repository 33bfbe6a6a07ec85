import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Hostile archives (generated here, never committed) are refused with a limit error, quickly, and
/// leave nothing in the extraction directory (docs/limits.md).
final class ArchiveLimitsTests: XCTestCase {
    /// Writes a tar (`.tar` or `.tar.gz`) with `count` empty members.
    static let manyEntries = """
        import sys, tarfile
        path, count = sys.argv[1], int(sys.argv[2])
        with tarfile.open(path, 'w:gz' if path.endswith('.gz') else 'w', format=tarfile.USTAR_FORMAT) as t:
            for i in range(count):
                info = tarfile.TarInfo('d/f%07d' % i)
                t.addfile(info)
        """

    /// Writes a tar.gz holding one member of `mib` MiB of zeros: a decompression bomb in miniature.
    static let zeroTar = """
        import io, sys, tarfile
        path, size = sys.argv[1], int(sys.argv[2]) << 20
        with tarfile.open(path, 'w:gz', format=tarfile.USTAR_FORMAT) as t:
            t.addfile(tarfile.TarInfo('small'), io.BytesIO(b''))
            info = tarfile.TarInfo('zeros')
            info.size = size
            t.addfile(info, io.BytesIO(bytes(size)))
        """

    /// Extracts everything, removing what was created when reading fails (as every caller does).
    func extractAll(_ archive: String, to root: String, limits: InputLimits? = nil) throws {
        let reader = try ArchiveReader(path: archive)
        if let limits { reader.limits = limits }
        let extractor = try ArchiveExtractor(root: root, archiveName: archive)
        do {
            while let header = try reader.next() { try extractor.extract(header, from: reader) }
        } catch {
            extractor.removeAll()
            throw error
        }
    }

    func testTooManyMembersAreRefusedAndNothingIsLeft() throws {
        let scratch = try ScratchDirectory()
        for name in ["many.tar", "many.tar.gz"] {
            let tar = scratch.path(name)
            try generateWithPython(Self.manyEntries, [tar, "1500"])
            let root = scratch.path("out-\(name)")
            assertLimitExceeded(.archiveEntries, mentions: ["member count is 1001", "d/f0001000"]) {
                try extractAll(tar, to: root, limits: .lowered([.archiveEntries: 1000]))
            }
            XCTAssertNil(contentsUnder(root), "the extraction directory is left behind: \(contentsUnder(root) ?? [])")
            // The same archive is fine within the default limit.
            try extractAll(tar, to: root)
            XCTAssertEqual(contentsUnder(root + "/d")?.count, 1500)
        }
    }

    func testTaskLocalLimitsReachReadersMadeInside() throws {
        let scratch = try ScratchDirectory()
        let tar = scratch.path("many.tar")
        try generateWithPython(Self.manyEntries, [tar, "300"])
        InputLimits.$current.withValue(.lowered([.archiveEntries: 100])) {
            assertLimitExceeded(.archiveEntries, mentions: ["PKGLAYER_MAX_ARCHIVE_ENTRIES=202"]) {
                let reader = try ArchiveReader(path: tar)
                while try reader.next() != nil {}
            }
        }
    }

    /// 64 MiB of zeros gzip to some 64 KiB: past the expansion floor (lowered to 1 MiB here), at most
    /// 200× the archive's size may come out, and the member's header already claims more.
    func testDecompressionBombIsRefusedAtTheMemberHeader() throws {
        let scratch = try ScratchDirectory()
        let tar = scratch.path("bomb.tar.gz")
        try generateWithPython(Self.zeroTar, [tar, "64"])
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: tar)[.size] as? Int)
        XCTAssertLessThan(size, 1 << 20)
        let root = scratch.path("out")
        assertLimitExceeded(.expansionRatio, mentions: ["member 'zeros' claims 64 MiB", "decompression bomb", "PKGLAYER_MAX_EXPANSION_RATIO="]) {
            try extractAll(tar, to: root, limits: .lowered([.expansionFloorBytes: 1 << 20]))
        }
        XCTAssertNil(contentsUnder(root))
        // With the ratio turned off, the absolute cap still holds.
        assertLimitExceeded(.extractedBytes, mentions: ["PKGLAYER_MAX_EXTRACTED_BYTES="]) {
            try extractAll(tar, to: root, limits: .lowered([.expansionRatio: 0, .extractedBytes: 8 << 20]))
        }
        XCTAssertNil(contentsUnder(root))
        // With the defaults (8 GiB before the ratio applies) it extracts.
        try extractAll(tar, to: root)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: root + "/zeros")[.size] as? Int, 64 << 20)
    }

    /// A raw stream has no header to claim a size: the bytes are counted as they come out.
    func testStreamedDecompressionBombStopsAtTheCap() throws {
        let scratch = try ScratchDirectory()
        let gz = scratch.path("index.gz")
        try generateWithPython("import gzip, sys; open(sys.argv[1], 'wb').write(gzip.compress(bytes(256 << 20), 1))", [gz])
        let reader = try ArchiveReader(path: gz, raw: true)
        reader.limits = .lowered([.expansionFloorBytes: 4 << 20])
        XCTAssertNotNil(try reader.next())
        var seen = 0
        assertLimitExceeded(.expansionRatio, mentions: ["index.gz: data", "expand past"]) {
            try reader.readData { seen += $0.count }
        }
        XCTAssertLessThan(seen, 256 << 20)
        // readAll (indexes, control files) is held to it too.
        let again = try ArchiveReader(path: gz, raw: true)
        again.limits = .lowered([.expansionFloorBytes: 4 << 20])
        _ = try again.next()
        assertLimitExceeded(.expansionRatio) { try again.readAll(limit: 1 << 30) }
    }

    func testUncompressedMemberClaimingMoreThanTheFileHolds() throws {
        let scratch = try ScratchDirectory()
        let tar = scratch.path("forged.tar")
        try generateWithPython("""
            import sys, tarfile
            info = tarfile.TarInfo('big')
            info.size = 1 << 30
            open(sys.argv[1], 'wb').write(info.tobuf(format=tarfile.USTAR_FORMAT) + b'x' * 512 + bytes(1024))
            """, [tar])
        let root = scratch.path("out")
        XCTAssertThrowsError(try extractAll(tar, to: root)) { error in
            let e = error as? PkgLayerError
            XCTAssertEqual(e?.code, .archive, "\(error)")
            XCTAssertTrue(e?.message.contains("member 'big' claims 1073741824 bytes but only") ?? false, "\(error)")
            XCTAssertTrue(e?.message.contains("truncated or its header is forged") ?? false, "\(error)")
        }
        XCTAssertNil(contentsUnder(root))

        let ar = scratch.path("forged.ar")
        try generateWithPython("""
            import sys
            header = b'data.tar.gz/    ' + b'0'.ljust(12) + b'0'.ljust(6) + b'0'.ljust(6) + b'100644'.ljust(8) + b'1000000000'.ljust(10) + b'`\\n'
            open(sys.argv[1], 'wb').write(b'!<arch>\\n' + header + b'y' * 100)
            """, [ar])
        XCTAssertThrowsError(try ArchiveReader(path: ar).next()) { error in
            XCTAssertTrue((error as? PkgLayerError)?.message.contains("member 'data.tar.gz' claims 1000000000 bytes but only") ?? false, "\(error)")
        }
    }

    /// A sparse member's logical size may exceed the file; it is not mistaken for a forged header.
    func testSparseMembersAreNotForgedHeaders() throws {
        try requireTool("tar")
        let scratch = try ScratchDirectory()
        let sparse = scratch.path("in/sparse")
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: sparse, contents: Data("end".utf8)))
        XCTAssertEqual(truncate(sparse, 64 << 20), 0)
        let tar = scratch.path("sparse.tar")
        try TestProcess.runChecked("tar", ["--sparse", "-cf", tar, "-C", scratch.path("in"), "sparse"])
        XCTAssertLessThan(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: tar)[.size] as? Int), 1 << 20)
        let root = scratch.path("out")
        try extractAll(tar, to: root)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: root + "/sparse")[.size] as? Int, 64 << 20)
    }
}
