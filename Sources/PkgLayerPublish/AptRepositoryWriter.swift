import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb

/// What an apt repository's `Release` says about itself, and which indexes it always carries.
public struct AptRepositoryOptions: Sendable, Equatable {
    /// `Suite:` and the directory under `dists/` (`stable`, `bookworm`, `bookworm/updates`).
    public var suite: String
    /// `Codename:`; the suite when nil.
    public var codename: String?
    public var origin: String?
    public var label: String?
    public var description: String?
    /// `Date:`. The one clock: pass SOURCE_DATE_EPOCH (or the newest package's time), never the wall clock.
    public var date: SourceDateEpoch
    /// When set, `Valid-Until:` is `date` plus this many seconds; apt refuses the repository after it
    /// (unless the client sets Acquire::Check-Valid-Until=false), so a replayed old Release expires.
    public var validFor: Int64?
    /// Architectures that get a `binary-ARCH/Packages` (and are listed in `Architectures:`) even with no
    /// package of their own: their index then holds the `Architecture: all` packages.
    public var architectures: [String]
    /// Components listed (with empty indexes) even when no package is in them.
    public var components: [String]
    /// Write `Acquire-By-Hash: yes` and a copy of every index under `…/by-hash/SHA256/<digest>`, so a
    /// client that read the previous Release still finds the indexes it names while the repository
    /// changes under it. Off by default: `Acquire-By-Hash: no`.
    public var byHash: Bool

    public init(suite: String, codename: String? = nil, origin: String? = nil, label: String? = nil, description: String? = nil,
                date: SourceDateEpoch, validFor: Int64? = nil, architectures: [String] = [], components: [String] = [],
                byHash: Bool = false) {
        self.suite = suite
        self.codename = codename
        self.origin = origin
        self.label = label
        self.description = description
        self.date = date
        self.validFor = validFor
        self.architectures = architectures
        self.components = components
        self.byHash = byHash
    }
}

/// Writes the `dists/SUITE` half of an apt repository (the pool is the caller's): per component and
/// architecture `binary-ARCH/Packages`, `Packages.gz` and `Packages.xz`, then `Release` with MD5Sum and
/// SHA256 over every index, and, with a signer, `InRelease` (cleartext-signed) and `Release.gpg`
/// (armored detached). apt-get reads it over `file:` and plain HTTP.
///
/// Choices, and why:
/// - **Order.** Each Packages file lists packages by name (bytewise), then version in Debian order
///   (`DebianVersionOrder`), then architecture. Release lists files by path. Identical entries and
///   options give identical bytes: gzip carries no name and mtime 0 (Archive's sinks), xz has no
///   timestamp, and `Date:` comes from `options.date`.
/// - **`Architecture: all`.** As in Debian's archive, an `all` package is listed in every
///   `binary-ARCH/Packages` of its component *and* in `binary-all/Packages`, and `Architectures:` names
///   `all` next to the real architectures present. apt ≥ 1.1 then fetches `binary-all` besides the
///   native one (the duplicates are the same version, so apt merges them), and an apt whose native
///   architecture the repository does not carry still sees the `all` packages. A repository with only
///   `all` packages says `Architectures: all` and has only `binary-all`: apt 2.6 (Debian 12) on amd64
///   reads it without a warning (checked by AptRepositoryWriterTests). `options.architectures` adds
///   architectures whose indexes then list the `all` packages, for older clients.
/// - **Hashes.** MD5Sum and SHA256 (apt 2.x needs SHA256; SHA1 is no longer trusted anywhere).
/// - **By-hash.** Off by default (`Acquire-By-Hash: no`); see `AptRepositoryOptions.byHash`.
/// - **Unsigned.** Without a signer there is no InRelease and no Release.gpg (stale ones are removed),
///   and apt reads the repository only with `[trusted=yes]`.
public enum AptRepositoryWriter {
    static let logger = Logger(label: "pkglayer.publish.apt")

    /// What `write` produced.
    public struct Written: Sendable, Equatable {
        /// Every file written, relative to the `dists` directory, sorted (`stable/InRelease`, …).
        public var files: [String]
        /// `Architectures:` as written.
        public var architectures: [String]
        public var components: [String]
    }

