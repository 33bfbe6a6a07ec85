import Foundation
import PkgLayerArchive
import PkgLayerCore

/// A repository index (apt Packages, yum primary.xml; gz, xz, zst or plain) read as a stream of
/// decompressed chunks, never whole into memory: a decompression bomb costs time, up to
/// `InputLimits.indexBytes` decompressed bytes, and a few chunks of memory (docs/limits.md).
struct IndexStream {
    let path: String
    /// Names the index in errors (its URL).
    let location: String
    let limits: InputLimits

    init(path: String, location: String, limits: InputLimits = .current) {
        self.path = path; self.location = location; self.limits = limits
    }

    /// Hands the decompressed bytes to `body` in order. Returns false when the file holds nothing
    /// at all (not even an empty compressed member).
    @discardableResult
    func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let reader = try ArchiveReader(path: path, raw: true)
        reader.limits = limits
        guard try reader.next() != nil else { return false }
        let limit = limits[.indexBytes]
        var total: UInt64 = 0
        try reader.readData { chunk in
            total += UInt64(chunk.count)
            if total > limit {
                throw limits.exceeded(.indexBytes, "the index, decompressed,", at: location,
                                      hint: "no repository index is this large; it is damaged or a decompression bomb")
            }
            try body(chunk)
        }
        return true
    }
}

/// An `InputStream` fed by a producer running on another thread (the producer pushes, XMLParser pulls):
/// at most `depth` chunks wait between them, so memory stays a few chunks whatever the input's size.
/// Closing the stream (XMLParser does when it stops, on an error or an abort) stops the producer.
///
/// - `produce` gets a `put` function; it throws `ProducedInputStream.Closed` once the reader has gone.
///   An error `produce` throws is the stream's error (`failure`); the reader sees the end of its data.
final class ProducedInputStream: InputStream {
    struct Closed: Error {}

    private let channel: Channel
    private var current: [UInt8] = []
    private var offset = 0

    init(produce: @escaping (@escaping ([UInt8]) throws -> Void) throws -> Void) {
        channel = Channel(produce: produce)
        super.init(data: Data())
    }

    /// What the producer threw (other than `Closed`), once it has ended.
    var failure: Error? { channel.locked { $0.failure } }

    override func open() { channel.start() }

    override var hasBytesAvailable: Bool { true }

    override var streamError: Error? { failure }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength len: Int) -> Int {
        if offset == current.count {
            guard let next = channel.take() else { return failure == nil ? 0 : -1 }
            current = next
            offset = 0
        }
        let n = min(len, current.count - offset)
        current.withUnsafeBufferPointer { source in
            buffer.update(from: source.baseAddress! + offset, count: n)
        }
        offset += n
        return n
    }

    override func close() { channel.close() }

    /// Stops the producer and waits for it to end (call after parsing, whatever its outcome).
    func finish() { channel.finish() }

    /// The queue between the producer's thread and the reader.
    // @unchecked Sendable: every mutable property is read and written only under `condition`.
    private final class Channel: @unchecked Sendable {
        struct State {
            var queue: [[UInt8]] = []
            var producing = false
            var ended = false
            var closed = false
            var failure: Error?
        }
        private let condition = NSCondition()
        private var state = State()
        private let produce: (@escaping ([UInt8]) throws -> Void) throws -> Void
        private let finished = DispatchSemaphore(value: 0)
        private let depth = 4

        init(produce: @escaping (@escaping ([UInt8]) throws -> Void) throws -> Void) {
            self.produce = produce
        }

        func locked<T>(_ body: (inout State) -> T) -> T {
            condition.lock()
            defer { condition.unlock() }
            return body(&state)
        }

        func start() {
            let first = locked { state -> Bool in
                defer { state.producing = true }
                return !state.producing
            }
            guard first else { return }
            Thread.detachNewThread { [self] in
                do {
                    try produce { [self] chunk in
                        condition.lock()
                        defer { condition.unlock() }
                        while state.queue.count >= depth && !state.closed { condition.wait() }
                        if state.closed { throw Closed() }
                        state.queue.append(chunk)
                        condition.broadcast()
                    }
                } catch is Closed {
                } catch {
                    locked { $0.failure = error }
                }
                condition.lock()
                state.ended = true
                condition.broadcast()
                condition.unlock()
                finished.signal()
            }
        }

        /// The next chunk, or nil at the end (or once closed).
        func take() -> [UInt8]? {
            condition.lock()
            defer { condition.unlock() }
            while state.queue.isEmpty && !state.ended && !state.closed { condition.wait() }
            guard !state.queue.isEmpty else { return nil }
            condition.broadcast()
            return state.queue.removeFirst()
        }

        func close() {
            condition.lock()
            state.closed = true
            condition.broadcast()
            condition.unlock()
        }

        func finish() {
            close()
            if locked({ $0.producing }) { finished.wait(); finished.signal() }
        }
    }
}
