import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM
/// One package a resolver may choose: from a repository index (an apt `Packages` paragraph, a yum
/// `primary.xml` entry) or a local .deb/.rpm. Format-neutral: versions and architectures are in the
/// format's own spelling (`1:2.36-9+deb12u4` / `amd64`, `0:3.0.7-24.el9` / `x86_64`).
public struct AvailablePackage: Sendable, Equatable {
    public var name: String
    public var version: String
    public var architecture: String
    /// Conjunctive normal form: every entry must hold, any one alternative of an entry is enough.
    public var depends: [Dependency]
    public var preDepends: [Dependency]
    /// Capabilities this package provides besides its name; a version (only `=` is meaningful) is optional.
    public var provides: [Dependency.Clause]
    /// Each entry is one relation (alternatives are not meaningful here); Breaks is folded in.
    public var conflicts: [Dependency]
    /// rpm: file paths the index lists for the package, which satisfy file requirements (`/bin/sh`).
    public var files: [String]
    /// Where it comes from (the repository's summary); nil for a local package file.
    public var repository: String?
    /// The download URL, or the local path for a local package.
    public var location: String
    /// Lowercase hex sha256 of the package file.
    public var sha256: String
    public var size: Int64

    public init(name: String, version: String, architecture: String, depends: [Dependency] = [],
                preDepends: [Dependency] = [], provides: [Dependency.Clause] = [], conflicts: [Dependency] = [],
                files: [String] = [], repository: String? = nil, location: String = "", sha256: String = "", size: Int64 = 0) {
        self.name = name; self.version = version; self.architecture = architecture
        self.depends = depends; self.preDepends = preDepends; self.provides = provides; self.conflicts = conflicts
        self.files = files; self.repository = repository; self.location = location; self.sha256 = sha256; self.size = size
    }

    /// `name version (architecture)`, for messages.
    public var label: String { "\(name) \(version) (\(architecture))" }
}

/// The packages a resolver chooses from, indexed by name and by provided capability.
public struct PackageIndex: Sendable {
    public private(set) var packages: [AvailablePackage] = []
    private var byName: [String: [Int]] = [:]
    private var byProvide: [String: [Int]] = [:]
    private var byFile: [String: [Int]] = [:]

    public init(_ packages: [AvailablePackage] = []) {
        for package in packages { add(package) }
    }

    public mutating func add(_ package: AvailablePackage) {
        let index = packages.count
        packages.append(package)
        byName[package.name, default: []].append(index)
        for provide in package.provides where provide.name != package.name {
            byProvide[provide.name, default: []].append(index)
        }
        for file in package.files { byFile[file, default: []].append(index) }
    }

    public mutating func add(contentsOf other: [AvailablePackage]) {
        for package in other { add(package) }
    }

    public var count: Int { packages.count }

    /// Packages whose name is `name`.
    public func named(_ name: String) -> [AvailablePackage] { (byName[name] ?? []).map { packages[$0] } }

    /// Packages providing `name` (not counting their own name), or listing it as a file.
    public func providers(of name: String) -> [AvailablePackage] {
        let indexes = (byProvide[name] ?? []) + (byFile[name] ?? [])
        return Array(Set(indexes)).sorted().map { packages[$0] }
    }
}
