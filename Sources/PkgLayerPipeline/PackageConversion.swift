import Foundation
import PkgLayerCore

/// Converting a package pkglayer did not write (`pkglayer package -s rpm -t deb`, `-s deb -t rpm`):
/// what one format says and the other cannot is mapped to its meaning there, or dropped; everything
/// dropped is named in one warning.
///
/// rpm → deb:
/// - file dependencies (`/bin/sh`, `/usr/bin/perl`) become the Debian package that owns the path on
///   this host (`dpkg-query -S`, trying the `/usr`-merged spelling too), else they are dropped;
///   shared-library capabilities (`libc.so.6()(64bit)`, `libz.so.1(ZLIB_1.2.0)(64bit)`) likewise
///   become the package owning the library in the architecture's library directories;
/// - `rpmlib(…)`, `config(…)`, and other capabilities Debian cannot name (`perl(Foo)`,
///   `pkgconfig(x)`, `rtld(GNU_HASH)`) are dropped; in an alternative list only the unnameable
///   alternatives go;
/// - rich dependencies: `(a or b)` are alternatives already; `(a and b)` becomes two dependencies;
///   `with`, `without`, `if`, `unless` and nesting are dropped;
/// - `%pretrans`/`%posttrans`, triggers, `%verifyscript` are dropped; scriptlets keep their text and
///   see rpm's numeric `$1` (1 install, 2 upgrade, 0 removal), translated from dpkg's arguments;
/// - `%ghost` files have no content and are dropped (`adaptManifest`); `%config(noreplace)` files are
///   conffiles, `%attr` modes and owners are the manifest's (kept); the changelog is kept on the spec.
///
/// deb → rpm:
/// - architecture qualifiers (`python3:any`) are left off names;
/// - Pre-Depends stay pre-dependencies (rpm `Requires(pre)`); alternatives become rich `(a or b)`
///   (the rpm writer spells them); `Breaks` becomes `Conflicts`;
/// - dpkg triggers, debconf `config`/`templates`, `shlibs`, the `postrm purge` script and extra
///   control fields are dropped; maintainer scripts see dpkg's arguments (`install`, `upgrade`,
///   `configure`, `remove`), translated from rpm's `$1`;
/// - conffiles are `%config(noreplace)` (the deb reader marks them).
public enum PackageConversion {
    /// Adapts `spec` read from a `from` package for writing as `to`. Returns the spec and at most one
    /// warning that lists what was dropped (and what a file dependency became). `from == to`: unchanged.
    public static func adapt(_ spec: PackageSpec, from: PackageFormat, to: PackageFormat) -> (PackageSpec, warnings: [String]) {
        adapt(spec, from: from, to: to, owners: DpkgOwners())
    }

