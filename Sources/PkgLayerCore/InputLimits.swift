import Foundation
import Logging

/// The limits on what pkglayer reads from files other people write (recipes, archives, packages,
/// repository indexes, image JSON, registry answers): each input is refused with a
/// `.limitExceeded` error that names it, the limit and the environment variable that raises it,
/// instead of exhausting memory, disk or time. docs/limits.md lists every limit and why it is where it is.
///
/// The defaults are generous: no genuine input comes near them. `PKGLAYER_MAX_<NAME>` raises (or
/// lowers) one for a run: a number, optionally with a binary suffix (`512K`, `64M`, `2G`, `1T`). Tests
/// lower them with `InputLimits.$current.withValue(…)`, which holds for the task and its child tasks
/// (work handed to other threads sees the environment's values).
public struct InputLimits: Sendable, Equatable {
    public enum Name: String, CaseIterable, Sendable {
        /// Bytes of a recipe or image file.
        case recipeBytes
        /// Nodes of a recipe's YAML once its aliases are expanded.
        case yamlNodes
        /// Nesting depth of a recipe's YAML, aliases expanded.
        case yamlDepth
        /// Bytes of one rpm header's data store (signature or main header).
        case rpmHeaderBytes
        /// Index entries (tags) of one rpm main header.
        case rpmHeaderTags
        /// Bytes of a .deb's `control` file.
        case debControlBytes
        /// Bytes of a .deb's control.tar members held in memory, all together.
        case debControlTarBytes
        /// Members of one archive (tar, cpio, ar).
        case archiveEntries
        /// Bytes extracted (decompressed) from one archive.
        case extractedBytes
        /// Extracted bytes per byte of the (compressed) archive, beyond `expansionFloorBytes`. 0 turns the ratio off.
        case expansionRatio
        /// Bytes any archive may expand to before `expansionRatio` applies.
        case expansionFloorBytes
        /// Packages in one repository index (apt Packages paragraphs, yum primary packages).
        case indexEntries
        /// Bytes of one apt Packages paragraph (of a yum <package>, the text kept from it).
        case indexParagraphBytes
        /// Bytes of an OCI manifest, index or config (and of index.json).
        case ociJSONBytes
        /// Layers of one OCI image manifest.
        case ociLayers
        /// Bytes of a registry answer read into memory (errors, auth and token answers).
        case registryResponseBytes
        /// Bytes of one repository index once decompressed (apt Packages, yum primary.xml); read as a stream.
        case indexBytes
        /// Seconds a download may go without receiving a byte.
        case downloadIdleSeconds
        /// Seconds every download is allowed, whatever its size (the deadline's floor).
        case downloadFloorSeconds
        /// Bytes per second a download must average beyond the floor: the deadline is floor + size / rate.
        case downloadRateBytes

        /// `PKGLAYER_MAX_RECIPE_BYTES`, …
        public var environmentVariable: String {
            switch self {
            case .recipeBytes: return "PKGLAYER_MAX_RECIPE_BYTES"
            case .yamlNodes: return "PKGLAYER_MAX_YAML_NODES"
            case .yamlDepth: return "PKGLAYER_MAX_YAML_DEPTH"
            case .rpmHeaderBytes: return "PKGLAYER_MAX_RPM_HEADER_BYTES"
            case .rpmHeaderTags: return "PKGLAYER_MAX_RPM_HEADER_TAGS"
            case .debControlBytes: return "PKGLAYER_MAX_DEB_CONTROL_BYTES"
            case .debControlTarBytes: return "PKGLAYER_MAX_DEB_CONTROL_TAR_BYTES"
            case .archiveEntries: return "PKGLAYER_MAX_ARCHIVE_ENTRIES"
            case .extractedBytes: return "PKGLAYER_MAX_EXTRACTED_BYTES"
            case .expansionRatio: return "PKGLAYER_MAX_EXPANSION_RATIO"
            case .expansionFloorBytes: return "PKGLAYER_EXPANSION_FLOOR_BYTES"
            case .indexEntries: return "PKGLAYER_MAX_INDEX_ENTRIES"
            case .indexParagraphBytes: return "PKGLAYER_MAX_INDEX_PARAGRAPH_BYTES"
            case .ociJSONBytes: return "PKGLAYER_MAX_OCI_JSON_BYTES"
            case .ociLayers: return "PKGLAYER_MAX_OCI_LAYERS"
            case .registryResponseBytes: return "PKGLAYER_MAX_REGISTRY_RESPONSE_BYTES"
            case .indexBytes: return "PKGLAYER_MAX_INDEX_BYTES"
            case .downloadIdleSeconds: return "PKGLAYER_DOWNLOAD_IDLE_SECONDS"
            case .downloadFloorSeconds: return "PKGLAYER_DOWNLOAD_FLOOR_SECONDS"
            case .downloadRateBytes: return "PKGLAYER_DOWNLOAD_MIN_RATE"
            }
        }

