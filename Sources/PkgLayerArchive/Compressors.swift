import CLZMA
import CZlib
import CZstd
import Foundation
import PkgLayerCore

/// pigz-style gzip: the input is cut into fixed blocks, each deflated on its own core with the previous
/// 32 KiB as dictionary, and joined in order into one gzip member. The bytes depend only on the input,
/// the level and the block size, never on the thread count. Header: mtime 0, OS 255.
public final class ParallelGzipSink: ByteSink {
    public init(next: ByteSink, level: Int, threads: Int) throws { fatalError("unimplemented") }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { fatalError("unimplemented") }
    public func finish() throws { fatalError("unimplemented") }
}

/// xz through liblzma's multi-threaded encoder with a fixed block size (so output is independent of
/// the thread count), CRC64 check.
public final class XZSink: ByteSink {
    public init(next: ByteSink, level: Int, threads: Int) throws { fatalError("unimplemented") }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { fatalError("unimplemented") }
    public func finish() throws { fatalError("unimplemented") }
}

/// zstd through libzstd's streaming API with worker threads (output independent of their number),
/// with content checksum.
public final class ZstdSink: ByteSink {
    public init(next: ByteSink, level: Int, threads: Int) throws { fatalError("unimplemented") }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { fatalError("unimplemented") }
    public func finish() throws { fatalError("unimplemented") }
}
