import PkgLayerCore

/// The `control` file of a binary package: built from a PackageSpec, and read back into one.
///
/// Field order follows what dpkg and debhelper produce: Package, Version, Architecture, Maintainer,
/// Installed-Size, the relation fields (Pre-Depends, Depends, Recommends, Suggests, Conflicts, Breaks,
/// Replaces, Provides), Section, Priority, Homepage, Vendor, Description.
///
/// Decisions:
/// - **Obsoletes** has no Debian field. An rpm `Obsoletes: foo < 2` means "this package takes over
///   from foo < 2", which Debian spells `Breaks: foo (<< 2)` plus `Replaces: foo (<< 2)` (Policy
///   7.6.2, "Replacing whole packages"). Each obsolete relation is appended to both fields unless
///   already there.
/// - **Vendor** is not a dpkg field, but fpm writes `Vendor:` and dpkg keeps unknown fields in its
///   status file, so it is written when set (lintian reports `unknown-field Vendor`, a warning).
/// - **License** is not a control field. Debian carries it in /usr/share/doc/PKG/copyright; pkglayer
///   does not invent files, so a package without one gets lintian's `no-copyright-file`.
/// - **Maintainer** defaults to `DebControl.defaultMaintainer`: fixed, so builds stay reproducible
///   (fpm's default names the building user and host).
/// - **Description**: the synopsis is the spec's summary, else the description's first line, else
///   "no description given". The extended description is the spec's description (or its remaining
///   lines when the first became the synopsis); it is never padded with a copy of the synopsis,
///   which lintian rejects (`description-synopsis-is-duplicated`). Without one the field is a single
///   line (lintian: `extended-description-is-empty`).
public enum DebControl {
    public static let defaultMaintainer = "Unknown Maintainer <unknown@unknown.invalid>"
    public static let defaultSection = "misc"
    public static let defaultPriority = "optional"
    public static let noDescription = "no description given"

    // MARK: - Writing

    /// Builds the control paragraph. Throws for values dpkg would refuse, naming the field.
    public static func paragraph(spec: PackageSpec, installedSizeKiB: UInt64) throws -> ControlParagraph {
        try validate(spec)
        var p = ControlParagraph()
        p.append("Package", spec.name)
        p.append("Version", DebVersion(spec: spec).description)
        p.append("Architecture", spec.architecture.deb)
        p.append("Maintainer", nonEmpty(spec.maintainer) ?? defaultMaintainer)
        p.append("Installed-Size", String(installedSizeKiB))

        var breaks = spec.breaks
        var replaces = spec.replaces
        for obsolete in spec.obsoletes {
            if !breaks.contains(obsolete) { breaks.append(obsolete) }
            if !replaces.contains(obsolete) { replaces.append(obsolete) }
        }
        p.append("Pre-Depends", try relations(spec.preDepends, field: "Pre-Depends", alternatives: true))
        p.append("Depends", try relations(spec.depends, field: "Depends", alternatives: true))
        p.append("Recommends", try relations(spec.recommends, field: "Recommends", alternatives: true))
        p.append("Suggests", try relations(spec.suggests, field: "Suggests", alternatives: true))
        p.append("Conflicts", try relations(spec.conflicts, field: "Conflicts", alternatives: false))
        p.append("Breaks", try relations(breaks, field: "Breaks", alternatives: false))
        p.append("Replaces", try relations(replaces, field: "Replaces", alternatives: false))
        p.append("Provides", try relations(spec.provides, field: "Provides", alternatives: false, onlyEquals: true))
        p.append("Section", nonEmpty(spec.section) ?? defaultSection)
        p.append("Priority", nonEmpty(spec.priority) ?? defaultPriority)
        p.append("Homepage", nonEmpty(spec.url))
        p.append("Vendor", nonEmpty(spec.vendor))
        p.append("Description", description(spec: spec))
        return p
    }

