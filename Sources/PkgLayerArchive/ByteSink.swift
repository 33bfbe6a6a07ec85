import PkgLayerCore

/// Where a stream of bytes goes: a file, a compressor, a hasher. Sinks chain:
/// libarchive → HashingSink → compressor → HashingSink → AtomicFile.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything; a compressor writes its trailer and finishes its `next` sink too.
    func finish() throws
}

extension AtomicFile: ByteSink {
    /// Finishing an AtomicFile does not commit it: the owner commits once every part is written.
    public func finish() throws {}
}

/// Counts and hashes (sha256, optionally md5/sha1) what passes through, then forwards it.
public final class HashingSink: ByteSink {
    public let next: ByteSink?
    public private(set) var hasher: StreamingHasher
    public private(set) var count: UInt64 = 0

    public init(next: ByteSink?, algorithms: Set<StreamingHasher.Algorithm> = [.sha256]) {
        self.next = next
        hasher = StreamingHasher(algorithms)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        count += UInt64(bytes.count)
        try next?.write(bytes)
    }

    public func finish() throws { try next?.finish() }

    public var sha256Hex: String { hasher.finalizeSHA256().hexString }
}
