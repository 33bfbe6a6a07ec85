import Foundation

/// The one clock. pkglayer never reads the wall clock for anything that lands in an output:
/// file mtimes, rpm BUILDTIME, archive headers and image `created` all come from here.
public struct SourceDateEpoch: Sendable, Equatable, CustomStringConvertible {
    public var seconds: Int64

    public init(_ seconds: Int64) { self.seconds = seconds }

    /// `SOURCE_DATE_EPOCH` from the environment, if set and valid.
    /// A malformed value is an error, not something to ignore silently.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> SourceDateEpoch? {
        guard let raw = env["SOURCE_DATE_EPOCH"], !raw.isEmpty else { return nil }
        guard let value = Int64(raw), value >= 0 else {
            throw PkgLayerError(.invalidInput, "must be a non-negative integer number of seconds since 1970, got '\(raw)'",
                                at: "SOURCE_DATE_EPOCH")
        }
        return SourceDateEpoch(value)
    }

    /// Resolves the clock: SOURCE_DATE_EPOCH, else the given default, else the fallback
    /// (for example the newest mtime among the inputs, which is a property of the input, not of the day).
    public static func resolve(default defaultValue: Int64?, fallback: () throws -> Int64) throws -> SourceDateEpoch {
        if let env = try fromEnvironment() { return env }
        if let defaultValue { return SourceDateEpoch(defaultValue) }
        return SourceDateEpoch(try fallback())
    }

    /// Clamps a timestamp so nothing is newer than the epoch (what rpm calls clamp_mtime).
    public func clamp(_ mtime: Int64) -> Int64 { min(mtime, seconds) }

    public var description: String { String(seconds) }
}