    /// As `adapt(_:from:to:)`, and also leaves out what the manifest holds that `to` cannot carry
    /// (rpm `%ghost` files for a deb), listing them in the same single warning.
    public static func adapt(_ spec: PackageSpec, manifest: FileManifest, from: PackageFormat,
                             to: PackageFormat) throws -> (PackageSpec, FileManifest, warnings: [String]) {
        var report = Report()
        let newSpec = adapt(spec, from: from, to: to, owners: DpkgOwners(), report: &report)
        var newManifest = manifest
        if from == .rpm && to == .deb {
            let ghosts = manifest.entries.filter { $0.flags.contains(.ghost) }.map(\.path)
            if !ghosts.isEmpty {
                report.drop("%ghost files (no content in the rpm): \(ghosts.joined(separator: ", "))")
                newManifest = try FileManifest(entries: manifest.entries.filter { !$0.flags.contains(.ghost) },
                                               implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
            }
        }
        return (newSpec, newManifest, report.warnings(from: from, to: to))
    }

    static func adapt(_ spec: PackageSpec, from: PackageFormat, to: PackageFormat, owners: DpkgOwners) -> (PackageSpec, warnings: [String]) {
        var report = Report()
        let result = adapt(spec, from: from, to: to, owners: owners, report: &report)
        return (result, report.warnings(from: from, to: to))
    }

    // MARK: - The report

    struct Report {
        var dropped: [String] = []
        var mapped: [String] = []
        mutating func drop(_ what: String) { if !dropped.contains(what) { dropped.append(what) } }
        mutating func map(_ what: String) { if !mapped.contains(what) { mapped.append(what) } }
        /// `from → to`, grouped by `to` when rendered (ten glibc capabilities → one `libc6`).
        var renamed: [(from: String, to: String)] = []
        mutating func map(_ from: String, to: String) {
            if !renamed.contains(where: { $0.from == from && $0.to == to }) { renamed.append((from, to)) }
        }

        func warnings(from: PackageFormat, to: PackageFormat) -> [String] {
            var mapped = self.mapped
            var targets: [String] = []
            for pair in renamed where !targets.contains(pair.to) { targets.append(pair.to) }
            for target in targets {
                mapped.append(renamed.filter { $0.to == target }.map(\.from).joined(separator: ", ") + " → " + target)
            }
            guard !dropped.isEmpty || !mapped.isEmpty else { return [] }
            var text = "converting \(from.rawValue) to \(to.rawValue):"
            if !dropped.isEmpty { text += " dropped what \(to.rawValue) cannot express: \(dropped.joined(separator: "; "))" }
            if !mapped.isEmpty { text += (dropped.isEmpty ? "" : ";") + " mapped: \(mapped.joined(separator: "; "))" }
            return [text]
        }
    }

    static func adapt(_ spec: PackageSpec, from: PackageFormat, to: PackageFormat, owners: DpkgOwners,
                      report: inout Report) -> PackageSpec {
        guard from != to else { return spec }
        var out = spec
        switch (from, to) {
        case (.rpm, .deb): rpmToDeb(&out, owners: owners, report: &report)
        case (.deb, .rpm): debToRPM(&out, report: &report)
        default: break
        }
        return out
    }

    // MARK: - rpm → deb

    static func rpmToDeb(_ spec: inout PackageSpec, owners: DpkgOwners, report: inout Report) {
        if spec.name != spec.name.lowercased() {
            report.map("package name \(spec.name) → \(spec.name.lowercased()) (Debian names are lower-case)")
            spec.name = spec.name.lowercased()
        }
        let selfName = spec.name
        func relations(_ list: [Dependency], field: String, ownersAllowed: Bool) -> [Dependency] {
            var result: [Dependency] = []
            for dependency in list {
                for expanded in expandRich(dependency, field: field, report: &report) {
                    var clauses: [Dependency.Clause] = []
                    for clause in expanded.alternatives {
                        if let mapped = debClause(clause, field: field, ownersAllowed: ownersAllowed, arch: spec.architecture,
                                                  owners: owners, report: &report) {
                            if !clauses.contains(mapped) { clauses.append(mapped) }
                        }
                    }
                    // A dependency on the package itself (a file it ships) says nothing.
                    if clauses.contains(where: { $0.name == selfName && $0.versionOperator == nil }) && field != "Provides" { continue }
                    guard !clauses.isEmpty else { continue }
                    let dep = Dependency(alternatives: clauses)
                    if !result.contains(dep) { result.append(dep) }
                }
            }
            return ownersAllowed ? mergingFloors(result) : result
        }
        spec.preDepends = relations(spec.preDepends, field: "Requires(pre)", ownersAllowed: true)
        spec.depends = relations(spec.depends, field: "Requires", ownersAllowed: true).filter { !spec.preDepends.contains($0) }
        spec.recommends = relations(spec.recommends, field: "Recommends", ownersAllowed: true)
        spec.suggests = relations(spec.suggests, field: "Suggests", ownersAllowed: true)
        spec.provides = relations(spec.provides, field: "Provides", ownersAllowed: false).map { dep in
            // Debian's Provides take only `=` versions.
            Dependency(alternatives: dep.alternatives.map { c in
                c.versionOperator == nil || c.versionOperator == .equal ? c : Dependency.Clause(name: c.name)
            })
        }
        spec.conflicts = relations(spec.conflicts, field: "Conflicts", ownersAllowed: false)
        spec.breaks = relations(spec.breaks, field: "Breaks", ownersAllowed: false)
        spec.replaces = relations(spec.replaces, field: "Replaces", ownersAllowed: false)
        spec.obsoletes = relations(spec.obsoletes, field: "Obsoletes", ownersAllowed: false)

        for hook in [ScriptHook.beforeTransaction, .afterTransaction] where spec.scripts[hook] != nil {
            report.drop(hook == .beforeTransaction ? "%pretrans" : "%posttrans")
            spec.scripts[hook] = nil
        }
        for (hook, body) in spec.scripts where readsRPMArguments(body) {
            spec.scripts[hook] = withArguments(body, lines: rpmArgumentsInDeb(hook))
        }
        if !spec.extras.rpmTriggers.isEmpty {
            let names = spec.extras.rpmTriggers.map { "%trigger\(triggerSuffix($0.kind)) -- \($0.targets.map(\.description).joined(separator: ", "))" }
            report.drop("rpm triggers (\(names.joined(separator: "; ")))")
            spec.extras.rpmTriggers = []
        }
        if spec.extras.rpmVerifyScript != nil { report.drop("%verifyscript"); spec.extras.rpmVerifyScript = nil }
        if !spec.changelog.isEmpty { report.map("%changelog → /usr/share/doc/\(spec.name)/changelog.Debian.gz") }
        if !spec.extras.rpmTags.isEmpty {
            report.drop("rpm header tags \(spec.extras.rpmTags.map(\.name).joined(separator: ", "))")
            spec.extras.rpmTags = []
        }
        spec.extras.rpmOS = nil
        spec.extras.rpmFileDigest = nil
    }

    /// `libc6`, `libc6 >= 2.14`, `libc6 >= 2.34` → `libc6 >= 2.34`: one floor per package, the highest.
    static func mergingFloors(_ list: [Dependency]) -> [Dependency] {
        func single(_ d: Dependency) -> Dependency.Clause? { d.alternatives.count == 1 ? d.alternatives[0] : nil }
        var result: [Dependency] = []
        for dep in list {
            guard let clause = single(dep), clause.versionOperator == nil || clause.versionOperator == .greaterOrEqual else {
                result.append(dep); continue
            }
            if let i = result.firstIndex(where: { single($0)?.name == clause.name && (single($0)?.versionOperator == nil || single($0)?.versionOperator == .greaterOrEqual) }) {
                let existing = single(result[i])!
                if existing.version == nil || (clause.version.map { newer($0, than: existing.version!) } ?? false) { result[i] = dep }
            } else {
                result.append(dep)
            }
        }
        return result
    }

    /// Dotted numeric comparison, enough for glibc release numbers.
    static func newer(_ a: String, than b: String) -> Bool {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }, y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let (p, q) = (i < x.count ? x[i] : 0, i < y.count ? y[i] : 0)
            if p != q { return p > q }
        }
        return false
    }

    /// `libc.so.6(GLIBC_2.34)(64bit)` → `2.34`.
    static func glibcVersion(_ capability: String) -> String? {
        guard let start = capability.range(of: "(GLIBC_") else { return nil }
        let version = capability[start.upperBound...].prefix { $0.isNumber || $0 == "." }
        return version.isEmpty ? nil : String(version)
    }

    static func triggerSuffix(_ kind: RPMTrigger.Kind) -> String {
        switch kind {
        case .beforeInstall: return "prein"
        case .afterInstall: return "in"
        case .beforeUninstall: return "un"
        case .afterTargetUninstall: return "postun"
        }
    }

    /// Splits rpm rich dependencies Debian can say as several relations (`(a and b)`); keeps `or` as
    /// alternatives; drops the rest.
    static func expandRich(_ dependency: Dependency, field: String, report: inout Report) -> [Dependency] {
        guard dependency.alternatives.count == 1, dependency.name.hasPrefix("(") else { return [dependency] }
        let text = dependency.name
        guard let tree = RichExpression.parse(text) else {
            report.drop("\(field): \(text) (a rich dependency Debian has no form for)")
            return []
        }
        switch tree {
        case .clause(let c): return [Dependency(alternatives: [c])]
        case .or(let items):
            let clauses = items.compactMap { if case .clause(let c) = $0 { return c } else { return nil } }
            if clauses.count == items.count { return [Dependency(alternatives: clauses)] }
        case .and(let items):
            var result: [Dependency] = []
            for item in items {
                switch item {
                case .clause(let c): result.append(Dependency(alternatives: [c]))
                case .or(let inner):
                    let clauses = inner.compactMap { if case .clause(let c) = $0 { return c } else { return nil } }
                    guard clauses.count == inner.count else {
                        report.drop("\(field): \(text) (a rich dependency Debian has no form for)")
                        return []
                    }
                    result.append(Dependency(alternatives: clauses))
                default:
                    report.drop("\(field): \(text) (a rich dependency Debian has no form for)")
                    return []
                }
            }
            return result
        case .other: break
        }
        report.drop("\(field): \(text) (a rich dependency Debian has no form for)")
        return []
    }

    /// One rpm clause in Debian terms, or nil (reported) when Debian cannot name it.
    static func debClause(_ clause: Dependency.Clause, field: String, ownersAllowed: Bool, arch: Architecture, owners: DpkgOwners,
                          report: inout Report) -> Dependency.Clause? {
        let name = clause.name
        let shown = clause.versionOperator.map { "\(name) \($0.rpm) \(clause.version ?? "")" } ?? name
        if name.hasPrefix("rpmlib(") || name.hasPrefix("config(") {
            report.drop("\(field): \(shown)")
            return nil
        }
        if name.hasPrefix("/") {
            if ownersAllowed, let owner = owners.owner(ofAnyOf: usrMergeSpellings(name)) {
                report.map(name, to: owner)
                return Dependency.Clause(name: owner)
            }
            report.drop("\(field): \(shown) (\(ownersAllowed ? "no Debian package on this host owns it" : "a file, not a package"))")
            return nil
        }
        if let library = sharedLibrary(name) {
            if ownersAllowed, let owner = owners.owner(ofAnyOf: libraryPaths(library, arch: arch)) {
                // glibc's symbol versions are its release numbers: `libc.so.6(GLIBC_2.34)(64bit)` needs libc6 ≥ 2.34.
                if owner == "libc6", let version = glibcVersion(name) {
                    report.map(name, to: "\(owner) (>= the newest GLIBC_ version)")
                    return Dependency.Clause(name: owner, versionOperator: .greaterOrEqual, version: version)
                }
                report.map(name, to: owner)
                return Dependency.Clause(name: owner)
            }
            report.drop("\(field): \(shown) (\(ownersAllowed ? "no Debian package on this host owns \(library)" : "a shared-library capability"))")
            return nil
        }
        if isDebianName(name) { return clause }
        let lowered = name.lowercased()
        if isDebianName(lowered) {
            report.map("\(name) → \(lowered)")
            return Dependency.Clause(name: lowered, versionOperator: clause.versionOperator, version: clause.version)
        }
        report.drop("\(field): \(shown)")
        return nil
    }

    static func isDebianName(_ name: String) -> Bool {
        guard name.count >= 2, let first = name.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// `libc.so.6()(64bit)`, `libz.so.1(ZLIB_1.2.0)(64bit)`, `libfoo.so()` → the library's file name.
    static func sharedLibrary(_ name: String) -> String? {
        guard let open = name.firstIndex(of: "(") else { return nil }
        let file = String(name[..<open])
        guard file.contains(".so"), !file.contains("/"), file.first != "(" else { return nil }
        return file
    }

    static func libraryPaths(_ file: String, arch: Architecture) -> [String] {
        let triplets: [Architecture: String] = [.x86_64: "x86_64-linux-gnu", .aarch64: "aarch64-linux-gnu", .i686: "i386-linux-gnu",
                                                .armv7hl: "arm-linux-gnueabihf", .ppc64le: "powerpc64le-linux-gnu",
                                                .s390x: "s390x-linux-gnu", .riscv64: "riscv64-linux-gnu"]
        let resolved = arch == .noarch ? Architecture.native : arch
        var dirs: [String] = []
        if let triplet = triplets[resolved] { dirs += ["/lib/\(triplet)", "/usr/lib/\(triplet)"] }
        dirs += ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
        return dirs.map { "\($0)/\(file)" }
    }

    /// `/bin/sh` and `/usr/bin/sh` name one file on a /usr-merged system; dpkg knows one of them.
    static func usrMergeSpellings(_ path: String) -> [String] {
        for top in ["/bin/", "/sbin/", "/lib/", "/lib64/"] where path.hasPrefix(top) {
            return [path, "/usr" + path]
        }
        for top in ["/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/"] where path.hasPrefix(top) {
            return [path, String(path.dropFirst(4))]
        }
        return [path]
    }

    // MARK: - deb → rpm

    static func debToRPM(_ spec: inout PackageSpec, report: inout Report) {
        // `python3:any`, `libc6:amd64`: rpm has no architecture qualifiers on names.
        func unqualified(_ list: [Dependency]) -> [Dependency] {
            list.map { dep in
                Dependency(alternatives: dep.alternatives.map { clause in
                    guard let colon = clause.name.firstIndex(of: ":") else { return clause }
                    report.map("\(clause.name) → \(clause.name[..<colon])")
                    return Dependency.Clause(name: String(clause.name[..<colon]), versionOperator: clause.versionOperator, version: clause.version)
                })
            }
        }
        spec.depends = unqualified(spec.depends)
        spec.preDepends = unqualified(spec.preDepends)
        spec.recommends = unqualified(spec.recommends)
        spec.suggests = unqualified(spec.suggests)
        spec.conflicts = unqualified(spec.conflicts)
        spec.breaks = unqualified(spec.breaks)
        spec.replaces = unqualified(spec.replaces)
        if !spec.breaks.isEmpty {
            report.map("Breaks → Conflicts")
            for dep in spec.breaks where !spec.conflicts.contains(dep) { spec.conflicts.append(dep) }
            spec.breaks = []
        }
        for (hook, body) in spec.scripts where readsDpkgArguments(body) {
            spec.scripts[hook] = withArguments(body, lines: debArgumentsInRPM(hook))
        }
        var extras = spec.extras
        if !extras.debTriggers.isEmpty { report.drop("dpkg triggers (\(extras.debTriggers.joined(separator: "; ")))"); extras.debTriggers = [] }
        if extras.debConfig != nil { report.drop("debconf config script"); extras.debConfig = nil }
        if extras.debTemplates != nil { report.drop("debconf templates"); extras.debTemplates = nil }
        if extras.debShlibs != nil { report.drop("shlibs"); extras.debShlibs = nil }
        if extras.debAfterPurge != nil { report.drop("postrm purge script"); extras.debAfterPurge = nil }
        if extras.debCustomControl != nil { report.drop("custom control file"); extras.debCustomControl = nil }
        if !extras.debFields.isEmpty { report.drop("control fields \(extras.debFields.map(\.name).joined(separator: ", "))"); extras.debFields = [] }
        extras.debInstalledSizeKiB = nil
        extras.debForceErrorChecks = false
        spec.extras = extras
    }

    // MARK: - Script arguments

    /// rpm scriptlets read `$1` as a count of installed instances; dpkg passes words.
    static func rpmArgumentsInDeb(_ hook: ScriptHook) -> String? {
        switch hook {
        case .beforeInstall, .beforeUpgrade: return "case \"$1\" in upgrade) set -- 2 ;; *) set -- 1 ;; esac"
        case .afterInstall, .afterUpgrade: return "if [ -n \"$2\" ]; then set -- 2; else set -- 1; fi"
        case .beforeRemove, .afterRemove: return "set -- 0"
        case .beforeTransaction, .afterTransaction: return nil
        }
    }

    /// Debian maintainer scripts read dpkg's words; rpm passes a count.
    static func debArgumentsInRPM(_ hook: ScriptHook) -> String? {
        switch hook {
        case .beforeInstall, .beforeUpgrade: return "if [ \"${1:-1}\" -ge 2 ] 2>/dev/null; then set -- upgrade; else set -- install; fi"
        case .afterInstall, .afterUpgrade: return "set -- configure"
        case .beforeRemove, .afterRemove: return "set -- remove"
        case .beforeTransaction, .afterTransaction: return nil
        }
    }

    /// A script that tests `$1` as a number (`[ "$1" -eq 1 ]`, `[ $1 = 0 ]`, `case "$1" in 1)`) was
    /// written for rpm's arguments. Hooks pkglayer composed from fpm-style files, and scripts that only
    /// print or ignore `$1`, are left alone: they get the target format's own arguments, as hooks do.
    static func readsRPMArguments(_ body: String) -> Bool {
        matches(body, #"\$\{?1\}?"?\s+-(eq|ne|gt|ge|lt|le)\b"#)
            || matches(body, #"\$\{?1\}?"?\s+!?=\s+"?[0-9]"#)
            || (matches(body, #"case\s+"?\$\{?1\}?"?\s+in"#) && matches(body, #"(^|\s|\|)[0-9]+\)"#))
    }

    /// A script that compares `$1` with dpkg's words (`configure`, `upgrade`, `remove`, `purge`, …).
    static func readsDpkgArguments(_ body: String) -> Bool {
        (body.contains("$1") || body.contains("${1")) && matches(body, #"\b(configure|upgrade|remove|purge|install|abort-[a-z]+|failed-upgrade)\b"#)
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static let argumentsMarker = "# pkglayer conversion: the arguments this script was written for"

    /// Puts `lines` after the `#!` line of a shell script. Scripts in other languages, and ones
    /// already translated, are left as they are.
    static func withArguments(_ body: String, lines: String?) -> String {
        guard let lines, !body.contains(argumentsMarker) else { return body }
        var interpreter = "sh"
        if body.hasPrefix("#!"), let line = body.split(separator: "\n", maxSplits: 1).first {
            let command = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            if !command.isEmpty { interpreter = command }
        }
        let words = interpreter.split(separator: " ").map { $0.split(separator: "/").last.map(String.init) ?? "" }
        var program = words.first ?? ""
        if program == "env" { program = words.dropFirst().first { !$0.hasPrefix("-") && !$0.contains("=") } ?? program }
        guard ["sh", "bash", "dash", "ksh", "zsh", "ash"].contains(program) else { return body }
        let insert = "\(argumentsMarker)\n\(lines)\n"
        if body.hasPrefix("#!"), let newline = body.firstIndex(of: "\n") {
            return String(body[...newline]) + insert + body[body.index(after: newline)...]
        }
        return insert + body
    }
}

/// Which Debian package owns a path on this host (`dpkg-query -S`), remembered per path.
final class DpkgOwners {
    private var cache: [String: String?] = [:]
    private let available: Bool

    init() { available = Subprocess.which("dpkg-query", path: Subprocess.hostPath) != nil }

    func owner(ofAnyOf paths: [String]) -> String? {
        for path in paths { if let found = owner(of: path) { return found } }
        return nil
    }

    func owner(of path: String) -> String? {
        if let known = cache[path] { return known }
        var found: String?
        if available, let result = try? Subprocess.run("dpkg-query", ["-S", path], environment: Subprocess.cLocaleEnvironment),
           result.status.succeeded {
            for line in result.text.split(separator: "\n") where !line.hasPrefix("diversion by") {
                guard let sep = line.range(of: ": ") else { continue }
                let owned = line[sep.upperBound...].trimmingCharacters(in: .whitespaces)
                guard owned == path else { continue }
                // `pkg1, pkg2: path` (shared); `pkg:amd64: path` (multi-arch) → the package name.
                let first = line[..<sep.lowerBound].split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                found = first.split(separator: ":").first.map(String.init)
                break
            }
        }
        cache[path] = .some(found)
        return found
    }
}

/// rpm's boolean dependency syntax, as far as conversion needs it.
indirect enum RichExpression: Equatable {
    case clause(Dependency.Clause)
    case and([RichExpression])
    case or([RichExpression])
    case other

    static func parse(_ text: String) -> RichExpression? {
        var tokens: [String] = []
        var current = ""
        let chars = Array(text)
        var k = 0
        while k < chars.count {
            let ch = chars[k]
            if ch == "(" && !current.isEmpty {
                // Part of a capability name (`perl(Foo::Bar)`, `libc.so.6()(64bit)`): up to the matching `)`.
                var depth = 0
                while k < chars.count {
                    if chars[k] == "(" { depth += 1 } else if chars[k] == ")" { depth -= 1 }
                    current.append(chars[k])
                    k += 1
                    if depth == 0 { break }
                }
                continue
            }
            if ch == "(" || ch == ")" {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(ch))
            } else if ch.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(ch)
            }
            k += 1
        }
        if !current.isEmpty { tokens.append(current) }
        var index = 0
        guard let tree = parseGroup(tokens, &index, raw: text), index == tokens.count else { return nil }
        return tree
    }

    private static let operators: Set<String> = ["and", "or", "if", "else", "with", "without", "unless"]

    private static func parseGroup(_ t: [String], _ i: inout Int, raw: String) -> RichExpression? {
        guard i < t.count, t[i] == "(" else { return nil }
        i += 1
        var items: [RichExpression] = []
        var ops: Set<String> = []
        var words: [String] = []
        func flush() -> Bool {
            guard !words.isEmpty else { return true }
            defer { words = [] }
            if words.count == 1 { items.append(.clause(Dependency.Clause(name: words[0]))); return true }
            if words.count == 3, let op = VersionOperator(parsing: words[1]) {
                items.append(.clause(Dependency.Clause(name: words[0], versionOperator: op, version: words[2]))); return true
            }
            return false
        }
        while i < t.count {
            let token = t[i]
            if token == ")" {
                i += 1
                guard flush() else { return .other }
                if ops.count > 1 { return .other }
                if ops.isEmpty { return items.count == 1 ? items[0] : nil }
                switch ops.first! {
                case "and": return .and(items)
                case "or": return .or(items)
                default: return .other
                }
            }
            if token == "(" {
                guard let inner = parseGroup(t, &i, raw: raw) else { return nil }
                items.append(inner)
                continue
            }
            if operators.contains(token) {
                guard flush() else { return .other }
                ops.insert(token)
            } else {
                words.append(token)
            }
            i += 1
        }
        return nil
    }
}
