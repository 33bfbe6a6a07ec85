import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// The shared scratch directory, with the byte-level helpers these tests use.
extension ScratchDirectory {
    func file(_ name: String) -> String { path(name) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try write(name, Data(bytes))
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// Collects everything written to it; records whether `finish()` was called.
final class CollectingSink: ByteSink {
    var bytes: [UInt8] = []
    var finishCount = 0
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    func finish() throws { finishCount += 1 }
}

/// A sink that fails on the first write (a full disk, say).
final class FailingSink: ByteSink {
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        throw PkgLayerError(.io, "write failed: No space left on device", at: "/full/disk")
    }
    func finish() throws {}
}

struct ToolResult {
    var status: Int32
    var stdout: String
    var stdoutBytes: [UInt8]
    var stderr: String
}

/// Runs real consumers (tar, cpio, ar, gzip, …) through the shared `TestProcess`, with a UTF-8
/// locale, so non-ASCII names print as they are, and UTC times.
enum Tool {
    static func path(_ name: String) -> String? { TestProcess.which(name) }

    @discardableResult
    static func run(_ arguments: [String], stdinFile: String? = nil, directory: String? = nil) throws -> ToolResult {
        try requireTool(arguments[0])
        let stdin = try stdinFile.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let output = try TestProcess.run(arguments[0], Array(arguments.dropFirst()), in: directory,
                                         environment: ["LC_ALL": "C.UTF-8", "TZ": "UTC"], stdin: stdin)
        return ToolResult(status: output.status, stdout: output.stdoutText, stdoutBytes: [UInt8](output.stdout), stderr: output.stderrText)
    }

    /// Runs and requires exit status 0.
    @discardableResult
    static func check(_ arguments: [String], stdinFile: String? = nil, directory: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws -> ToolResult {
        let result = try run(arguments, stdinFile: stdinFile, directory: directory)
        XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")) failed: \(result.stderr)", file: file, line: line)
        return result
    }
}

/// Builds archives in memory for the tests.
enum Build {
    static func header(_ path: String, _ mode: UInt32, size: UInt64 = 0, mtime: Int64 = 1_700_000_000) -> ArchiveEntryHeader {
        var h = ArchiveEntryHeader(path: path, mode: mode)
        h.size = size
        h.mtime = mtime
        return h
    }

    /// One member to write: its header and (for regular files) its data.
    struct Member {
        var header: ArchiveEntryHeader
        var data: [UInt8] = []
    }

    static func archive(_ format: ArchiveFormat, _ members: [Member], compression: Compression = .none,
                        threads: Int = 2) throws -> [UInt8] {
        let sink = CollectingSink()
        let writer = try ArchiveWriter(format: format, sink: try compression.makeSink(wrapping: sink, threads: threads))
        for member in members {
            try writer.writeHeader(member.header)
            if !member.data.isEmpty { try member.data.withUnsafeBytes { try writer.writeData($0) } }
        }
        try writer.finish()
        XCTAssertEqual(sink.finishCount, 1, "finish() must reach the end of the sink chain once")
        return sink.bytes
    }

    /// Reads every member: headers and data.
    static func readAll(_ path: String, offset: UInt64 = 0, raw: Bool = false) throws -> [Member] {
        let reader = try ArchiveReader(path: path, offset: offset, raw: raw)
        var members: [Member] = []
        while let header = try reader.next() {
            members.append(Member(header: header, data: try reader.readAll()))
        }
        return members
    }

    /// Deterministic pseudo-random bytes (xorshift), compressible only a little.
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out[i] = UInt8(truncatingIfNeeded: state)
        }
        return out
    }

    /// Text-like bytes that compress well but not trivially.
    static func text(_ count: Int) -> [UInt8] {
        let words = ["package", "layer", "reproducible", "archive", "deflate", "tar", "cpio", "rpm", "deb", "oci",
                     "\n", "the", "of", "build", "zstd", "xz", "gzip", "manifest"]
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var i: UInt64 = 7
        while out.count < count {
            i = i &* 6364136223846793005 &+ 1442695040888963407
            out.append(contentsOf: words[Int((i >> 33) % UInt64(words.count))].utf8)
            out.append(UInt8(ascii: " "))
        }
        return Array(out.prefix(count))
    }
}

extension Array where Element == UInt8 {
    func containsBytes(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count, !needle.isEmpty else { return needle.isEmpty }
        return indices.dropLast(needle.count - 1).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

func assertThrowsPkgLayerError(_ code: PkgLayerError.Code, _ body: @autoclosure () throws -> Any,
                               file: StaticString = #filePath, line: UInt = #line,
                               check: (PkgLayerError) -> Void = { _ in }) {
    do {
        _ = try body()
        XCTFail("expected a PkgLayerError(\(code))", file: file, line: line)
    } catch let error as PkgLayerError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        check(error)
    } catch {
        XCTFail("expected a PkgLayerError, got \(error)", file: file, line: line)
    }
}
