import PkgLayerCore

/// A stream compression with its level. Compression is done by pkglayer's own sinks over zlib,
/// liblzma and libzstd (not by libarchive's filters), so that every codec uses both cores and every
/// header field is fixed: gzip carries mtime 0 and OS 255 (unknown), whatever the machine.
public enum Compression: Equatable, Sendable, CustomStringConvertible {
    case none
    case gzip(level: Int)
    case xz(level: Int)
    case zstd(level: Int)

    /// Parses `gzip`, `gz`, `xz`, `zstd`, `zst`, `none`, with an optional level.
    /// `field` names the flag in errors (for example `--rpm-compression`).
    public init(name: String, level: Int?, field: String) throws {
        switch name.lowercased() {
        case "gzip", "gz": self = .gzip(level: level ?? 6)
        case "xz": self = .xz(level: level ?? 6)
        case "zstd", "zst": self = .zstd(level: level ?? 3)
        case "none", "": self = .none
        default:
            throw PkgLayerError(.usage, "unknown compression '\(name)'; use gzip, xz, zstd or none", at: field)
        }
        try validateLevel(field: field)
    }

    public func validateLevel(field: String) throws {
        let range: ClosedRange<Int>
        switch self {
        case .none: return
        case .gzip(let l): range = 1...9; if range.contains(l) { return }
        case .xz(let l): range = 0...9; if range.contains(l) { return }
        case .zstd(let l): range = 1...19; if range.contains(l) { return }
        }
        throw PkgLayerError(.usage, "\(self) level must be in \(range.lowerBound)...\(range.upperBound)", at: field)
    }

    /// File-name suffix, without the dot: `gz`, `xz`, `zst`, or "" for none.
    public var fileExtension: String {
        switch self {
        case .none: return ""
        case .gzip: return "gz"
        case .xz: return "xz"
        case .zstd: return "zst"
        }
    }

    public var level: Int? {
        switch self {
        case .none: return nil
        case .gzip(let l), .xz(let l), .zstd(let l): return l
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .xz: return "xz"
        case .zstd: return "zstd"
        }
    }

    /// A sink that compresses what it is given and writes the result to `next`.
    /// `threads` is how many cores to use; the output bytes do not depend on it.
    public func makeSink(wrapping next: ByteSink, threads: Int = defaultThreads) throws -> ByteSink {
        switch self {
        case .none: return PassThroughSink(next: next)
        case .gzip(let level):
            switch GzipEngine.current {
            case .libdeflate: return try DeflateGzipSink(next: next, level: level, threads: threads)
            case .zlib: return try ParallelGzipSink(next: next, level: level, threads: threads)
            }
        case .xz(let level): return try XZSink(next: next, level: level, threads: threads)
        case .zstd(let level): return try ZstdSink(next: next, level: level, threads: threads)
        }
    }

    public static var defaultThreads: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)) }
}

import Foundation

/// Forwards bytes unchanged.
public final class PassThroughSink: ByteSink {
    let next: ByteSink
    public init(next: ByteSink) { self.next = next }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { try next.write(bytes) }
    public func finish() throws { try next.finish() }
}

/// Which deflate writes gzip: libdeflate (the default: 1 MiB blocks, each its own gzip member, on
/// every core) or zlib (one member, pigz-style 128 KiB blocks chained by a 32 KiB dictionary, about
/// 3× slower). `PKGLAYER_GZIP_ENGINE=zlib` picks zlib, for a consumer that insists on one member.
/// Either gives the same bytes on every machine and thread count; they differ from each other.
public enum GzipEngine: String, Sendable {
    case libdeflate, zlib

    public static var current: GzipEngine {
        ProcessInfo.processInfo.environment["PKGLAYER_GZIP_ENGINE"].flatMap(GzipEngine.init(rawValue:)) ?? .libdeflate
    }
}
