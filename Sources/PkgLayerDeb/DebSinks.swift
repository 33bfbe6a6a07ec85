import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Collects bytes in memory: the control tarball, which is small.
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    func finish() throws {}
}
