import Foundation
import PkgLayerArchive
import PkgLayerCore

/// rpm's "stripped" cpio, used instead of newc when a file reaches 4 GiB (newc sizes are 8 hex digits).
///
/// Each member is the magic `07070X`, the member's index into the header's file arrays as 8 hex
/// digits, padding to 4 bytes, then the data (its size comes from the header), padding to 4 bytes.
/// Everything else about a file (name, mode, owner, size) is in the header. The archive ends with an
/// ordinary newc `TRAILER!!!` member. libarchive does not know this format, so pkglayer writes and
/// parses it itself.
enum StrippedCpio {
    static let magic = Array("07070X".utf8)
    static let newcMagic = Array("070701".utf8)
    static let trailerName = Array("TRAILER!!!".utf8) + [0]
}

/// Writes a stripped cpio to a sink, tracking the offset for padding.
final class StrippedCpioWriter {
    private let sink: ByteSink
    private(set) var offset: UInt64 = 0

    init(sink: ByteSink) { self.sink = sink }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink.write($0) }
        offset += UInt64(bytes.count)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
        offset += UInt64(bytes.count)
    }

    private func pad() throws {
        let left = Int((4 - offset % 4) % 4)
        if left > 0 { try emit([UInt8](repeating: 0, count: left)) }
    }

    func writeHeader(fileIndex: Int) throws {
        try pad()
        try emit(StrippedCpio.magic + Array(String(format: "%08x", fileIndex).utf8))
        try pad()
    }

    /// Streams a file's content; fails if the file's size is not the size the header promises.
    func writeContent(of path: String, expectedSize: UInt64, member: String) throws {
        var written: UInt64 = 0
        try FileReader.forEachBlock(path: path) { block in
            written += UInt64(block.count)
            guard written <= expectedSize else { return }
            try write(block)
        }
        guard written == expectedSize else {
            throw PkgLayerError(.io, "has \(written) bytes but the manifest says \(expectedSize); the file changed after the manifest was built",
                                at: member)
        }
    }

    /// The newc trailer rpm ends every payload with, then finishes the sink chain.
    func finish() throws {
        try pad()
        var fields = [UInt8](repeating: UInt8(ascii: "0"), count: 104)
        fields.replaceSubrange(32..<40, with: Array("00000001".utf8))   // nlink
        fields.replaceSubrange(88..<96, with: Array("0000000b".utf8))   // namesize
        try emit(StrippedCpio.newcMagic + fields + StrippedCpio.trailerName)
        try pad()
        try sink.finish()
    }
}

/// Parses a stripped cpio pushed to it in arbitrary chunks, calling back for each member's start and
/// data. Sizes come from the caller (the header), as rpm does.
final class StrippedCpioParser {
    enum Event {
        case member(fileIndex: Int)
        case data(UnsafeRawBufferPointer)
        case end
    }

    private enum State { case padBeforeHeader, header, padAfterHeader, data(remaining: UInt64), trailer, done }
    private var state: State = .padBeforeHeader
    private var offset: UInt64 = 0
    private var pending: [UInt8] = []
    private let sizeOf: (Int) throws -> UInt64
    private let handler: (Event) throws -> Void
    private let path: String

    /// - Parameter sizeOf: the payload size of a file index (0 for hardlink members without data);
    ///   throws for an index the header does not have.
    init(path: String, sizeOf: @escaping (Int) throws -> UInt64, handler: @escaping (Event) throws -> Void) {
        self.path = path; self.sizeOf = sizeOf; self.handler = handler
    }

    var isDone: Bool { if case .done = state { return true }; return false }

    func consume(_ chunk: UnsafeRawBufferPointer) throws {
        var rest = chunk[...]
        while !rest.isEmpty {
            switch state {
            case .done:
                // Padding after the trailer (zero bytes) is allowed; anything else is not.
                guard rest.allSatisfy({ $0 == 0 }) else { throw malformed("data after the trailer") }
                offset += UInt64(rest.count)
                return
            case .padBeforeHeader, .padAfterHeader:
                let left = Int((4 - offset % 4) % 4)
                let take = min(left, rest.count)
                offset += UInt64(take)
                rest = rest.dropFirst(take)
                if take == left {
                    if case .padBeforeHeader = state { state = .header } else { try beginData() }
                }
            case .header:
                let need = 14 - pending.count
                let take = min(need, rest.count)
                pending += rest.prefix(take)
                offset += UInt64(take)
                rest = rest.dropFirst(take)
                if pending.count == 14 { try parseHeader() }
            case .trailer:
                let need = 104 + StrippedCpio.trailerName.count - pending.count
                let take = min(need, rest.count)
                pending += rest.prefix(take)
                offset += UInt64(take)
                rest = rest.dropFirst(take)
                if pending.count == 104 + StrippedCpio.trailerName.count {
                    guard Array(pending.suffix(StrippedCpio.trailerName.count)) == StrippedCpio.trailerName else {
                        throw malformed("a newc member other than the trailer")
                    }
                    pending = []
                    state = .done
                    try handler(.end)
                }
            case .data(let remaining):
                let take = Int(min(remaining, UInt64(rest.count)))
                let slice = UnsafeRawBufferPointer(rebasing: rest.prefix(take))
                try handler(.data(slice))
                offset += UInt64(take)
                rest = rest.dropFirst(take)
                state = remaining - UInt64(take) == 0 ? .padBeforeHeader : .data(remaining: remaining - UInt64(take))
            }
        }
    }

    private var currentIndex = -1

    private func parseHeader() throws {
        let magic = Array(pending[0..<6])
        if magic == StrippedCpio.newcMagic {
            pending = Array(pending[6...])
            state = .trailer
            return
        }
        guard magic == StrippedCpio.magic, let index = Int(String(decoding: pending[6..<14], as: UTF8.self), radix: 16) else {
            throw malformed("a member header that is neither stripped (07070X) nor the trailer")
        }
        pending = []
        currentIndex = index
        try handler(.member(fileIndex: index))
        state = .padAfterHeader
    }

    private func beginData() throws {
        let size = try sizeOf(currentIndex)
        state = size == 0 ? .padBeforeHeader : .data(remaining: size)
    }

    func finish() throws {
        guard isDone else { throw malformed("the archive ends before its trailer") }
    }

    private func malformed(_ what: String) -> PkgLayerError {
        PkgLayerError(.rpm, "the stripped cpio payload is malformed: \(what) at payload offset \(offset)", at: path)
    }
}
