import CArchive
import Foundation
import PkgLayerCore

/// What one reader has taken out of its archive so far, against `InputLimits` (docs/limits.md).
struct ArchiveUsage {
    /// The archive's own size: the file's bytes past the start offset (compressed, when it is);
    /// nil when it is not a regular file.
    var inputBytes: UInt64?
    var entries = 0
    var extracted: UInt64 = 0

    init() {}

    init(path: String, offset: UInt64) {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, UInt64(info.st_size) >= offset {
            inputBytes = UInt64(info.st_size) - offset
        }
    }
}

/// The limits every archive read through an `ArchiveReader` is held to, whoever reads it (source
/// tarballs, .deb and .rpm payloads, image layers, compressed indexes):
///
/// - at most `archiveEntries` members;
/// - at most `extractedBytes` of content (decompressed, sparse holes included), and, past the first
///   `expansionFloorBytes`, at most `expansionRatio` bytes per byte of the archive file: a few MB of
///   gzip, xz or zstd can expand to terabytes (a decompression bomb), and no genuine archive pkglayer
///   reads is both small and that large. A member that claims more than what is left is refused at its
///   header, before anything of it is written;
/// - in a tar, cpio or ar stored without compression, a member may not claim more bytes than the
///   file still holds after its header (a forged or truncated header).
///
/// A refusal is thrown from `next()` or `readData`; callers that extract remove what they created
/// (`ArchiveExtractor.removeAll()`).
extension ArchiveReader {
    /// The extraction cap in force and the limit that sets it: the absolute one, or the expansion
    /// ratio when that is lower for this archive's size.
    var extractionCap: (bytes: UInt64, limit: InputLimits.Name) {
        let absolute = limits[.extractedBytes]
        let ratio = limits[.expansionRatio]
        guard ratio > 0, let input = usage.inputBytes else { return (absolute, .extractedBytes) }
        let scaled = input.multipliedReportingOverflow(by: ratio)
        let byRatio = max(limits[.expansionFloorBytes], scaled.overflow ? .max : scaled.partialValue)
        return byRatio < absolute ? (byRatio, .expansionRatio) : (absolute, .extractedBytes)
    }

    /// Counts a member and checks what its header claims, before any of its content is read.
    func admit(_ header: ArchiveEntryHeader, _ entry: OpaquePointer) throws {
        usage.entries += 1
        if usage.entries > limits.int(.archiveEntries) {
            throw limits.exceeded(.archiveEntries, "the archive's member count", actual: UInt64(usage.entries), at: "\(path): \(header.path)",
                                  hint: "an archive this large is a bomb of empty members or not one pkglayer should unpack")
        }
        guard header.size > 0 else { return }
        let cap = extractionCap
        let left = cap.bytes - min(cap.bytes, usage.extracted)
        if header.size > left {
            throw capError(cap, at: "\(path): \(header.path)",
                           claim: "member '\(header.path)' claims \(InputLimits.describe(header.size, bytes: true)), more than the \(InputLimits.describe(left, bytes: true)) it may still extract")
        }
        // Stored without compression, every byte a member claims must be in the file after its header.
        let format = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK
        guard [ARCHIVE_FORMAT_TAR, ARCHIVE_FORMAT_CPIO, ARCHIVE_FORMAT_AR].contains(format),
              archive_filter_code(archive, 0) == ARCHIVE_FILTER_NONE,
              archive_entry_sparse_count(entry) == 0,
              let input = usage.inputBytes else { return }
        let position = UInt64(max(0, archive_read_header_position(archive)))
        let remaining = input - min(input, position)
        if header.size > remaining {
            throw PkgLayerError(.archive, "member '\(header.path)' claims \(header.size) bytes but only \(remaining) bytes of the archive follow its header; the archive is truncated or its header is forged",
                                at: path)
        }
    }

    /// Counts `count` more bytes of content (holes of sparse members included).
    func consume(_ count: UInt64, at location: String) throws {
        usage.extracted += count
        let cap = extractionCap
        if usage.extracted > cap.bytes { throw capError(cap, at: location, claim: nil) }
    }

    private func capError(_ cap: (bytes: UInt64, limit: InputLimits.Name), at location: String, claim: String?) -> PkgLayerError {
        let prefix = claim.map { "\($0); " } ?? ""
        if cap.limit == .expansionRatio, let input = usage.inputBytes {
            return limits.exceeded(.expansionRatio, "the archive's expansion", at: location,
                                   hint: "\(prefix)its \(InputLimits.describe(input, bytes: true)) would expand past \(InputLimits.describe(cap.bytes, bytes: true)) (\(limits[.expansionRatio])× its size, beyond the \(InputLimits.describe(limits[.expansionFloorBytes], bytes: true)) any archive may expand to): a decompression bomb, or an archive of mostly zeros")
        }
        return limits.exceeded(.extractedBytes, "the archive's content", at: location,
                               hint: "\(prefix)it is larger than anything pkglayer unpacks, or a decompression bomb")
    }
}
