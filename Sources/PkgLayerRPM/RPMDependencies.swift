import CRPM
import Foundation
import PkgLayerCore

/// rpm's dependency sense bits (`RPMSENSE_*` in rpmds.h). librpm declares them as an enum whose
/// members Swift imports one by one; these are the ones pkglayer writes or reads.
enum RPMSense {
    static let less: UInt32 = 1 << 1
    static let greater: UInt32 = 1 << 2
    static let equal: UInt32 = 1 << 3
    static let senseMask: UInt32 = 0xF
    static let posttrans: UInt32 = 1 << 5
    static let prereq: UInt32 = 1 << 6
    static let pretrans: UInt32 = 1 << 7
    static let interp: UInt32 = 1 << 8
    static let scriptPre: UInt32 = 1 << 9
    static let scriptPost: UInt32 = 1 << 10
    static let scriptPreun: UInt32 = 1 << 11
    static let scriptPostun: UInt32 = 1 << 12
    static let rpmlib: UInt32 = 1 << 24
    static let config: UInt32 = 1 << 28

    static func flags(for op: VersionOperator?) -> UInt32 {
        switch op {
        case nil: return 0
        case .lessThan: return less
        case .lessOrEqual: return less | equal
        case .equal: return equal
        case .greaterOrEqual: return greater | equal
        case .greaterThan: return greater
        }
    }

    static func versionOperator(for flags: UInt32) -> VersionOperator? {
        switch flags & senseMask {
        case less: return .lessThan
        case less | equal: return .lessOrEqual
        case equal: return .equal
        case greater | equal: return .greaterOrEqual
        case greater: return .greaterThan
        default: return nil
        }
    }
}

/// One row of an rpm dependency tag triple (NAME, VERSION, FLAGS).
struct RPMDependency: Hashable {
    var name: String
    var version: String
    var flags: UInt32

    init(name: String, version: String = "", flags: UInt32 = 0) {
        self.name = name; self.version = version; self.flags = flags
    }

    /// A pkglayer dependency in rpm terms. One clause is a plain dependency; alternatives become a
    /// rich dependency `(a or b >= 2)` (rpm ≥ 4.12), whose version and flags columns stay empty.
    init(_ dependency: Dependency, extraFlags: UInt32 = 0) {
        if dependency.alternatives.count == 1 {
            let clause = dependency.alternatives[0]
            self.init(name: clause.name, version: clause.versionOperator == nil ? "" : (clause.version ?? ""),
                      flags: RPMSense.flags(for: clause.versionOperator) | extraFlags)
        } else {
            let clauses = dependency.alternatives.map { clause -> String in
                guard let op = clause.versionOperator, let version = clause.version else { return clause.name }
                return "\(clause.name) \(op.rpm) \(version)"
            }
            self.init(name: "(" + clauses.joined(separator: " or ") + ")", flags: extraFlags)
        }
    }

    var isRich: Bool { name.hasPrefix("(") }

    /// Back to pkglayer's form. A rich dependency that is a plain `or` of clauses becomes alternatives;
    /// any other rich expression (`with`, `if`, nesting) is kept whole as the name.
    var dependency: Dependency {
        if isRich, let alternatives = Self.parseOrExpression(name) {
            return Dependency(alternatives: alternatives)
        }
        let op = RPMSense.versionOperator(for: flags)
        return Dependency(name: name, versionOperator: version.isEmpty ? nil : op, version: version.isEmpty ? nil : version)
    }

    private static func parseOrExpression(_ text: String) -> [Dependency.Clause]? {
        guard text.hasPrefix("("), text.hasSuffix(")") else { return nil }
        let inner = text.dropFirst().dropLast()
        guard !inner.contains("("), !inner.contains(")") else { return nil }
        var clauses: [Dependency.Clause] = []
        for part in inner.components(separatedBy: " or ") {
            guard let parsed = try? Dependency(parsing: part, field: "rich dependency"),
                  parsed.alternatives.count == 1 else { return nil }
            clauses.append(parsed.alternatives[0])
        }
        return clauses.count > 1 ? clauses : nil
    }

    /// rpm keeps each dependency set sorted by name, then version, then flags (strcmp order) and free
    /// of exact duplicates; rpmbuild writes them that way and lookups may bisect.
    static func normalized(_ deps: [RPMDependency]) -> [RPMDependency] {
        var seen = Set<RPMDependency>()
        return deps.filter { seen.insert($0).inserted }.sorted { a, b in
            if a.name != b.name { return a.name.utf8.lexicographicallyPrecedes(b.name.utf8) }
            if a.version != b.version { return a.version.utf8.lexicographicallyPrecedes(b.version.utf8) }
            return a.flags < b.flags
        }
    }
}

/// The dependency tag triples of one package.
struct RPMDependencySet: Equatable {
    var requires: [RPMDependency] = []
    var provides: [RPMDependency] = []
    var conflicts: [RPMDependency] = []
    var obsoletes: [RPMDependency] = []
    var recommends: [RPMDependency] = []
    var suggests: [RPMDependency] = []

