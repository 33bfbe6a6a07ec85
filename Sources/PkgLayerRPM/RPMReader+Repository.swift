import CRPM
import Foundation
import PkgLayerCore

/// What a yum repository's metadata says about one rpm (primary, filelists, other), read from its
/// headers without unpacking the payload. Read-only; the publish room renders it as XML and keeps it
/// in its index, so it is Codable and holds plain values only.
public struct RPMRepositoryEntry: Codable, Sendable, Equatable {
    /// One row of a dependency set as createrepo_c writes it: the version split into epoch, version
    /// and release, the comparison as `EQ`/`LT`/`LE`/`GT`/`GE` (nil when unversioned), `pre` for
    /// requirements that must be installed before the package's scriptlets run.
    public struct Relation: Codable, Sendable, Equatable {
        public var name: String
        public var flags: String?
        public var epoch: String?
        public var version: String?
        public var release: String?
        public var pre: Bool
        /// rpm's raw sense bits, for callers that need more than the comparison.
        public var sense: UInt32
    }

    public struct File: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case file, dir, ghost }
        public var path: String
        public var kind: Kind
    }

    public struct Changelog: Codable, Sendable, Equatable {
        public var author: String
        public var date: Int64
        public var text: String
    }

    public var name: String
    public var arch: String
    /// "0" when the header has no EPOCH, as createrepo_c writes it.
    public var epoch: String
    public var version: String
    public var release: String
    public var summary: String
    public var description: String
    public var packager: String
    public var url: String
    public var buildTime: Int64
    public var license: String
    public var vendor: String
    public var group: String
    public var buildHost: String
    public var sourceRPM: String
    /// Where the main header starts and ends in the file (`rpm:header-range`).
    public var headerStart: UInt64
    public var headerEnd: UInt64
    public var installedSize: UInt64
    public var archiveSize: UInt64
    public var provides: [Relation]
    public var requires: [Relation]
    public var conflicts: [Relation]
    public var obsoletes: [Relation]
    public var recommends: [Relation]
    public var suggests: [Relation]
    public var supplements: [Relation]
    public var enhances: [Relation]
    /// Every file and directory the header lists, in header order.
    public var files: [File]
    /// Newest first, as rpm stores them.
    public var changelogs: [Changelog]
}

extension RPMReader {
    /// Reads the metadata a yum repository publishes about the rpm at `path`. The lead, headers and the
    /// payload's digests are checked first, as `read(path:)` does, so a damaged package fails here with
    /// an error naming the file.
    public static func repositoryEntry(path: String) throws -> RPMRepositoryEntry {
        let package = try RPMPackageFile(path: path)
        try package.verifyPayload()
        let h = package.header
        guard let name = h.string(tag(RPMTAG_NAME)), let version = h.string(tag(RPMTAG_VERSION)) else {
            throw PkgLayerError(.rpm, "the header has no NAME or VERSION; the package is malformed", at: path)
        }
        let isSource = !h.has(tag(RPMTAG_SOURCERPM))
        let arch = isSource ? "src" : (h.string(tag(RPMTAG_ARCH)) ?? "noarch")
        let deps = try RPMDependencySet(reading: h, path: path)
        let headerFiles = try RPMHeaderFiles(header: h, path: path)
        let files = headerFiles.files.map { file -> RPMRepositoryEntry.File in
            let kind: RPMRepositoryEntry.File.Kind = file.isGhost ? .ghost : (file.type == 0o040000 ? .dir : .file)
            return RPMRepositoryEntry.File(path: file.path, kind: kind)
        }

        func relations(_ rows: [RPMDependency], weak: Bool = false) -> [RPMRepositoryEntry.Relation] {
            rows.map { row in
                let evr = row.version.isEmpty ? nil : Self.splitEVR(row.version)
                return RPMRepositoryEntry.Relation(
                    name: row.name, flags: evr == nil ? nil : Self.comparison(row.flags), epoch: evr?.epoch, version: evr?.version,
                    release: evr?.release, pre: false, sense: row.flags)
            }
        }
        // Weak dependencies share tags: RECOMMEND/SUGGEST rows with RPMSENSE_STRONG (1 << 27) are
        // Supplements/Enhances in old packages; newer rpm writes separate SUPPLEMENT/ENHANCE tags.
        let supplements = h.strings(tag(RPMTAG_SUPPLEMENTNAME))
        let enhances = h.strings(tag(RPMTAG_ENHANCENAME))
        func triple(_ n: rpmTag_e, _ v: rpmTag_e, _ f: rpmTag_e) -> [RPMDependency] {
            let names = h.strings(tag(n))
            var versions = h.strings(tag(v))
            var flags = h.numbers(tag(f)).map { UInt32(truncatingIfNeeded: $0) }
            if versions.count != names.count { versions = Array(repeating: "", count: names.count) }
            if flags.count != names.count { flags = Array(repeating: 0, count: names.count) }
            return names.indices.map { RPMDependency(name: names[$0], version: versions[$0], flags: flags[$0]) }
        }

        var requires = relations(Self.primaryRequires(deps, files: files))
        for i in requires.indices {
            requires[i].pre = requires[i].sense & (RPMSense.prereq | RPMSense.scriptPre | RPMSense.scriptPost) != 0
        }
        let epochNumber = h.number(tag(RPMTAG_EPOCH))
        let archiveSize = package.signature.number(tag(RPMSIGTAG_LONGARCHIVESIZE)) ?? package.signature.number(tag(RPMSIGTAG_PAYLOADSIZE))
            ?? h.number(tag(RPMTAG_LONGARCHIVESIZE)) ?? h.number(tag(RPMTAG_ARCHIVESIZE)) ?? 0
        let headerStart = package.payloadOffset - UInt64(package.headerBytes.count)
        let changelogTimes = h.numbers(tag(RPMTAG_CHANGELOGTIME))
        let changelogNames = h.strings(tag(RPMTAG_CHANGELOGNAME))
        let changelogTexts = h.strings(tag(RPMTAG_CHANGELOGTEXT))
        let changelogs = (0..<min(changelogTimes.count, changelogNames.count, changelogTexts.count)).map {
            RPMRepositoryEntry.Changelog(author: changelogNames[$0], date: Int64(clamping: changelogTimes[$0]), text: changelogTexts[$0])
        }
        return RPMRepositoryEntry(
            name: name, arch: arch, epoch: epochNumber.map(String.init) ?? "0", version: version,
            release: h.string(tag(RPMTAG_RELEASE)) ?? "",
            summary: h.string(tag(RPMTAG_SUMMARY)) ?? "", description: h.string(tag(RPMTAG_DESCRIPTION)) ?? "",
            packager: h.string(tag(RPMTAG_PACKAGER)) ?? "", url: h.string(tag(RPMTAG_URL)) ?? "",
            buildTime: Int64(clamping: h.number(tag(RPMTAG_BUILDTIME)) ?? 0),
            license: h.string(tag(RPMTAG_LICENSE)) ?? "", vendor: h.string(tag(RPMTAG_VENDOR)) ?? "",
            group: h.string(tag(RPMTAG_GROUP)) ?? "", buildHost: h.string(tag(RPMTAG_BUILDHOST)) ?? "",
            sourceRPM: h.string(tag(RPMTAG_SOURCERPM)) ?? "",
            headerStart: headerStart, headerEnd: package.payloadOffset,
            installedSize: h.number(tag(RPMTAG_LONGSIZE)) ?? h.number(tag(RPMTAG_SIZE)) ?? 0,
            archiveSize: archiveSize,
            provides: relations(RPMDependency.deduplicated(deps.provides)),
            requires: requires,
            conflicts: relations(RPMDependency.deduplicated(deps.conflicts)),
            obsoletes: relations(RPMDependency.deduplicated(deps.obsoletes)),
            recommends: relations(RPMDependency.deduplicated(deps.recommends)),
            suggests: relations(RPMDependency.deduplicated(deps.suggests)),
            supplements: supplements.isEmpty ? [] : relations(RPMDependency.deduplicated(triple(RPMTAG_SUPPLEMENTNAME, RPMTAG_SUPPLEMENTVERSION, RPMTAG_SUPPLEMENTFLAGS))),
            enhances: enhances.isEmpty ? [] : relations(RPMDependency.deduplicated(triple(RPMTAG_ENHANCENAME, RPMTAG_ENHANCEVERSION, RPMTAG_ENHANCEFLAGS))),
            files: files, changelogs: changelogs)
    }