    /// The Description value: synopsis, then each extended line with one leading space, blank lines as ` .`.
    public static func description(spec: PackageSpec) -> String {
        var synopsis = nonEmpty(spec.summary)?.trimmingCharacters(in: .whitespaces)
        // Every kind of line break (CR, CR LF, U+2028, …) ends a line, so each becomes a continuation line.
        var body: [Substring] = SingleLine.lines(spec.description ?? "").map { Substring($0) }
        if synopsis == nil || synopsis!.isEmpty {
            while let first = body.first, first.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { body.removeFirst() }
            if let first = body.first {
                synopsis = first.trimmingCharacters(in: .whitespaces)
                body.removeFirst()
            }
        }
        var lines = body.map { line -> Substring in
            var l = line
            while let last = l.last, last == " " || last == "\t" || last == "\r" { l = l.dropLast() }
            return l
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        var text = (synopsis?.isEmpty == false ? synopsis! : noDescription)
        for line in lines {
            if line.isEmpty {
                text += "\n ."
            } else if line.hasPrefix(".") {
                // " ." is a blank line and " .x" is reserved by Policy 5.6.13: indent such a line once
                // more, which displays it verbatim.
                text += "\n  " + line
            } else {
                text += "\n " + line
            }
        }
        return text
    }

    /// `a (>= 1), b | c` — or nil when the list is empty.
    static func relations(_ deps: [Dependency], field: String, alternatives: Bool, onlyEquals: Bool = false) throws -> String? {
        guard !deps.isEmpty else { return nil }
        var parts: [String] = []
        for dep in deps {
            if !alternatives && dep.alternatives.count > 1 {
                throw PkgLayerError(.invalidInput, "'\(dep)': dpkg allows alternatives ('|') only in Depends, Pre-Depends, Recommends and Suggests",
                                    at: field)
            }
            var clauses: [String] = []
            for clause in dep.alternatives {
                try validateRelationName(clause.name, field: field)
                if let op = clause.versionOperator, let version = clause.version {
                    if onlyEquals && op != .equal {
                        throw PkgLayerError(.invalidInput, "'\(dep)': Debian allows only '=' versions in Provides; write '\(clause.name) = \(version)'",
                                            at: field)
                    }
                    guard !version.isEmpty, version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+~:-".contains($0)) }) else {
                        throw PkgLayerError(.invalidInput, "'\(dep)': version '\(version)' holds characters Debian versions do not allow (A-Z a-z 0-9 . + ~ - :)",
                                            at: field)
                    }
                    clauses.append("\(clause.name) (\(op.deb) \(version))")
                } else {
                    clauses.append(clause.name)
                }
            }
            parts.append(clauses.joined(separator: " | "))
        }
        return parts.joined(separator: ", ")
    }