    /// Writes `distsRoot/SUITE/…` for `entries`.
    ///
    /// - Parameters:
    ///   - distsRoot: the repository's `dists` directory (the repository root's `dists/`, or the dists
    ///     directory of a generation the publisher switches to). Created when missing.
    ///   - signer: signs InRelease and Release.gpg; nil writes an unsigned repository.
    /// - Throws: `.invalidInput`/`.deb` for an entry or option that would give an unreadable index, two
    ///   different entries for one package, version and architecture; `.io` when a file cannot be written.
    @discardableResult
    public static func write(entries: [AptPackageEntry], into distsRoot: URL, options: AptRepositoryOptions,
                             signer: (any PackageSigner)?) throws -> Written {
        let suiteDir = try validate(options)
        let sorted = try sortedUnique(entries)
        let plan = layout(sorted, options: options)
        let root = distsRoot.path + "/" + suiteDir

        var indexFiles: [IndexFile] = []
        var written: [String] = []
        let architectures = sorted.map(\.architecture)
        for component in plan.components {
            for arch in plan.indexArchitectures {
                let listed = sorted.indices.filter {
                    sorted[$0].component == component && (architectures[$0] == arch || architectures[$0] == "all")
                }.map { sorted[$0] }
                let dir = "\(component)/binary-\(arch)"
                try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
                let text = packagesText(listed)
                for (name, bytes) in [("Packages", text), ("Packages.gz", try compress(text, .gzip(level: 9))),
                                      ("Packages.xz", try compress(text, .xz(level: 6)))] {
                    let file = IndexFile(path: "\(dir)/\(name)", bytes: bytes)
                    try writeFile(bytes, to: "\(root)/\(file.path)")
                    indexFiles.append(file)
                    written.append(file.path)
                    if options.byHash {
                        let hashDir = "\(dir)/by-hash/SHA256"
                        try FileManager.default.createDirectory(atPath: "\(root)/\(hashDir)", withIntermediateDirectories: true)
                        try writeFile(bytes, to: "\(root)/\(hashDir)/\(file.sha256)")
                        written.append("\(hashDir)/\(file.sha256)")
                    }
                }
            }
        }

        let release = releaseText(indexFiles, plan: plan, options: options)
        let releaseBytes = Array(release.utf8)
        try writeFile(releaseBytes, to: "\(root)/Release")
        written.append("Release")
        if let signer {
            let detached = try signer.armoredDetachedSignature(over: Data(releaseBytes))
            try writeFile(Array(detached.utf8), to: "\(root)/Release.gpg")
            // InRelease last: apt asks for it first, so it appears only once what it names is in place.
            try writeFile(Array(try signer.clearsign(release).utf8), to: "\(root)/InRelease")
            written += ["Release.gpg", "InRelease"]
        } else {
            for stale in ["InRelease", "Release.gpg"] where FileManager.default.fileExists(atPath: "\(root)/\(stale)") {
                try FileManager.default.removeItem(atPath: "\(root)/\(stale)")
            }
        }
        logger.debug("wrote \(suiteDir): \(sorted.count) packages, components \(plan.components), architectures \(plan.releaseArchitectures), \(signer == nil ? "unsigned" : "signed by \(signer!.keyID)")")
        return Written(files: written.map { "\(suiteDir)/\($0)" }.sorted(), architectures: plan.releaseArchitectures,
                       components: plan.components)
    }

    // MARK: - Pure parts