    /// The requirements yum's primary lists: without rpmlib() features, without files the package
    /// itself ships among its primary files, without what the package provides itself, and each once.
    static func primaryRequires(_ deps: RPMDependencySet, files: [RPMRepositoryEntry.File]) -> [RPMDependency] {
        let ownFiles = Set(files.map(\.path))
        let provided = Set(deps.provides.map { "\($0.name)\u{0}\($0.version)\u{0}\($0.flags & RPMSense.senseMask)" })
        var seen = Set<String>()
        return deps.requires.filter { row in
            if row.name.hasPrefix("rpmlib(") { return false }
            if row.name.hasPrefix("/"), ownFiles.contains(row.name) { return false }
            if provided.contains("\(row.name)\u{0}\(row.version)\u{0}\(row.flags & RPMSense.senseMask)") { return false }
            let pre = row.flags & (RPMSense.prereq | RPMSense.scriptPre | RPMSense.scriptPost) != 0
            return seen.insert("\(row.name)\u{0}\(row.version)\u{0}\(row.flags & RPMSense.senseMask)\u{0}\(pre)").inserted
        }
    }

    /// `[epoch:]version[-release]` split as createrepo_c does: epoch "0" when absent.
    static func splitEVR(_ text: String) -> (epoch: String, version: String, release: String?) {
        var rest = Substring(text)
        var epoch = "0"
        if let colon = rest.firstIndex(of: ":"), rest[..<colon].allSatisfy(\.isNumber) {
            epoch = rest[..<colon].isEmpty ? "0" : String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        if let dash = rest.lastIndex(of: "-") {
            return (epoch, String(rest[..<dash]), String(rest[rest.index(after: dash)...]))
        }
        return (epoch, String(rest), nil)
    }

    static func comparison(_ flags: UInt32) -> String? {
        switch flags & RPMSense.senseMask {
        case RPMSense.less: return "LT"
        case RPMSense.greater: return "GT"
        case RPMSense.equal: return "EQ"
        case RPMSense.less | RPMSense.equal: return "LE"
        case RPMSense.greater | RPMSense.equal: return "GE"
        default: return nil
        }
    }
}

extension RPMDependency {
    /// Each row once, in header order.
    static func deduplicated(_ rows: [RPMDependency]) -> [RPMDependency] {
        var seen = Set<RPMDependency>()
        return rows.filter { seen.insert($0).inserted }
    }
}