    /// Computed, not stored: key paths are not Sendable, so a stored static table would be shared mutable state to Swift 6.
    static var tagTriples: [(keyPath: WritableKeyPath<RPMDependencySet, [RPMDependency]>, name: rpmTag_e, version: rpmTag_e, flags: rpmTag_e)] { [
        (\.requires, RPMTAG_REQUIRENAME, RPMTAG_REQUIREVERSION, RPMTAG_REQUIREFLAGS),
        (\.provides, RPMTAG_PROVIDENAME, RPMTAG_PROVIDEVERSION, RPMTAG_PROVIDEFLAGS),
        (\.conflicts, RPMTAG_CONFLICTNAME, RPMTAG_CONFLICTVERSION, RPMTAG_CONFLICTFLAGS),
        (\.obsoletes, RPMTAG_OBSOLETENAME, RPMTAG_OBSOLETEVERSION, RPMTAG_OBSOLETEFLAGS),
        (\.recommends, RPMTAG_RECOMMENDNAME, RPMTAG_RECOMMENDVERSION, RPMTAG_RECOMMENDFLAGS),
        (\.suggests, RPMTAG_SUGGESTNAME, RPMTAG_SUGGESTVERSION, RPMTAG_SUGGESTFLAGS),
    ] }

    var all: [RPMDependency] { Self.tagTriples.flatMap { self[keyPath: $0.keyPath] } }

    func put(into header: RPMHeader) throws {
        for triple in Self.tagTriples {
            let deps = RPMDependency.normalized(self[keyPath: triple.keyPath])
            guard !deps.isEmpty else { continue }
            try header.put(tag(triple.name), strings: deps.map(\.name))
            try header.put(tag(triple.version), strings: deps.map(\.version))
            try header.put(tag(triple.flags), uint32: deps.map(\.flags))
        }
    }

    init() {}

    init(reading header: RPMHeader, path: String) throws {
        for triple in Self.tagTriples {
            let names = header.strings(tag(triple.name))
            guard !names.isEmpty else { continue }
            var versions = header.strings(tag(triple.version))
            var flags = header.numbers(tag(triple.flags)).map { UInt32(truncatingIfNeeded: $0) }
            if versions.isEmpty { versions = Array(repeating: "", count: names.count) }
            if flags.isEmpty { flags = Array(repeating: 0, count: names.count) }
            guard versions.count == names.count, flags.count == names.count else {
                throw PkgLayerError(.rpm, "dependency tag \(triple.name.rawValue) has \(names.count) names but \(versions.count) versions and \(flags.count) flags; the header is malformed",
                                    at: path)
            }
            self[keyPath: triple.keyPath] = (0..<names.count).map { RPMDependency(name: names[$0], version: versions[$0], flags: flags[$0]) }
        }
    }
}

/// rpmlib(...) features: what the installing rpm must understand. Each is required with
/// `RPMSENSE_RPMLIB | LESS | EQUAL` against the rpm version that introduced it, as rpmbuild does.
enum RPMLibFeature: String, CaseIterable {
    case compressedFileNames = "CompressedFileNames"
    case fileDigests = "FileDigests"
    case payloadFilesHavePrefix = "PayloadFilesHavePrefix"
    case payloadIsXz = "PayloadIsXz"
    case payloadIsZstd = "PayloadIsZstd"
    case largeFiles = "LargeFiles"
    case fileCaps = "FileCaps"
    case richDependencies = "RichDependencies"
    case tildeInVersions = "TildeInVersions"
    case caretInVersions = "CaretInVersions"

    var version: String {
        switch self {
        case .compressedFileNames: return "3.0.4-1"
        case .fileDigests: return "4.6.0-1"
        case .payloadFilesHavePrefix: return "4.0-1"
        case .payloadIsXz: return "5.2-1"
        case .payloadIsZstd: return "5.4.18-1"
        case .largeFiles: return "4.12.0-1"
        case .fileCaps: return "4.6.1-1"
        case .richDependencies: return "4.12.0-1"
        case .tildeInVersions: return "4.10.0-1"
        case .caretInVersions: return "4.15.0-1"
        }
    }

    var requirement: RPMDependency {
        RPMDependency(name: "rpmlib(\(rawValue))", version: version, flags: RPMSense.rpmlib | RPMSense.less | RPMSense.equal)
    }
}

/// The sense flag rpmbuild puts on a scriptlet's interpreter requirement (`Requires(pre): /bin/sh`).
extension RPMScriptSlot {
    var interpreterRequirementFlag: UInt32 {
        switch self {
        case .pre: return RPMSense.scriptPre
        case .post: return RPMSense.scriptPost
        case .preun: return RPMSense.scriptPreun
        case .postun: return RPMSense.scriptPostun
        case .pretrans: return RPMSense.pretrans
        case .posttrans: return RPMSense.posttrans
        }
    }
}