    /// Debian package names: lower-case letters, digits, `+ - .`, at least two characters, starting with
    /// a letter or digit; relations may add an architecture qualifier (`foo:any`, `foo:amd64`).
    static func validateRelationName(_ full: String, field: String) throws {
        let parts = full.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0]
        let archOK = parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") })
        guard isDebianName(name), archOK else {
            throw PkgLayerError(.invalidInput, "'\(full)' is not a Debian package name (lower-case letters, digits and + - ., at least two characters, optionally ':arch')",
                                at: field)
        }
    }

    static func isDebianName(_ name: Substring) -> Bool {
        name.count >= 2 && name.first!.isASCII && (name.first!.isLowercase || name.first!.isNumber)
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// Checks what Debian demands beyond PackageSpec.validate().
    public static func validate(_ spec: PackageSpec) throws {
        try spec.validate()
        guard isDebianName(Substring(spec.name)) else {
            throw PkgLayerError(.invalidInput, "Debian package names hold only lower-case letters, digits and + - . and have at least two characters; '\(spec.name)' does not (try '\(spec.name.lowercased().replacingOccurrences(of: "_", with: "-"))')",
                                at: "name")
        }
        let versionChars: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || ".+~".contains($0)) }
        guard spec.version.allSatisfy(versionChars) else {
            throw PkgLayerError(.invalidInput, "Debian versions hold only letters, digits and . + ~; '\(spec.version)' does not (replace '_' with '~' or '.')",
                                at: "version")
        }
        if let release = spec.release, !release.allSatisfy(versionChars) {
            throw PkgLayerError(.invalidInput, "Debian revisions hold only letters, digits and . + ~; '\(release)' does not", at: "iteration")
        }
        // Each becomes one line of the control file: a line break (checked over Unicode scalars, so CR LF,
        // a lone CR and U+2028 count) would start a field of its own (`Essential: yes`), so it is refused.
        for (field, value, what) in singleLineFields(spec) {
            try SingleLine.check(value, field: field, what: what)
        }
        for line in SingleLine.lines(spec.description ?? "") {
            if let (scalar, _) = SingleLine.firstForbidden(in: line) {
                throw PkgLayerError(.invalidInput, "the description holds \(SingleLine.name(of: scalar)); a Debian control file's Description may span lines but holds no control characters: remove it",
                                    at: "description")
            }
        }
        for entry in spec.changelog {
            try SingleLine.check(entry.author, field: "changelog", what: "a changelog entry's author (the ` -- Author <mail>  date` line of changelog.Debian)")
            try SingleLine.check(entry.version, field: "changelog", what: "a changelog entry's version (its heading line in changelog.Debian)")
        }
        for (field, value) in [("section", spec.section), ("priority", spec.priority)] where value?.contains(where: \.isWhitespace) == true {
            throw PkgLayerError(.invalidInput, "'\(value!)' must be one word (for example 'utils' or 'optional')", at: field)
        }
    }

    /// The spec's values that become one line of the control file: the spec field (what errors name),
    /// its value, and which control field it becomes (with where a user sets it, or a converted package
    /// carried it).
    static func singleLineFields(_ spec: PackageSpec) -> [(String, String?, String)] {
        [("summary", spec.summary, "the Description field's first line (the synopsis: --description's first line, or an rpm's Summary) in a Debian control file"),
         ("maintainer", spec.maintainer, "the Maintainer field (--maintainer, or an rpm's Packager) of a Debian control file"),
         ("section", spec.section, "the Section field (--category, or an rpm's Group) of a Debian control file"),
         ("priority", spec.priority, "the Priority field (--deb-priority) of a Debian control file"),
         ("url", spec.url, "the Homepage field (--url, or an rpm's URL) of a Debian control file"),
         ("vendor", spec.vendor, "the Vendor field (--vendor, or an rpm's Vendor) of a Debian control file")]
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return s
    }

    // MARK: - Reading

    /// Builds a PackageSpec from a control paragraph. `location` names the .deb in errors.
    public static func spec(from p: ControlParagraph, sourceDateEpoch: SourceDateEpoch, location: String) throws -> PackageSpec {
        func required(_ field: String) throws -> String {
            guard let value = p[field], !value.isEmpty else {
                throw PkgLayerError(.deb, "control file has no \(field) field; every binary package must have one", at: location)
            }
            return value
        }
        let name = try required("Package")
        let version = try DebVersion(parsing: try required("Version"), location: location)
        let archText = try required("Architecture")
        guard let arch = Architecture(parsing: archText) else {
            throw PkgLayerError(.deb, "Architecture '\(archText)' is not one pkglayer knows (\(Architecture.allCases.map(\.deb).joined(separator: ", ")))",
                                at: location)
        }
        var spec = PackageSpec(name: name, version: version.upstream, release: version.revision, epoch: version.epoch,
                               architecture: arch, sourceDateEpoch: sourceDateEpoch)
        spec.maintainer = p["Maintainer"]
        spec.section = p["Section"]
        spec.priority = p["Priority"]
        spec.url = p["Homepage"]
        spec.vendor = p["Vendor"]
        spec.license = p["License"]
        if let description = p["Description"] {
            let parsed = parseDescription(description)
            spec.summary = parsed.synopsis
            spec.description = parsed.extended
        }
        func deps(_ field: String) throws -> [Dependency] {
            guard let value = p[field] else { return [] }
            let flat = value.replacingOccurrences(of: "\n", with: " ")
            return try flat.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map {
                do { return try Dependency(parsing: $0, field: field) } catch let error as PkgLayerError {
                    throw PkgLayerError(.deb, "\(field): \(error.message)", at: location)
                }
            }
        }
        spec.preDepends = try deps("Pre-Depends")
        spec.depends = try deps("Depends")
        spec.recommends = try deps("Recommends")
        spec.suggests = try deps("Suggests")
        spec.conflicts = try deps("Conflicts")
        spec.breaks = try deps("Breaks")
        spec.replaces = try deps("Replaces")
        spec.provides = try deps("Provides")
        return spec
    }

    /// Splits a Description value into the synopsis and the extended text (` .` → empty line,
    /// one leading space removed from every other line). A copy of the synopsis as the whole
    /// extended text (as some tools write it) reads back as no extended description.
    public static func parseDescription(_ value: String) -> (synopsis: String, extended: String?) {
        let lines = ControlParagraph.lines(value).map { Substring($0) }
        let synopsis = lines.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        var body: [String] = []
        for line in lines.dropFirst() {
            let stripped = line.first == " " || line.first == "\t" ? line.dropFirst() : line
            body.append(stripped == "." ? "" : String(stripped))
        }
        let extended = body.joined(separator: "\n")
        if extended.isEmpty || extended == synopsis { return (synopsis, nil) }
        return (synopsis, extended)
    }
}
