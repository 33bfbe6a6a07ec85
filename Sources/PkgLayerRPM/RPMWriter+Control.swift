import CRPM
import Foundation
import PkgLayerCore

/// The header tags behind `spec.changelog` and the rpm half of `spec.extras`: changelog, triggers,
/// %verifyscript, the OS tag and extra tags named by the user (`--rpm-tag 'Packager: x'`).
extension RPMWriter {
    /// `spec.changelog`, newest first, as rpmbuild stores `%changelog`: CHANGELOGTIME (the entry's
    /// date), CHANGELOGNAME (`Author - version`, the package's EVR when the entry names none) and
    /// CHANGELOGTEXT (each line a `- ` item unless it already starts with `-`). Without entries, one
    /// entry dated SOURCE_DATE_EPOCH says where the package came from (rpmlint wants a changelog).
    func putChangelog(_ h: RPMHeader, spec: PackageSpec) throws {
        guard !spec.changelog.isEmpty else {
            let who = spec.maintainer.flatMap { $0.isEmpty ? nil : $0 } ?? "pkglayer"
            try h.put(tag(RPMTAG_CHANGELOGTIME), uint32: [UInt32(Self.headerTime(spec.sourceDateEpoch.seconds))])
            try h.put(tag(RPMTAG_CHANGELOGNAME), strings: ["\(who) - \(spec.rpmEVR)"])
            try h.put(tag(RPMTAG_CHANGELOGTEXT), strings: ["- Package built by pkglayer"])
            return
        }
        // rpm keeps changelogs newest first; a stable sort keeps the order of entries of one date.
        let entries = spec.changelog.enumerated().sorted { a, b in
            a.element.date != b.element.date ? a.element.date > b.element.date : a.offset < b.offset
        }.map(\.element)
        try h.put(tag(RPMTAG_CHANGELOGTIME), uint32: entries.map { UInt32(clamping: Self.headerTime($0.date)) })
        try h.put(tag(RPMTAG_CHANGELOGNAME), strings: entries.map { "\($0.author) - \($0.version ?? spec.rpmEVR)" })
        try h.put(tag(RPMTAG_CHANGELOGTEXT), strings: entries.map(Self.changelogText))
    }

    static func changelogText(_ entry: ChangelogEntry) -> String {
        // Split at every line break by Unicode scalar, so each becomes an item of its own.
        let lines = SingleLine.lines(entry.text).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if lines.isEmpty { return "- (no text)" }
        return lines.map { $0.hasPrefix("-") ? $0 : "- " + $0 }.joined(separator: "\n")
    }

    /// `%verifyscript` (VERIFYSCRIPT + VERIFYSCRIPTPROG), run by `rpm -V`.
    func putVerifyScript(_ h: RPMHeader, spec: PackageSpec) throws {
        guard let script = spec.extras.rpmVerifyScript, !script.isEmpty else { return }
        try h.put(tag(RPMTAG_VERIFYSCRIPT), string: script)
        try h.put(tag(RPMTAG_VERIFYSCRIPTPROG), strings: [Self.interpreterPath(of: script)])
    }

    /// Triggers as rpmbuild stores them: one TRIGGERSCRIPTS/TRIGGERSCRIPTPROG entry per trigger, one
    /// TRIGGERNAME/VERSION/FLAGS row per target package, and TRIGGERINDEX pointing each row at its script.
    /// The flags carry the kind (RPMSENSE_TRIGGERPREIN, …IN, …UN, …POSTUN) and the version comparison.
    func putTriggers(_ h: RPMHeader, spec: PackageSpec) throws {
        let triggers = spec.extras.rpmTriggers
        guard !triggers.isEmpty else { return }
        var names: [String] = [], versions: [String] = [], flags: [UInt32] = [], indexes: [UInt32] = []
        for (index, trigger) in triggers.enumerated() {
            guard !trigger.targets.isEmpty else {
                throw PkgLayerError(.invalidInput, "an rpm trigger needs at least one package it fires on", at: "--rpm-trigger-\(trigger.kind.rawValue)")
            }
            for target in trigger.targets {
                guard target.alternatives.count == 1 else {
                    throw PkgLayerError(.invalidInput, "'\(target)': an rpm trigger fires on single packages, not alternatives",
                                        at: "--rpm-trigger-\(trigger.kind.rawValue)")
                }
                let clause = target.alternatives[0]
                names.append(clause.name)
                versions.append(clause.versionOperator == nil ? "" : clause.version ?? "")
                flags.append(RPMSense.flags(for: clause.versionOperator) | Self.triggerSense(trigger.kind))
                indexes.append(UInt32(index))
            }
        }
        try h.put(tag(RPMTAG_TRIGGERSCRIPTS), strings: triggers.map(\.script))
        try h.put(tag(RPMTAG_TRIGGERSCRIPTPROG), strings: triggers.map { Self.interpreterPath(of: $0.script) })
        try h.put(tag(RPMTAG_TRIGGERNAME), strings: names)
        try h.put(tag(RPMTAG_TRIGGERVERSION), strings: versions)
        try h.put(tag(RPMTAG_TRIGGERFLAGS), uint32: flags)
        try h.put(tag(RPMTAG_TRIGGERINDEX), uint32: indexes)
    }