    /// The text of one `Packages` file: the entries' paragraphs in the given order, each followed by a
    /// blank line. Empty for no entries.
    public static func packagesText(_ entries: [AptPackageEntry]) -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            out += Array(entry.stanza.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Entries in index order (name, Debian version, architecture). Equal entries collapse to one;
    /// two different entries for one name, version and architecture are refused.
    public static func sortedUnique(_ entries: [AptPackageEntry]) throws -> [AptPackageEntry] {
        for entry in entries { try entry.validate() }
        // The keys once per entry, not once per comparison (each is a field lookup).
        let keyed = entries.map { (entry: $0, package: $0.package, version: $0.version, arch: $0.architecture) }
        let sorted = keyed.sorted { a, b in
            if a.package != b.package { return a.package.utf8.lexicographicallyPrecedes(b.package.utf8) }
            let order = DebianVersionOrder.compare(a.version, b.version)
            if order != 0 { return order < 0 }
            if a.arch != b.arch { return a.arch.utf8.lexicographicallyPrecedes(b.arch.utf8) }
            if a.entry.component != b.entry.component { return a.entry.component.utf8.lexicographicallyPrecedes(b.entry.component.utf8) }
            return a.entry.sha256 < b.entry.sha256
        }
        var out: [AptPackageEntry] = []
        var last: (entry: AptPackageEntry, package: String, version: String, arch: String)?
        for item in sorted {
            if let last, last.package == item.package, last.arch == item.arch, DebianVersionOrder.compare(last.version, item.version) == 0 {
                if last.entry == item.entry { continue }
                throw PkgLayerError(.invalidInput,
                                    "two different packages are \(item.package) \(item.version) (\(item.arch)): '\(last.entry.filename)' and '\(item.entry.filename)'; apt can only tell them apart by name, version and architecture, so publish one of them",
                                    at: item.entry.filename)
            }
            out.append(item.entry)
            last = item
        }
        return out
    }

    struct Plan {
        var components: [String]
        /// The `binary-ARCH` directories written, `all` included when present.
        var indexArchitectures: [String]
        var releaseArchitectures: [String]
    }

    static func layout(_ entries: [AptPackageEntry], options: AptRepositoryOptions) -> Plan {
        let components = Set(entries.map(\.component)).union(options.components.isEmpty && entries.isEmpty ? ["main"] : options.components)
        var concrete = Set(entries.map(\.architecture)).union(options.architectures)
        concrete.remove("all")
        // `all` gets its own index when an `all` package exists, or when nothing else would give the
        // repository an architecture (an empty repository stays readable: empty indexes).
        let withAll = entries.contains { $0.architecture == "all" } || concrete.isEmpty
        let arches = concrete.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } + (withAll ? ["all"] : [])
        return Plan(components: components.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) },
                    indexArchitectures: arches, releaseArchitectures: arches)
    }

    struct IndexFile {
        var path: String
        var size: Int
        var md5: String
        var sha256: String

        init(path: String, bytes: [UInt8]) {
            self.path = path
            size = bytes.count
            var hasher = StreamingHasher([.md5, .sha256])
            hasher.update(bytes)
            md5 = hasher.finalizeMD5().hexString
            sha256 = hasher.finalizeSHA256().hexString
        }
    }

    static func releaseText(_ files: [IndexFile], plan: Plan, options: AptRepositoryOptions) -> String {
        var lines: [String] = []
        if let origin = options.origin { lines.append("Origin: \(origin)") }
        if let label = options.label { lines.append("Label: \(label)") }
        lines.append("Suite: \(options.suite)")
        lines.append("Codename: \(options.codename ?? options.suite)")
        lines.append("Date: \(rfc2822(options.date.seconds))")
        if let validFor = options.validFor { lines.append("Valid-Until: \(rfc2822(options.date.seconds + validFor))") }
        lines.append("Architectures: \(plan.releaseArchitectures.joined(separator: " "))")
        lines.append("Components: \(plan.components.joined(separator: " "))")
        if let description = options.description { lines.append("Description: \(description)") }
        lines.append("Acquire-By-Hash: \(options.byHash ? "yes" : "no")")
        let ordered = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        let width = String(ordered.map(\.size).max() ?? 0).count
        func row(_ digest: String, _ file: IndexFile) -> String {
            let size = String(file.size)
            return " \(digest) \(String(repeating: " ", count: width - size.count))\(size) \(file.path)"
        }
        lines.append("MD5Sum:")
        lines += ordered.map { row($0.md5, $0) }
        lines.append("SHA256:")
        lines += ordered.map { row($0.sha256, $0) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `Sat, 05 Dec 2026 08:47:00 UTC`, as Debian's Release files write dates (RFC 2822, in UTC).
    public static func rfc2822(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var tm = tm()
        gmtime_r(&time, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) UTC"
    }

    // MARK: - Checks and files

    /// Checks the options and returns the suite's directory under dists.
    static func validate(_ options: AptRepositoryOptions) throws -> String {
        let suite = options.suite
        let segments = suite.split(separator: "/", omittingEmptySubsequences: false)
        guard !suite.isEmpty, segments.allSatisfy({ segment in
            !segment.isEmpty && segment != "." && segment != ".."
                && segment.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._+-~".unicodeScalars.contains($0)) }
        }) else {
            throw PkgLayerError(.usage, "suite '\(suite)' must be names of letters, digits, '.', '_', '+', '-' or '~', separated by '/' (for example 'stable' or 'bookworm/updates')",
                                at: "suite")
        }
        if let codename = options.codename {
            guard !codename.isEmpty, codename.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else {
                throw PkgLayerError(.usage, "codename '\(codename)' must be one word of printable ASCII", at: "codename")
            }
        }
        for (name, value) in [("origin", options.origin), ("label", options.label), ("description", options.description)] {
            guard let value else { continue }
            guard !value.isEmpty, !value.hasPrefix(" "), value.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value != 127 }) else {
                throw PkgLayerError(.usage, "\(name) '\(value.prefix(80))' must be one non-empty line without control characters", at: name)
            }
        }
        for arch in options.architectures where !AptPackageEntry.isArchitectureName(arch) {
            throw PkgLayerError(.usage, "architecture '\(arch)' is not an architecture name (lower-case letters, digits and '-', like amd64)",
                                at: "architectures")
        }
        for component in options.components { try AptPackageEntry.validateComponent(component, at: "components") }
        if let validFor = options.validFor, validFor <= 0 {
            throw PkgLayerError(.usage, "valid-for must be a positive number of seconds, got \(validFor)", at: "valid-for")
        }
        return suite
    }

    static func compress(_ bytes: [UInt8], _ compression: Compression) throws -> [UInt8] {
        let memory = AptMemorySink()
        // One thread for a small index: the multi-threaded xz encoder's set-up costs more than the
        // compression (the bytes do not depend on the thread count).
        let threads = bytes.count < 4 << 20 ? 1 : Compression.defaultThreads
        let sink = try compression.makeSink(wrapping: memory, threads: threads)
        try bytes.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        return memory.bytes
    }

    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let file = try AtomicFile(path: path, overwrite: true, mode: 0o644)
        try file.write(bytes)
        try file.commit()
    }
}

/// Collects what a compressor writes (indexes are small: a few MiB for tens of thousands of packages).
final class AptMemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    func finish() throws {}
}
