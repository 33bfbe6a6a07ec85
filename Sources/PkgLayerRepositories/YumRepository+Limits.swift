import PkgLayerCore

/// The bound on a yum `primary` index (docs/limits.md): at most `indexEntries` packages (2 000 000;
/// Fedora's largest repositories list about 75 000). The decompressed XML is bounded by
/// `ArchiveReader`'s extraction limits and the 2 GiB read into memory.
extension YumPrimaryParser {
    /// The error for the package after `count`, or nil while the count is within the limit.
    static func packageCountProblem(_ count: Int, location: String) -> PkgLayerError? {
        let limits = InputLimits.current
        guard count >= limits.int(.indexEntries) else { return nil }
        return limits.exceeded(.indexEntries, "the primary index's package count", actual: UInt64(count + 1), at: location,
                               hint: "no repository has this many packages; the metadata is damaged or hostile")
    }
}