    static func triggerSense(_ kind: RPMTrigger.Kind) -> UInt32 {
        switch kind {
        case .beforeInstall: return UInt32(RPMSENSE_TRIGGERPREIN.rawValue)
        case .afterInstall: return UInt32(RPMSENSE_TRIGGERIN.rawValue)
        case .beforeUninstall: return UInt32(RPMSENSE_TRIGGERUN.rawValue)
        case .afterTargetUninstall: return UInt32(RPMSENSE_TRIGGERPOSTUN.rawValue)
        }
    }

    /// The program a script runs under: its `#!` line's (without arguments), else /bin/sh.
    static func interpreterPath(of script: String) -> String {
        // Only the `#!` line, up to its first line break of any kind.
        guard script.hasPrefix("#!"), let program = SingleLine.firstLine(of: script).dropFirst(2).split(separator: " ").first,
              program.hasPrefix("/") else { return scriptInterpreter }
        return String(program)
    }

    // MARK: - One-line header text

    /// Refuses header text that must be one line but holds a line break or another control character
    /// (checked over Unicode scalars: "\r\n" is one Character). rpmbuild cannot write such a value (its
    /// spec file is line-based), `rpm -qi` and every `rpm -q --qf '%{URL}\n'` reader would take the rest
    /// for another line, and a conversion to deb would carry it into a control file.
    static func checkHeaderText(_ spec: PackageSpec) throws {
        let fields: [(String, String?, String)] = [
            ("summary", spec.effectiveSummary, "an rpm's Summary"), ("maintainer", spec.maintainer, "an rpm's Packager (--maintainer)"),
            ("vendor", spec.vendor, "an rpm's Vendor"), ("license", spec.license, "an rpm's License"),
            ("section", spec.section, "an rpm's Group (--category)"), ("url", spec.url, "an rpm's URL"),
            ("--rpm-os", spec.extras.rpmOS, "an rpm's OS"),
        ]
        for (field, value, what) in fields { try SingleLine.check(value, field: field, what: what) }
        for entry in spec.changelog {
            try SingleLine.check(entry.author, field: "changelog", what: "a changelog entry's author (rpm's CHANGELOGNAME)")
            try SingleLine.check(entry.version, field: "changelog", what: "a changelog entry's version (rpm's CHANGELOGNAME)")
        }
        for (name, value) in spec.extras.rpmTags where splitQualifier(name).0.lowercased() != "description" {
            try SingleLine.check(name, field: "--rpm-tag", what: "an rpm header tag's name")
            try SingleLine.check(value, field: "--rpm-tag", what: "the value of the rpm header tag '\(name)'")
        }
    }

    // MARK: - --rpm-tag

    /// The header tags a user may set by name (`--rpm-tag 'Name: value'`), with rpm's tag for each.
    /// Names compare case-insensitively, as rpm's spec parser reads them.
    static var settableTags: [(name: String, tag: rpmTag_e, i18n: Bool)] { [
        ("Summary", RPMTAG_SUMMARY, true), ("Group", RPMTAG_GROUP, true), ("Description", RPMTAG_DESCRIPTION, true),
        ("Packager", RPMTAG_PACKAGER, false), ("Vendor", RPMTAG_VENDOR, false), ("Distribution", RPMTAG_DISTRIBUTION, false),
        ("License", RPMTAG_LICENSE, false), ("URL", RPMTAG_URL, false), ("BuildHost", RPMTAG_BUILDHOST, false),
        ("DistURL", RPMTAG_DISTURL, false), ("BugURL", RPMTAG_BUGURL, false), ("DistTag", RPMTAG_DISTTAG, false),
        ("ModularityLabel", RPMTAG_MODULARITYLABEL, false), ("Cookie", RPMTAG_COOKIE, false), ("OptFlags", RPMTAG_OPTFLAGS, false),
        ("Platform", RPMTAG_PLATFORM, false), ("SourceRPM", RPMTAG_SOURCERPM, false),
    ] }

    /// Dependency tags a user may add to (`Requires(post): foo`, `Provides: bar = 1`).
    static let dependencyTagNames = ["requires", "provides", "conflicts", "obsoletes", "recommends", "suggests"]

    /// Stores the `--rpm-tag` header tags, replacing generated values of the same tag.
    func putUserTags(_ h: RPMHeader, spec: PackageSpec) throws {
        var byTag: [(rpmTag_e, Bool, String)] = []
        for (name, value) in spec.extras.rpmTags {
            let (base, _) = Self.splitQualifier(name)
            if Self.dependencyTagNames.contains(base.lowercased()) { continue }
            guard let known = Self.settableTags.first(where: { $0.name.lowercased() == base.lowercased() }) else {
                throw Self.unknownTag(name)
            }
            if let i = byTag.firstIndex(where: { $0.0 == known.tag }) { byTag.remove(at: i) }
            byTag.append((known.tag, known.i18n, value))
        }
        for (t, i18n, value) in byTag {
            h.remove(tag(t))
            if i18n {
                try h.put(tag(t), i18n: value)
            } else {
                try h.put(tag(t), string: value)
            }
        }
    }

