import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Each codec's output is checked by its own command-line tool and by libarchive, and must not depend
/// on the thread count or on how the input is cut into writes.
final class CompressorTests: XCTestCase {
    /// Enough input for several gzip batches, more than one xz block at level 1 (3 MiB), and more
    /// than one zstd job at level 1, so the parallel paths really run.
    static let input: [UInt8] = Build.text(5 << 20) + Build.noise(700_001) + Build.text(333_333)

    static func compress(_ compression: Compression, _ input: [UInt8], threads: Int, chunk: Int = 1 << 20) throws -> [UInt8] {
        let sink = CollectingSink()
        let compressor = try compression.makeSink(wrapping: sink, threads: threads)
        var offset = 0
        try input.withUnsafeBytes { all in
            repeat {
                let end = min(all.count, offset + chunk)
                try compressor.write(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            } while offset < all.count
        }
        try compressor.finish()
        XCTAssertEqual(sink.finishCount, 1, "finish() reaches the next sink")
        return sink.bytes
    }

    /// Checks `bytes` with the codec's tool (`-t`, then `-dc` back to the input).
    static func checkWithTools(_ compression: Compression, _ bytes: [UInt8], expect input: [UInt8], in dir: ScratchDirectory,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try dir.write("c.\(compression.fileExtension)", bytes)
        var tools: [String]
        switch compression {
        case .gzip: tools = ["gzip", "pigz"]
        case .xz: tools = ["xz"]
        case .zstd: tools = ["zstd"]
        case .none: tools = []
        }
        for tool in tools {
            try Tool.check([tool, "-t", path], file: file, line: line)
            let out = try Tool.check([tool, "-dc", path], file: file, line: line).stdoutBytes
            XCTAssertTrue(out == input, "\(tool) -dc gives the input back", file: file, line: line)
        }
        // libarchive reads it too (raw: the decompressed stream is the one member).
        let back = try Build.readAll(path, raw: true)
        XCTAssertTrue((back.first?.data ?? []) == input, "libarchive decompresses \(compression)", file: file, line: line)
        XCTAssertEqual(back.count, input.isEmpty ? 0 : 1, file: file, line: line)
    }

    // MARK: - gzip

    func testGzipIsReadByGzipPigzAndLibarchive() throws {
        let dir = try ScratchDirectory()
        let bytes = try Self.compress(.gzip(level: 6), Self.input, threads: 2)
        XCTAssertEqual(Array(bytes.prefix(10)), [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF], "mtime 0, XFL 0, OS 255")
        try Self.checkWithTools(.gzip(level: 6), bytes, expect: Self.input, in: dir)
    }

    func testGzipIsIndependentOfThreadsAndWriteSizes() throws {
        // 2.5 MiB: several batches for 1, 2 and 3 threads, with text and noise across block boundaries.
        let input = Array(Self.input.suffix(2_500_000))
        for level in [1, 9] {
            let one = try Self.compress(.gzip(level: level), input, threads: 1)
            XCTAssertEqual(try Self.compress(.gzip(level: level), input, threads: 2), one, "level \(level): 1 vs 2 threads")
            XCTAssertEqual(try Self.compress(.gzip(level: level), input, threads: 3), one, "level \(level): 1 vs 3 threads")
            XCTAssertEqual(try Self.compress(.gzip(level: level), input, threads: 2, chunk: 4093), one, "level \(level): small writes")
        }
    }

    func testGzipEdgeSizes() throws {
        let dir = try ScratchDirectory()
        let block = ParallelGzipSink.blockSize
        for size in [0, 1, block - 1, block, block + 1, 4 * block, 4 * block + 1, 9 * block] {
            let input = Build.text(size)
            let bytes = try Self.compress(.gzip(level: 6), input, threads: 2, chunk: 100_000)
            try Self.checkWithTools(.gzip(level: 6), bytes, expect: input, in: dir)
            XCTAssertEqual(try Self.compress(.gzip(level: 6), input, threads: 1), bytes, "size \(size)")
        }
    }

    func testGzipShrinksText() throws {
        let bytes = try Self.compress(.gzip(level: 6), Build.text(1 << 20), threads: 2)
        XCTAssertLessThan(bytes.count, (1 << 20) / 3, "the dictionary carries context across blocks")
    }

    // MARK: - xz

    func testXZIsReadByXZAndLibarchive() throws {
        let dir = try ScratchDirectory()
        let bytes = try Self.compress(.xz(level: 1), Self.input, threads: 2)
        try Self.checkWithTools(.xz(level: 1), bytes, expect: Self.input, in: dir)
        let info = try Tool.check(["xz", "--robot", "--list", "-vv", dir.file("c.xz")]).stdout
        XCTAssertTrue(info.contains("CRC64"), info)
        let blocks = info.split(separator: "\n").filter { $0.hasPrefix("block\t") }
        XCTAssertEqual(blocks.count, 2, "level 1: 3 MiB blocks for \(Self.input.count) bytes: \(info)")
    }

    func testXZIsIndependentOfThreadsAndWriteSizes() throws {
        let one = try Self.compress(.xz(level: 1), Self.input, threads: 1)
        XCTAssertEqual(try Self.compress(.xz(level: 1), Self.input, threads: 2), one)
        XCTAssertEqual(try Self.compress(.xz(level: 1), Self.input, threads: 3, chunk: 65_521), one)
    }

    func testXZBlockSizeIsFixedPerLevel() {
        XCTAssertEqual(XZSink.blockSize(forLevel: 0), 1 << 20)
        XCTAssertEqual(XZSink.blockSize(forLevel: 1), 3 << 20)
        XCTAssertEqual(XZSink.blockSize(forLevel: 6), 24 << 20)
        XCTAssertEqual(XZSink.blockSize(forLevel: 9), 24 << 20)
    }

    // MARK: - zstd

    func testZstdIsReadByZstdAndLibarchive() throws {
        let dir = try ScratchDirectory()
        let bytes = try Self.compress(.zstd(level: 3), Self.input, threads: 2)
        try Self.checkWithTools(.zstd(level: 3), bytes, expect: Self.input, in: dir)
    }

    func testZstdIsIndependentOfThreadsAndWriteSizes() throws {
        for level in [1, 3] {
            let one = try Self.compress(.zstd(level: level), Self.input, threads: 1)
            XCTAssertEqual(try Self.compress(.zstd(level: level), Self.input, threads: 2), one, "level \(level): 1 vs 2 workers")
            XCTAssertEqual(try Self.compress(.zstd(level: level), Self.input, threads: 4), one, "level \(level): 1 vs 4 workers")
            XCTAssertEqual(try Self.compress(.zstd(level: level), Self.input, threads: 2, chunk: 4093), one, "level \(level): small writes")
        }
    }

    // MARK: - All codecs

    func testEmptyInputGivesAValidStream() throws {
        let dir = try ScratchDirectory()
        for compression in [Compression.gzip(level: 6), .xz(level: 6), .zstd(level: 3)] {
            let bytes = try Self.compress(compression, [], threads: 2)
            try Self.checkWithTools(compression, bytes, expect: [], in: dir)
        }
    }

    func testCompressedTarRoundTripsThroughTheReader() throws {
        let dir = try ScratchDirectory()
        let members = ArchiveWriterTests.tarMembers()
        for compression in [Compression.gzip(level: 6), .xz(level: 6), .zstd(level: 3)] {
            let first = try Build.archive(.tarPax, members, compression: compression, threads: 2)
            let second = try Build.archive(.tarPax, members, compression: compression, threads: 1)
            XCTAssertEqual(first, second, "\(compression): same input, same bytes")
            let path = try dir.write("t.tar.\(compression.fileExtension)", first)
            let back = try Build.readAll(path)
            XCTAssertEqual(back.map(\.header.path), members.map(\.header.path), "\(compression)")
            XCTAssertEqual(back.map(\.data), members.map(\.data), "\(compression)")
            try Tool.check(["tar", "-tf", path])
        }
    }

    func testCompressedPayloadAtAnOffsetReadsRaw() throws {
        // An rpm: lead and headers, then a compressed cpio payload read raw.
        let dir = try ScratchDirectory()
        var file = Build.header("./x", 0o100644, size: 3)
        file.inode = 1
        let cpio = try Build.archive(.cpioNewc, [.init(header: file, data: [1, 2, 3])])
        let payload = try Self.compress(.zstd(level: 3), cpio, threads: 2)
        let path = try dir.write("pkg", Build.noise(96 + 1000) + payload)
        XCTAssertEqual(try Build.readAll(path, offset: 1096, raw: true).first?.data, cpio)
        XCTAssertEqual(try Build.readAll(path, offset: 1096).first?.header.inode, 1)
    }

    func testADebMadeOfTheseArchivesIsReadByDpkgDeb() throws {
        try requireTool("dpkg-deb")
        let dir = try ScratchDirectory()
        let controlText = Array("""
        Package: pkglayer-archive-test
        Version: 1.0-1
        Architecture: all
        Maintainer: Test <test@example.org>
        Description: archive room check
         Built from tar, gzip, xz and ar only.

        """.utf8)
        func root() -> ArchiveEntryHeader {
            var h = Build.header("./", 0o040755)
            h.userName = "root"
            h.groupName = "root"
            return h
        }
        var controlMember = Build.header("./control", 0o100644, size: UInt64(controlText.count))
        controlMember.userName = "root"
        controlMember.groupName = "root"
        let control = try Build.archive(.tarPax, [.init(header: root()), .init(header: controlMember, data: controlText)],
                                        compression: .gzip(level: 9))
        let hello = Array("#!/bin/sh\necho hello\n".utf8)
        let data = try Build.archive(.tarPax, [
            .init(header: root()), .init(header: Build.header("./usr/", 0o040755)), .init(header: Build.header("./usr/bin/", 0o040755)),
            .init(header: Build.header("./usr/bin/hello", 0o100755, size: UInt64(hello.count)), data: hello),
        ], compression: .xz(level: 6))
        let deb = try Build.archive(.arBSD, [
            .init(header: Build.header("debian-binary", 0o100644, size: 4), data: Array("2.0\n".utf8)),
            .init(header: Build.header("control.tar.gz", 0o100644, size: UInt64(control.count)), data: control),
            .init(header: Build.header("data.tar.xz", 0o100644, size: UInt64(data.count)), data: data),
        ])
        let path = try dir.write("t.deb", deb)
        let info = try Tool.check(["dpkg-deb", "-I", path]).stdout
        XCTAssertTrue(info.contains("Package: pkglayer-archive-test"), info)
        let contents = try Tool.check(["dpkg-deb", "-c", path]).stdout
        XCTAssertTrue(contents.split(separator: "\n").contains { $0.hasPrefix("-rwxr-xr-x 0/0") && $0.hasSuffix(" 21 2023-11-14 22:13 ./usr/bin/hello") },
                      contents)
        let out = dir.file("x")
        try Tool.check(["dpkg-deb", "-x", path, out])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/usr/bin/hello")), Data(hello))
    }

    func testTruncatedGzipIsAnErrorNotACrash() throws {
        let dir = try ScratchDirectory()
        let members = [Build.Member(header: Build.header("big", 0o100644, size: 3_000_000), data: Build.text(3_000_000))]
        let bytes = try Build.archive(.tarPax, members, compression: .gzip(level: 6))
        for cut in [bytes.count - 1000, bytes.count / 2, 20] {
            let path = try dir.write("cut-\(cut).tar.gz", Array(bytes.prefix(cut)))
            assertThrowsPkgLayerError(.archive, try Build.readAll(path)) { error in
                XCTAssertTrue(error.location?.hasPrefix(path) ?? false, "the error names the archive: \(error)")
            }
        }
    }

    func testLevelsOutOfRangeAreUsageErrors() {
        let sink = CollectingSink()
        assertThrowsPkgLayerError(.usage, try ParallelGzipSink(next: sink, level: 10, threads: 1))
        assertThrowsPkgLayerError(.usage, try XZSink(next: sink, level: -1, threads: 1))
        assertThrowsPkgLayerError(.usage, try ZstdSink(next: sink, level: 20, threads: 1))
    }

    func testWritingAfterFinishIsAnError() throws {
        for compression in [Compression.gzip(level: 1), .xz(level: 0), .zstd(level: 1)] {
            let sink = try compression.makeSink(wrapping: CollectingSink(), threads: 1)
            try sink.finish()
            assertThrowsPkgLayerError(.archive, try [UInt8(1)].withUnsafeBytes { try sink.write($0) })
        }
    }
}
