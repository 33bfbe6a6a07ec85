import CDeflate
import Dispatch
import Foundation
import PkgLayerCore

/// Block-parallel gzip with libdeflate: the input is cut into fixed 1 MiB blocks and each becomes its
/// own gzip member (RFC 1952 allows any number in one file; zlib's gzread, rpm, dpkg, libarchive,
/// Go's compress/gzip and `gzip -t` all read them as one stream). libdeflate compresses a whole buffer
/// at once, several times faster than zlib at a comparable ratio, and a block needs nothing from the
/// one before it, so blocks spread over every core. Bytes depend only on the input, the level and the
/// block size — never on the thread count or on how the input is cut into `write` calls. Each member's
/// header is libdeflate's: mtime 0, no name, OS 255.
///
/// Memory: 2 × (2 × threads) blocks of input and output.
public final class DeflateGzipSink: ByteSink {
    /// The block size. It shapes the output, so it is a constant, not a tuning knob.
    public static let blockSize = 1 << 20

    private let next: ByteSink
    private let workers: Int
    private let batchBlocks: Int
    private let compressors: [OpaquePointer]
    private let input: UnsafeMutableRawBufferPointer
    private var filled = 0
    private let outputCapacity: Int
    private let outputs: UnsafeMutableRawBufferPointer
    private let lengths: UnsafeMutableBufferPointer<Int>
    private var wroteAny = false
    private var state: SinkState = .open

    public init(next: ByteSink, level: Int, threads: Int) throws {
        guard (0...9).contains(level) else {
            throw PkgLayerError(.usage, "gzip level must be in 0...9, got \(level)", at: "gzip")
        }
        self.next = next
        workers = max(1, min(threads, 64))
        batchBlocks = 2 * workers
        var made: [OpaquePointer] = []
        for _ in 0..<workers {
            guard let compressor = libdeflate_alloc_compressor(Int32(level)) else {
                made.forEach { libdeflate_free_compressor($0) }
                throw PkgLayerError(.archive, "libdeflate could not allocate a compressor at level \(level)", at: "gzip")
            }
            made.append(compressor)
        }
        compressors = made
        outputCapacity = libdeflate_gzip_compress_bound(made[0], Self.blockSize)
        input = .allocate(byteCount: batchBlocks * Self.blockSize, alignment: 64)
        outputs = .allocate(byteCount: batchBlocks * outputCapacity, alignment: 64)
        lengths = .allocate(capacity: batchBlocks)
        lengths.initialize(repeating: 0)
    }

    deinit {
        compressors.forEach { libdeflate_free_compressor($0) }
        input.deallocate()
        outputs.deallocate()
        lengths.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try state.requireOpen("gzip")
        var offset = 0
        let batchBytes = batchBlocks * Self.blockSize
        while offset < bytes.count {
            if filled == batchBytes { try compressBatch() }
            let n = min(bytes.count - offset, batchBytes - filled)
            (input.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
        }
    }

    public func finish() throws {
        try state.requireOpen("gzip")
        // An empty input is still one (empty) member: a gzip file is never zero bytes.
        if filled > 0 || !wroteAny { try compressBatch() }
        state = .finished
        try next.finish()
    }

    /// Compresses the filled part of the batch, one member per block, and writes them in order.
    private func compressBatch() throws {
        let blocks = max(1, (filled + Self.blockSize - 1) / Self.blockSize)
        let used = min(workers, blocks)
        let filled = self.filled
        // nonisolated(unsafe): each worker reads its own blocks of `input`, writes its own slots of
        // `outputs` and `lengths`, and uses its own compressor; nothing is shared until all return.
        nonisolated(unsafe) let sink = self
        let work: @Sendable (Int) -> Void = { worker in
            for i in stride(from: worker, to: blocks, by: used) {
                let start = i * Self.blockSize
                let length = min(Self.blockSize, filled - start)
                sink.lengths[i] = libdeflate_gzip_compress(sink.compressors[worker], sink.input.baseAddress! + start, max(0, length),
                                                           sink.outputs.baseAddress! + i * sink.outputCapacity, sink.outputCapacity)
            }
        }
        if used == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: used, execute: work) }
        for i in 0..<blocks {
            guard lengths[i] > 0 else {
                state = .failed
                throw PkgLayerError(.archive, "libdeflate could not compress a block (no room in \(outputCapacity) bytes)", at: "gzip")
            }
            do {
                try next.write(UnsafeRawBufferPointer(start: outputs.baseAddress! + i * outputCapacity, count: lengths[i]))
            } catch {
                state = .failed
                throw error
            }
        }
        wroteAny = true
        self.filled = 0
    }
}
