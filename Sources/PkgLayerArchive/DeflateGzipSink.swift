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
/// Memory: 2 × (2 × threads) blocks of input and output, twice over when threads > 1 (one batch
/// compresses while the next fills).
public final class DeflateGzipSink: ByteSink {
    /// The block size. It shapes the output, so it is a constant, not a tuning knob.
    public static let blockSize = 1 << 20

    private let next: ByteSink
    private let workers: Int
    private let batchBlocks: Int
    private let compressors: [OpaquePointer]
    private let outputCapacity: Int
    /// Two batches of buffers: with more than one thread, one batch compresses in the background
    /// while the caller fills the other (reading files, building tar headers), so both overlap.
    private let inputs: [UnsafeMutableRawBufferPointer]
    private let outputs: [UnsafeMutableRawBufferPointer]
    private let lengths: [UnsafeMutableBufferPointer<Int>]
    private var current = 0
    private var filled = 0
    /// The batch compressing in the background: its buffer index, block count and completion.
    private var pending: (index: Int, blocks: Int, group: DispatchGroup)?
    private var startedAny = false
    private var state: SinkState = .open

    public init(next: ByteSink, level: Int, threads: Int) throws {
        guard (0...9).contains(level) else {
            throw PkgLayerError(.usage, "gzip level must be in 0...9, got \(level)", at: "gzip")
        }
        self.next = next
        let count = max(1, min(threads, 64))
        workers = count
        batchBlocks = 2 * count
        var made: [OpaquePointer] = []
        for _ in 0..<workers {
            guard let compressor = libdeflate_alloc_compressor(Int32(level)) else {
                made.forEach { libdeflate_free_compressor($0) }
                throw PkgLayerError(.archive, "libdeflate could not allocate a compressor at level \(level)", at: "gzip")
            }
            made.append(compressor)
        }
        compressors = made
        let capacity = libdeflate_gzip_compress_bound(made[0], Self.blockSize)
        outputCapacity = capacity
        let buffers = count > 1 ? 2 : 1
        inputs = (0..<buffers).map { _ in .allocate(byteCount: 2 * count * Self.blockSize, alignment: 64) }
        outputs = (0..<buffers).map { _ in .allocate(byteCount: 2 * count * capacity, alignment: 64) }
        lengths = (0..<buffers).map { _ in
            let l = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2 * count)
            l.initialize(repeating: 0)
            return l
        }
    }

    deinit {
        // A batch still compressing uses the buffers and compressors: let it end first.
        pending?.group.wait()
        compressors.forEach { libdeflate_free_compressor($0) }
        inputs.forEach { $0.deallocate() }
        outputs.forEach { $0.deallocate() }
        lengths.forEach { $0.deallocate() }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try state.requireOpen("gzip")
        var offset = 0
        let batchBytes = batchBlocks * Self.blockSize
        while offset < bytes.count {
            if filled == batchBytes { try compressBatch() }
            let n = min(bytes.count - offset, batchBytes - filled)
            (inputs[current].baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
        }
    }

    public func finish() throws {
        try state.requireOpen("gzip")
        // An empty input is still one (empty) member: a gzip file is never zero bytes.
        if filled > 0 || !startedAny { try compressBatch() }
        try drainPending()
        state = .finished
        try next.finish()
    }

    /// Starts compressing the filled part of the batch, one member per block, after writing out the
    /// batch before it. With one thread the batch compresses here and is written at once.
    private func compressBatch() throws {
        try drainPending()
        let blocks = max(1, (filled + Self.blockSize - 1) / Self.blockSize)
        let used = min(workers, blocks)
        let filled = self.filled
        let index = current
        // nonisolated(unsafe): each worker reads its own blocks of `inputs[index]`, writes its own slots
        // of `outputs[index]` and `lengths[index]`, and uses its own compressor; the caller touches
        // neither that batch nor the compressors until the group has finished (drainPending, deinit).
        nonisolated(unsafe) let input = inputs[index]
        nonisolated(unsafe) let output = outputs[index]
        nonisolated(unsafe) let length = lengths[index]
        nonisolated(unsafe) let compressors = self.compressors
        let capacity = outputCapacity
        let work: @Sendable (Int) -> Void = { worker in
            for i in stride(from: worker, to: blocks, by: used) {
                let start = i * Self.blockSize
                let count = min(Self.blockSize, filled - start)
                length[i] = libdeflate_gzip_compress(compressors[worker], input.baseAddress! + start, max(0, count),
                                                     output.baseAddress! + i * capacity, capacity)
            }
        }
        let group = DispatchGroup()
        if inputs.count == 1 {
            if used == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: used, execute: work) }
        } else {
            DispatchQueue.global().async(group: group) {
                if used == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: used, execute: work) }
            }
        }
        pending = (index, blocks, group)
        startedAny = true
        current = (current + 1) % inputs.count
        self.filled = 0
        if inputs.count == 1 { try drainPending() }
    }

    /// Waits for the batch in the background and writes its members in order.
    private func drainPending() throws {
        guard let batch = pending else { return }
        batch.group.wait()
        pending = nil
        for i in 0..<batch.blocks {
            let length = lengths[batch.index][i]
            guard length > 0 else {
                state = .failed
                throw PkgLayerError(.archive, "libdeflate could not compress a block (no room in \(outputCapacity) bytes)", at: "gzip")
            }
            do {
                try next.write(UnsafeRawBufferPointer(start: outputs[batch.index].baseAddress! + i * outputCapacity, count: length))
            } catch {
                state = .failed
                throw error
            }
        }
    }
}
