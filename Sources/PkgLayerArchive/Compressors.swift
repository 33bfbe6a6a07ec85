import CZlib
import Dispatch
import Foundation
import PkgLayerCore

/// pigz-style gzip: the input is cut into fixed blocks, each deflated on its own core with the previous
/// 32 KiB as dictionary, and joined in order into one gzip member. The bytes depend only on the input,
/// the level and the block size, never on the thread count. Header: mtime 0, OS 255.
///
/// How: input collects in a batch of `2 × threads` blocks of 128 KiB. A full batch is compressed only
/// once more input arrives (so none of its blocks can be the last), each block by a raw deflate stream
/// reset for it, primed with the 32 KiB before the block (`deflateSetDictionary`) and ended with
/// `Z_SYNC_FLUSH` (byte-aligned, not final); `finish()` compresses what is left and ends the last block
/// with `Z_FINISH`. Blocks of a batch are spread over the workers (one reused `z_stream` each) and
/// written in order, with their CRC-32s joined by `crc32_combine`. Block boundaries are fixed offsets
/// of the input, so neither the thread count nor how the input is cut into `write` calls shows in the
/// output. Memory: about 2 × (2 × threads) × 128 KiB.
public final class ParallelGzipSink: ByteSink {
    /// The block size. It shapes the output, so it is a constant, not a tuning knob.
    public static let blockSize = 128 << 10
    static let dictionarySize = 32 << 10

    private let next: ByteSink
    private let workers: Int
    private let batchBlocks: Int
    private let batchBytes: Int
    private let streams: [UnsafeMutablePointer<z_stream>]
    /// `[dictionary: 32 KiB][batch: batchBytes]`; the dictionary holds the input just before the batch.
    private let input: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var dictionaryLength = 0
    private let outputCapacity: Int
    private let outputs: UnsafeMutableRawBufferPointer
    private let results: UnsafeMutableBufferPointer<BlockResult>
    private var crc: UInt = 0
    private var totalIn: UInt64 = 0
    private var wroteHeader = false
    private var state: SinkState = .open

    struct BlockResult {
        var length = 0
        var inputLength = 0
        var crc: UInt = 0
        var failure: Int32 = Z_OK
    }

    public init(next: ByteSink, level: Int, threads: Int) throws {
        guard (0...9).contains(level) else {
            throw PkgLayerError(.usage, "gzip level must be in 0...9, got \(level)", at: "gzip")
        }
        self.next = next
        workers = max(1, min(threads, 64))
        batchBlocks = 2 * workers
        batchBytes = batchBlocks * Self.blockSize
        (streams, outputCapacity) = try Self.makeStreams(count: workers, level: Int32(level))
        input = .allocate(byteCount: Self.dictionarySize + batchBytes, alignment: 64)
        outputs = .allocate(byteCount: outputCapacity * batchBlocks, alignment: 64)
        results = .allocate(capacity: batchBlocks)
        results.initialize(repeating: BlockResult())
        crc = crc32(0, nil, 0)
    }

