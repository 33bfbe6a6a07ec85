import CLZMA
import Foundation
import PkgLayerCore

/// xz through liblzma's multi-threaded encoder with a fixed block size (so output is independent of
/// the thread count), CRC64 check.
///
/// The MT encoder cuts the input into .xz blocks of `block_size` bytes and compresses them
/// independently; the block size is derived from the level alone (`blockSize(forLevel:)`), and the MT
/// encoder is used even for one thread, so the bytes never depend on the thread count (checked in the
/// tests: 1, 2 and 3 threads give identical output). Memory: about (3 × block + the encoder's own)
/// per thread; the thread count changes only memory and speed.
public final class XZSink: ByteSink {
    private let next: ByteSink
    private let stream: UnsafeMutablePointer<lzma_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var state: SinkState = .open

    /// liblzma's own default (3 × the preset's dictionary, at least 1 MiB), capped at 24 MiB, which is
    /// the default for level 6. The cap bounds memory at levels 7–9; the dictionary is then capped at
    /// the block size, since every block is compressed on its own and a larger dictionary is never used.
    public static func blockSize(forLevel level: Int) -> UInt64 {
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, UInt32(clamping: level)) == 0 else { return 24 << 20 }
        return blockSize(dictionarySize: options.dict_size)
    }

    static func blockSize(dictionarySize: UInt32) -> UInt64 {
        max(1 << 20, min(3 * UInt64(dictionarySize), 24 << 20))
    }

    public init(next: ByteSink, level: Int, threads: Int) throws {
        guard (0...9).contains(level) else {
            throw PkgLayerError(.usage, "xz level must be in 0...9, got \(level)", at: "xz")
        }
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, UInt32(level)) == 0 else {
            throw PkgLayerError(.archive, "liblzma does not know preset \(level)", at: "xz")
        }
        let block = Self.blockSize(dictionarySize: options.dict_size)
        options.dict_size = UInt32(min(UInt64(options.dict_size), block))

        let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        stream.initialize(to: lzma_stream()) // all zero: LZMA_STREAM_INIT
        let status: lzma_ret = withUnsafeMutablePointer(to: &options) { optionsPointer in
            // LZMA_FILTER_LZMA2 is 0x21; LZMA_VLI_UNKNOWN (UINT64_MAX) ends the chain. Neither macro imports.
            let filters = [lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(optionsPointer)),
                           lzma_filter(id: UInt64.max, options: nil)]
            return filters.withUnsafeBufferPointer { chain in
                var mt = lzma_mt()
                mt.flags = 0
                mt.threads = UInt32(max(1, min(threads, 64)))
                mt.block_size = block
                mt.timeout = 0
                mt.preset = UInt32(level)
                mt.filters = chain.baseAddress
                mt.check = LZMA_CHECK_CRC64
                return lzma_stream_encoder_mt(stream, &mt)
            }
        }
        guard status == LZMA_OK else {
            stream.deallocate()
            throw Self.error(status, "starting the encoder")
        }
        self.next = next
        self.stream = stream
        output = .allocate(byteCount: 1 << 20, alignment: 64)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
        output.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try state.requireOpen("xz")
        guard bytes.count > 0 else { return }
        stream.pointee.next_in = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = bytes.count
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while stream.pointee.avail_in > 0 {
            let status = lzma_code(stream, LZMA_RUN)
            guard status == LZMA_OK else {
                state = .failed
                throw Self.error(status, "compressing")
            }
            if stream.pointee.avail_out == 0 { try flush() }
        }
    }

    public func finish() throws {
        try state.requireOpen("xz")
        while true {
            let status = lzma_code(stream, LZMA_FINISH)
            if status == LZMA_STREAM_END { break }
            guard status == LZMA_OK else {
                state = .failed
                throw Self.error(status, "finishing")
            }
            if stream.pointee.avail_out == 0 { try flush() }
        }
        try flush()
        state = .finished
        try next.finish()
    }

    private func flush() throws {
        let produced = output.count - stream.pointee.avail_out
        if produced > 0 {
            do { try next.write(UnsafeRawBufferPointer(rebasing: output[0..<produced])) } catch {
                state = .failed
                throw error
            }
        }
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
    }

    private static func error(_ status: lzma_ret, _ what: String) -> PkgLayerError {
        let reason: String
        switch status {
        case LZMA_MEM_ERROR: reason = "out of memory (fewer threads need less)"
        case LZMA_MEMLIMIT_ERROR: reason = "memory limit reached"
        case LZMA_OPTIONS_ERROR: reason = "unsupported options"
        case LZMA_UNSUPPORTED_CHECK: reason = "CRC64 check not supported by this liblzma"
        case LZMA_PROG_ERROR: reason = "invalid use of liblzma"
        default: reason = "liblzma status \(status.rawValue)"
        }
        return PkgLayerError(.archive, "\(what) failed: \(reason)", at: "xz")
    }
}
