import Foundation
import PkgLayerCore

/// The bounds on an rpm's headers, checked from their 16-byte intro before anything is allocated
/// (docs/limits.md):
///
/// - rpm's own format limits, which no setting raises (lib/header.c, `hdrblobVerifyLengths`): a main
///   header has at most 0xffff tags and 256 MiB of data, a signature header at most 32 tags and
///   64 MiB;
/// - pkglayer's `rpmHeaderTags` and `rpmHeaderBytes` (default 0xffff tags and 64 MiB: the largest
///   distribution packages, with 100 000+ files, have headers of a few tens of MiB);
/// - the file itself: a header may not claim more bytes than the file holds after its intro, so a
///   doctored count costs a `stat`, not an allocation of what it claims.
extension RPMPackageFile {
    /// rpm's limits for the signature header.
    static let maxSignatureTags: UInt32 = 32
    static let maxSignatureData: UInt32 = 64 << 20

    static func checkHeaderSize(tags: UInt32, data: UInt32, at offset: UInt64, fd: Int32, path: String, what: String) throws {
        let signature = what.hasPrefix("signature")
        let (formatTags, formatData) = signature ? (maxSignatureTags, maxSignatureData) : (maxTags, maxData)
        guard tags >= 1, tags <= formatTags, data <= formatData else {
            throw PkgLayerError(.rpm, "the \(what) claims \(tags) tags and \(data) bytes of data, beyond rpm's limits (\(formatTags) tags, \(formatData) bytes); the file is damaged or forged",
                                at: path)
        }
        let limits = InputLimits.current
        if UInt64(tags) > limits[.rpmHeaderTags] {
            throw limits.exceeded(.rpmHeaderTags, "the \(what)'s tag count", actual: UInt64(tags), at: path,
                                  hint: "rpm packages have a few dozen tags; the file is damaged or forged")
        }
        if UInt64(data) > limits[.rpmHeaderBytes] {
            throw limits.exceeded(.rpmHeaderBytes, "the \(what)'s data", actual: UInt64(data), at: path,
                                  hint: "only packages with hundreds of thousands of files come near it; the file is damaged or forged")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw PkgLayerError.posix("stat", path: path) }
        let claimed = 16 + UInt64(tags) * 16 + UInt64(data)
        let available = UInt64(max(0, info.st_size)) - min(UInt64(max(0, info.st_size)), offset)
        if claimed > available {
            throw PkgLayerError(.rpm, "is truncated or forged: the \(what) claims \(claimed) bytes (\(tags) tags, \(data) bytes of data) but only \(available) bytes follow its start; download or copy the package again",
                                at: path)
        }
    }
}