        public var defaultValue: UInt64 {
            switch self {
            case .recipeBytes: return 1 << 20
            case .yamlNodes: return 100_000
            case .yamlDepth: return 64
            case .rpmHeaderBytes: return 64 << 20
            case .rpmHeaderTags: return 0xFFFF
            case .debControlBytes: return 1 << 20
            case .debControlTarBytes: return 64 << 20
            case .archiveEntries: return 1_000_000
            case .extractedBytes: return 64 << 30
            case .expansionRatio: return 200
            case .expansionFloorBytes: return 8 << 30
            case .indexEntries: return 2_000_000
            case .indexParagraphBytes: return 1 << 20
            case .ociJSONBytes: return 4 << 20
            case .ociLayers: return 1000
            case .registryResponseBytes: return 1 << 20
            case .indexBytes: return 2 << 30
            case .downloadIdleSeconds: return 60
            case .downloadFloorSeconds: return 120
            case .downloadRateBytes: return 32 << 10
            }
        }

        /// A format's own hard limit, past which no value can be raised.
        public var ceiling: UInt64? {
            switch self {
            case .rpmHeaderBytes: return 0x0FFF_FFFF   // rpm's HEADER_DATA_MAX (256 MiB)
            case .rpmHeaderTags: return 0xFFFF          // rpm's HEADER_TAGS_MAX
            default: return nil
            }
        }

        /// Whether values count bytes (printed as sizes).
        public var isBytes: Bool { rawValue.hasSuffix("Bytes") }

        /// What the limit bounds, for messages: "the limit of 1 MiB on recipe and image files".
        public var subject: String {
            switch self {
            case .recipeBytes: return "recipe and image files"
            case .yamlNodes: return "YAML nodes with aliases expanded"
            case .yamlDepth: return "YAML nesting levels"
            case .rpmHeaderBytes: return "an rpm header's data"
            case .rpmHeaderTags: return "tags in an rpm header"
            case .debControlBytes: return "a .deb's control file"
            case .debControlTarBytes: return "a .deb's control files together"
            case .archiveEntries: return "members of one archive"
            case .extractedBytes: return "bytes extracted from one archive"
            case .expansionRatio: return "extracted bytes per archive byte"
            case .expansionFloorBytes: return "bytes extracted before the expansion ratio applies"
            case .indexEntries: return "packages in one repository index"
            case .indexParagraphBytes: return "one package's entry in a repository index (an apt paragraph, a yum <package>)"
            case .ociJSONBytes: return "an OCI manifest, index or config"
            case .ociLayers: return "layers in one image"
            case .registryResponseBytes: return "a registry answer read into memory"
            case .indexBytes: return "one repository index, decompressed"
            case .downloadIdleSeconds: return "seconds a download may wait for data"
            case .downloadFloorSeconds: return "seconds any download is allowed"
            case .downloadRateBytes: return "the slowest average rate (per second) a download is allowed beyond the floor"
            }
        }
    }

    private var values: [Name: UInt64] = [:]