    /// One raw deflate stream per worker (windowBits -15: the gzip framing is ours; memLevel 8 is
    /// zlib's default), and an output slot size no block can overflow: deflate's worst case plus the
    /// sync-flush marker.
    private static func makeStreams(count: Int, level: Int32) throws -> ([UnsafeMutablePointer<z_stream>], Int) {
        var streams: [UnsafeMutablePointer<z_stream>] = []
        var capacity = blockSize + blockSize / 8 + 1024
        for _ in 0..<count {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let status = deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                stream.deallocate()
                for other in streams {
                    deflateEnd(other)
                    other.deallocate()
                }
                throw PkgLayerError(.archive, "zlib could not start a deflate stream (status \(status))", at: "gzip")
            }
            streams.append(stream)
            capacity = max(capacity, Int(deflateBound(stream, uLong(blockSize))) + 64)
        }
        return (streams, capacity)
    }

    deinit {
        for stream in streams {
            deflateEnd(stream)
            stream.deallocate()
        }
        input.deallocate()
        outputs.deallocate()
        results.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try state.requireOpen("gzip")
        var offset = 0
        while offset < bytes.count {
            // A full batch is compressed only now that more input exists, so none of it is the last block.
            if filled == batchBytes { try compressBatch(final: false) }
            let n = min(bytes.count - offset, batchBytes - filled)
            (input.baseAddress! + Self.dictionarySize + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
        }
    }

    public func finish() throws {
        try state.requireOpen("gzip")
        try compressBatch(final: true)
        var trailer = [UInt8](repeating: 0, count: 8)
        let size = UInt32(truncatingIfNeeded: totalIn)
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: UInt32(truncatingIfNeeded: crc) >> (8 * i))
            trailer[4 + i] = UInt8(truncatingIfNeeded: size >> (8 * i))
        }
        try emit(trailer)
        state = .finished
        try next.finish()
    }

    private func emit(_ bytes: [UInt8]) throws {
        do { try bytes.withUnsafeBytes { try next.write($0) } } catch { state = .failed; throw error }
    }

    /// Compresses the batch: all of it when `final` (the last block ends the stream), else exactly
    /// `batchBlocks` full blocks.
    private func compressBatch(final: Bool) throws {
        if !wroteHeader {
            // ID1 ID2, CM=deflate, FLG=0, MTIME=0, XFL=0, OS=255 (unknown): the same on every machine.
            try emit([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF])
            wroteHeader = true
        }
        let blocks = final ? max(1, (filled + Self.blockSize - 1) / Self.blockSize) : batchBlocks
        let used = min(workers, blocks)
        if used == 1 {
            for i in 0..<blocks { compressBlock(i, of: blocks, final: final, stream: streams[0]) }
        } else {
            // nonisolated(unsafe): each worker compresses its own blocks into its own slots of `outputs`
            // and `results` with its own z_stream; nothing is shared between workers until they all return.
            nonisolated(unsafe) let sink = self
            DispatchQueue.concurrentPerform(iterations: used) { worker in
                for i in stride(from: worker, to: blocks, by: used) {
                    sink.compressBlock(i, of: blocks, final: final, stream: sink.streams[worker])
                }
            }
        }
        for i in 0..<blocks {
            let result = results[i]
            guard result.failure == Z_OK else {
                state = .failed
                throw PkgLayerError(.archive, "deflate failed (zlib status \(result.failure))", at: "gzip")
            }
            do {
                try next.write(UnsafeRawBufferPointer(start: outputs.baseAddress! + i * outputCapacity, count: result.length))
            } catch {
                state = .failed
                throw error
            }
            crc = crc32_combine(crc, result.crc, Int(result.inputLength))
            totalIn += UInt64(result.inputLength)
        }
        if !final {
            // Keep the batch's last 32 KiB as the next batch's first dictionary.
            let base = input.baseAddress!
            base.copyMemory(from: base + Self.dictionarySize + filled - Self.dictionarySize, byteCount: Self.dictionarySize)
            dictionaryLength = Self.dictionarySize
            filled = 0
        }
    }

    /// Deflates block `index` of the batch into its own output slot. Runs on a worker thread: it
    /// touches only its stream, its slot and the (read-only) input.
    private func compressBlock(_ index: Int, of blocks: Int, final: Bool, stream: UnsafeMutablePointer<z_stream>) {
        let data = input.baseAddress! + Self.dictionarySize
        let start = index * Self.blockSize
        let length = min(Self.blockSize, filled - start)
        let last = final && index == blocks - 1
        var result = BlockResult(inputLength: length)
        defer { results[index] = result }

        var status = deflateReset(stream)
        guard status == Z_OK else { result.failure = status; return }
        let dictionary = index == 0 ? data - dictionaryLength : data + start - Self.dictionarySize
        let dictionaryBytes = index == 0 ? dictionaryLength : Self.dictionarySize
        if dictionaryBytes > 0 {
            status = deflateSetDictionary(stream, dictionary.assumingMemoryBound(to: Bytef.self), uInt(dictionaryBytes))
            guard status == Z_OK else { result.failure = status; return }
        }
        let block = (data + start).assumingMemoryBound(to: Bytef.self)
        let out = (outputs.baseAddress! + index * outputCapacity).assumingMemoryBound(to: Bytef.self)
        stream.pointee.next_in = block
        stream.pointee.avail_in = uInt(length)
        stream.pointee.next_out = out
        stream.pointee.avail_out = uInt(outputCapacity)
        status = deflate(stream, last ? Z_FINISH : Z_SYNC_FLUSH)
        let complete = last ? status == Z_STREAM_END : (status == Z_OK && stream.pointee.avail_out > 0)
        guard complete, stream.pointee.avail_in == 0 else {
            result.failure = status == Z_OK ? Z_BUF_ERROR : status
            return
        }
        result.length = outputCapacity - Int(stream.pointee.avail_out)
        result.crc = crc32(0, block, uInt(length))
    }
}

/// Whether a compressing sink may still be written to.
enum SinkState {
    case open, finished, failed

    func requireOpen(_ codec: String) throws {
        switch self {
        case .open: return
        case .finished: throw PkgLayerError(.archive, "the \(codec) stream is already finished", at: codec)
        case .failed: throw PkgLayerError(.archive, "the \(codec) stream failed earlier; its output is incomplete", at: codec)
        }
    }
}
