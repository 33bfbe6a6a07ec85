import PkgLayerCore

/// The bounds on a yum `primary` index (docs/limits.md): at most `indexEntries` packages (2 000 000;
/// Fedora's largest repositories list about 75 000), at most `indexParagraphBytes` kept from one
/// `<package>` (1 MiB: names, versions, provides, requires and files, which are some KiB even for
/// packages with thousands of provides), and at most `indexBytes` of XML (2 GiB), read as a stream.
extension YumPrimaryParser {
    /// The error for the package after `count`, or nil while the count is within the limit.
    static func packageCountProblem(_ count: Int, location: String) -> PkgLayerError? {
        let limits = InputLimits.current
        guard count >= limits.int(.indexEntries) else { return nil }
        return limits.exceeded(.indexEntries, "the primary index's package count", actual: UInt64(count + 1), at: location,
                               hint: "no repository has this many packages; the metadata is damaged or hostile")
    }

    /// The error for package `number` once what is kept from it passes `indexParagraphBytes`.
    static func packageSizeProblem(number: Int, name: String, location: String) -> PkgLayerError {
        InputLimits.current.exceeded(.indexParagraphBytes, "package #\(number)\(name.isEmpty ? "" : " (\(name))")'s entry", at: location,
                                     hint: "a package's entry is some KiB of names, relations and files; the metadata is damaged or hostile")
    }
}