    /// The dependencies named by `--rpm-tag` (`Requires(pre): shadow-utils`), for `dependencies(…)`.
    func userTagDependencies(_ spec: PackageSpec) throws -> RPMDependencySet {
        var deps = RPMDependencySet()
        for (name, value) in spec.extras.rpmTags {
            let (base, qualifier) = Self.splitQualifier(name)
            let lower = base.lowercased()
            guard Self.dependencyTagNames.contains(lower) else {
                guard Self.settableTags.contains(where: { $0.name.lowercased() == lower }) else { throw Self.unknownTag(name) }
                continue
            }
            var extra: UInt32 = 0
            if let qualifier {
                guard lower == "requires" else {
                    throw PkgLayerError(.invalidInput, "only Requires takes a qualifier such as (pre) or (post); '\(name)' does not exist in rpm", at: "--rpm-tag")
                }
                for word in qualifier.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
                    switch word {
                    case "pre": extra |= RPMSense.scriptPre
                    case "post": extra |= RPMSense.scriptPost
                    case "preun": extra |= RPMSense.scriptPreun
                    case "postun": extra |= RPMSense.scriptPostun
                    case "pretrans": extra |= RPMSense.pretrans
                    case "posttrans": extra |= RPMSense.posttrans
                    case "interp": extra |= RPMSense.interp
                    default:
                        throw PkgLayerError(.invalidInput, "'\(name)': rpm knows the Requires qualifiers pre, post, preun, postun, pretrans, posttrans and interp, not '\(word)'",
                                            at: "--rpm-tag")
                    }
                }
            }
            let parsed = try value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .map { try Dependency(parsing: $0, field: "--rpm-tag '\(name)'") }
            let rows = parsed.map { RPMDependency($0, extraFlags: extra) }
            switch lower {
            case "requires": deps.requires += rows
            case "provides": deps.provides += rows
            case "conflicts": deps.conflicts += rows
            case "obsoletes": deps.obsoletes += rows
            case "recommends": deps.recommends += rows
            default: deps.suggests += rows
            }
        }
        return deps
    }

    /// `Requires(pre)` → ("Requires", "pre").
    static func splitQualifier(_ name: String) -> (String, String?) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") else { return (trimmed, nil) }
        return (String(trimmed[..<open]).trimmingCharacters(in: .whitespaces),
                String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]))
    }

    static func unknownTag(_ name: String) -> PkgLayerError {
        let known = (settableTags.map(\.name) + ["Requires", "Requires(pre|post|preun|postun)", "Provides", "Conflicts", "Obsoletes",
                                                   "Recommends", "Suggests"]).joined(separator: ", ")
        return PkgLayerError(.invalidInput, "'\(name)' is not an rpm header tag pkglayer can set; use one of: \(known)", at: "--rpm-tag")
    }
}

/// Per-file digests in the algorithms rpm's FILEDIGESTALGO names, computed with librpm.
enum RPMFileDigest {
    /// rpm's PGPHASHALGO_* number for an algorithm.
    static func algorithmNumber(_ algorithm: FileDigestAlgorithm) -> UInt32 {
        switch algorithm {
        case .md5: return UInt32(PGPHASHALGO_MD5.rawValue)
        case .sha1: return UInt32(PGPHASHALGO_SHA1.rawValue)
        case .sha256: return UInt32(PGPHASHALGO_SHA256.rawValue)
        case .sha384: return UInt32(PGPHASHALGO_SHA384.rawValue)
        case .sha512: return UInt32(PGPHASHALGO_SHA512.rawValue)
        }
    }

    /// Lower-case hex digest of a file's content (an empty content when `path` is nil).
    static func hex(_ algorithm: FileDigestAlgorithm, path: String?) throws -> String {
        guard let ctx = rpmDigestInit(Int32(algorithmNumber(algorithm)), rpmDigestFlags(RPMDIGEST_NONE.rawValue)) else {
            throw PkgLayerError(.rpm, "librpm cannot compute \(algorithm.rawValue) digests")
        }
        if let path {
            do {
                try FileReader.forEachBlock(path: path) { block in _ = rpmDigestUpdate(ctx, block.baseAddress, block.count) }
            } catch {
                rpmDigestFinal(ctx, nil, nil, 0)
                throw error
            }
        }
        var data: UnsafeMutableRawPointer?
        var length = 0
        guard rpmDigestFinal(ctx, &data, &length, 1) == 0, let data else {
            throw PkgLayerError(.rpm, "librpm could not finish a \(algorithm.rawValue) digest")
        }
        defer { free(data) }
        return String(cString: data.assumingMemoryBound(to: CChar.self))
    }
}