    /// The built-in defaults, ignoring the environment.
    public static let defaults = InputLimits()

    private init() {}

    /// The limits in force: the environment's (read once), or what a test set with `$current.withValue`.
    @TaskLocal public static var current: InputLimits = .fromEnvironment()

    static let logger = Logger(label: "pkglayer.limits")

    /// The defaults with every `PKGLAYER_MAX_*` variable of `environment` applied. A value that cannot be
    /// read is ignored with a warning; one above a format's own limit is lowered to it.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> InputLimits {
        var limits = InputLimits()
        for name in Name.allCases {
            guard let text = environment[name.environmentVariable] else { continue }
            guard let value = parse(text), value > 0 || name == .expansionRatio else {
                logger.warning("\(name.environmentVariable)=\(text) is not a positive number (a binary suffix K, M, G or T is allowed); keeping \(name.defaultValue)")
                continue
            }
            if let ceiling = name.ceiling, value > ceiling {
                logger.warning("\(name.environmentVariable)=\(text) is past the format's own limit; using \(ceiling)")
                limits.values[name] = ceiling
            } else {
                limits.values[name] = value
            }
        }
        return limits
    }

    /// `4096`, `512K`, `64M`, `2G`, `1T` (binary multiples; `Ki`/`MiB` spellings too).
    static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        for suffix in ["iB", "B", "i"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        var shift: UInt64 = 0
        if let last = digits.last, let s = ["K": 10, "M": 20, "G": 30, "T": 40][last.uppercased()] {
            shift = UInt64(s)
            digits = digits.dropLast()
        }
        guard let number = UInt64(digits) else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }

    public subscript(name: Name) -> UInt64 {
        get { values[name] ?? name.defaultValue }
        set { values[name] = newValue }
    }

    /// A copy with one limit changed (tests: `InputLimits.current.with(.archiveEntries, 100)`).
    public func with(_ name: Name, _ value: UInt64) -> InputLimits {
        var copy = self
        copy[name] = value
        return copy
    }

    /// The limit as an `Int` (clamped), for counts and in-memory sizes.
    public func int(_ name: Name) -> Int { Int(clamping: self[name]) }

    /// The error for an input past `name`'s limit: what is too large (and how large, when known), the
    /// limit, what to check, and the environment variable that raises it.
    ///
    /// - Parameters:
    ///   - what: the input at fault, as the start of a sentence ("the recipe", "member 'x'").
    ///   - actual: its size or count, when known (nil: it was refused as soon as it passed the limit).
    ///   - hint: what is probably wrong and what to do, before the environment variable.
    public func exceeded(_ name: Name, _ what: String, actual: UInt64? = nil, at location: String?,
                         hint: String = "the input is damaged or hostile") -> PkgLayerError {
        let limit = self[name]
        let amount = actual.map { " is \(Self.describe($0, bytes: name.isBytes))," } ?? " is"
        var message = "\(what)\(amount) past the limit of \(Self.describe(limit, bytes: name.isBytes)) on \(name.subject); \(hint)"
        let raised = max(limit, actual ?? 0).multipliedReportingOverflow(by: 2)
        let suggestion = name.ceiling.map { min($0, raised.partialValue) } ?? raised.partialValue
        if let ceiling = name.ceiling, limit >= ceiling {
            message += " (this is the format's own limit and cannot be raised)"
        } else {
            message += ". If it is genuine, raise the limit: \(name.environmentVariable)=\(suggestion) (docs/limits.md)"
        }
        return PkgLayerError(.limitExceeded, message, at: location)
    }

    /// `1 MiB (1048576 bytes)` for sizes, the number for counts.
    public static func describe(_ value: UInt64, bytes: Bool) -> String {
        guard bytes else { return String(value) }
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, unit) in units where value >= size {
            let whole = value % size == 0
            let text = whole ? "\(value / size) \(unit)" : String(format: "%.1f \(unit)", Double(value) / Double(size))
            return "\(text) (\(value) bytes)"
        }
        return "\(value) bytes"
    }
}
