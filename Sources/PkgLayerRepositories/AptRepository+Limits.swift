import PkgLayerCore

/// The bounds on an apt `Packages` index (docs/limits.md): at most `indexEntries` packages (2 000 000;
/// Debian's largest, amd64 main, has about 65 000) and at most `indexParagraphBytes` per paragraph
/// (1 MiB; the largest real paragraphs, with Provides lists of thousands of entries, are some
/// hundred KiB). The decompressed index is read as a stream (`PackagesParser`, `IndexStream`), at most
/// `indexBytes` (2 GiB) of it: only the current line and paragraph are held in memory.
extension AptRepository {
    /// Checks the package count after `count` packages, before another is added.
    static func checkPackageCount(_ count: Int, location: String) throws {
        let limits = InputLimits.current
        if count >= limits.int(.indexEntries) {
            throw limits.exceeded(.indexEntries, "the Packages index's package count", actual: UInt64(count + 1), at: location,
                                  hint: "no archive has this many packages; the index is damaged or hostile")
        }
    }

    /// Checks the size of the paragraph starting at line `line` once it has grown to `bytes`.
    static func checkParagraphSize(_ bytes: Int, location: String) throws {
        let limits = InputLimits.current
        if bytes > limits.int(.indexParagraphBytes) {
            throw limits.exceeded(.indexParagraphBytes, "the paragraph", actual: nil, at: location,
                                  hint: "a package's paragraph is a few KiB of fields (a missing blank line between paragraphs?); the index is damaged or hostile")
        }
    }
}
