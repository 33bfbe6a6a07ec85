import PkgLayerCore

/// What `pkglayer package` asks for, as plain values: fpm's options, parsed but not interpreted. The
/// executable fills it from the command line; `PackageJob` reads the sources and writes the packages.
public struct PackageRequest: Sendable {
    /// `-s`: dir, tar, rpm or deb.
    public var inputType: String = "dir"
    /// `-t`: rpm, deb, or both (repeated or comma-separated).
    public var outputTypes: [String] = []
    public var inputs: [String] = []
    public var chdir: String? = nil
    public var prefix: String? = nil
    public var excludes: [String] = []
    public var force: Bool = false
    public var workdir: String? = nil
    public var name: String? = nil
    public var version: String? = nil
    public var iteration: String? = nil
    public var epoch: UInt32? = nil
    public var architecture: String? = nil
    public var maintainer: String? = nil
    public var license: String? = nil
    public var vendor: String? = nil
    public var url: String? = nil
    public var descriptionText: String? = nil
    public var rpmSummary: String? = nil
    public var category: String? = nil
    public var debPriority: String? = nil
    public var depends: [String] = []
    public var provides: [String] = []
    public var conflicts: [String] = []
    public var replaces: [String] = []
    public var debPreDepends: [String] = []
    public var debRecommends: [String] = []
    public var debSuggests: [String] = []
    public var debBreaks: [String] = []
    public var rpmObsoletes: [String] = []
    public var configFiles: [String] = []
    public var directories: [String] = []
    public var noDefaultConfigFiles: Bool = false
    public var rpmAttr: [String] = []
    public var rpmUser: String? = nil
    public var rpmGroup: String? = nil
    public var debUser: String? = nil
    public var debGroup: String? = nil
    public var beforeInstall: String? = nil
    public var afterInstall: String? = nil
    public var beforeRemove: String? = nil
    public var afterRemove: String? = nil
    public var beforeUpgrade: String? = nil
    public var afterUpgrade: String? = nil
    public var rpmPretrans: String? = nil
    public var rpmPosttrans: String? = nil
    public var rpmCompression: String = "gzip"
    public var rpmCompressionLevel: Int? = nil
    public var debCompression: String = "gz"
    public var debCompressionLevel: Int? = nil

    /// `-p`: an output file, a directory, or a template.
    public var packagePath: String? = nil
    /// The clock when SOURCE_DATE_EPOCH is unset.
    public var sourceDateEpochDefault: Int64? = nil

    public init() {}
}
