import Foundation
import PkgLayerBuild
import PkgLayerCore

/// A relation value as fpm users write it: several requirements in one string, read the way rpm reads
/// a `Requires:` line. `libjpeg libpng glibc >= 2.17, zlib` is four entries; each name may be followed
/// by an operator and a version (`>= 2.17`, `>=2.17`, Debian's `(>= 2.17)`, `<<`/`>>`); `a | b` keeps
/// alternatives together; rpm capability names keep their own parentheses (`perl(Foo::Bar)`,
/// `libc.so.6()(64bit)`); a rich dependency (`(a or b)`) is one entry, kept as written.
public enum DependencyList {
    public static func parse(_ text: String, field: String) throws -> [Dependency] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            throw PkgLayerError(.invalidInput, "empty dependency; write 'name' or 'name >= version'", at: field)
        }
        if trimmed.hasPrefix("(") { return [try Dependency(parsing: trimmed, field: field)] }
        let tokens = tokenize(trimmed)
        var entries: [Dependency] = []
        var clauses: [Dependency.Clause] = []
        var i = 0
        func finish() {
            if !clauses.isEmpty { entries.append(Dependency(alternatives: clauses)); clauses = [] }
        }
        func fail(_ why: String) -> PkgLayerError {
            PkgLayerError(.invalidInput, "cannot read dependency '\(text)': \(why); write 'name', 'name >= 1.0' or 'name (>= 1.0)', several separated by spaces or commas",
                          at: field)
        }
        var alternative = false
        while i < tokens.count {
            let token = tokens[i]
            if token == "," {
                if alternative { throw fail("'|' is followed by ','") }
                finish(); i += 1; continue
            }
            if token == "|" {
                guard !clauses.isEmpty, !alternative else { throw fail("'|' needs a name on each side") }
                alternative = true; i += 1; continue
            }
            if let op = VersionOperator(parsing: token) {
                guard var last = clauses.last, last.versionOperator == nil, !alternative else {
                    throw fail("'\(token)' must follow a package name")
                }
                guard i + 1 < tokens.count, isVersion(tokens[i + 1]) else { throw fail("'\(token)' must be followed by a version") }
                last.versionOperator = op
                last.version = tokens[i + 1]
                clauses[clauses.count - 1] = last
                i += 2; continue
            }
            if token.contains(where: { "<>=".contains($0) }) { throw fail("'\(token)' is not a name or an operator") }
            if !alternative { finish() }
            alternative = false
            clauses.append(Dependency.Clause(name: token))
            i += 1
        }
        if alternative { throw fail("'|' at the end") }
        finish()
        return entries
    }

    private static func isVersion(_ token: String) -> Bool {
        token != "," && token != "|" && VersionOperator(parsing: token) == nil && !token.contains(where: { "<>=".contains($0) })
    }

    /// Words, operators, `,` and `|`; a Debian `(op version)` group becomes `op version`.
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var depth = 0
        let chars = Array(text)
        var i = 0
        func flush() { if !current.isEmpty { tokens.append(current); current = "" } }
        while i < chars.count {
            let c = chars[i]
            if c == "(" {
                // A group that starts with an operator is a Debian version constraint.
                var j = i + 1
                while j < chars.count, chars[j] == " " { j += 1 }
                if depth == 0, j < chars.count, "<>=".contains(chars[j]) {
                    flush(); i = j; depth = -1; continue
                }
                depth += 1; current.append(c); i += 1; continue
            }
            if c == ")" {
                if depth == -1 { flush(); depth = 0; i += 1; continue }
                depth = max(depth - 1, 0); current.append(c); i += 1; continue
            }
            if depth > 0 { current.append(c); i += 1; continue }
            if c.isWhitespace { flush(); i += 1; continue }
            if c == "," || c == "|" { flush(); tokens.append(String(c)); i += 1; continue }
            if "<>=".contains(c) {
                flush()
                var op = ""
                while i < chars.count, "<>=".contains(chars[i]) { op.append(chars[i]); i += 1 }
                tokens.append(op); continue
            }
            current.append(c); i += 1
        }
        flush()
        return tokens
    }
}

extension PackageJob {
    /// fpm's `--*-ignore-iteration-in-dependencies`: `name = X` becomes `name >= X` and `name < X+1`
    /// (the last numeric part of X plus one), so any iteration of that version satisfies it.
    public static func ignoringIteration(_ deps: [Dependency]) -> [Dependency] {
        deps.flatMap { dep -> [Dependency] in
            guard dep.alternatives.count == 1, let clause = dep.alternatives.first, clause.versionOperator == .equal,
                  let version = clause.version else { return [dep] }
            var parts = version.split(separator: ".").map { Int($0.prefix(while: \.isNumber)) ?? 0 }
            parts[parts.count - 1] += 1
            let next = parts.map(String.init).joined(separator: ".")
            return [Dependency(name: clause.name, versionOperator: .greaterOrEqual, version: version),
                    Dependency(name: clause.name, versionOperator: .lessThan, version: next)]
        }
    }

    /// Drops the relations whose rpm spelling (`name >= 1.0`) matches one of the regular expressions.
    static func filtering(_ deps: [Dependency], _ patterns: [String], flag: String) throws -> [Dependency] {
        guard !patterns.isEmpty else { return deps }
        let regexes = try patterns.map { pattern -> NSRegularExpression in
            do { return try NSRegularExpression(pattern: pattern) } catch {
                throw PkgLayerError(.usage, "'\(pattern)' is not a regular expression", at: flag)
            }
        }
        return deps.filter { dep in
            let text = dep.description
            return !regexes.contains { $0.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil }
        }
    }

    /// The rpm-only dependency options: ignore-iteration, `--rpm-autoreq`/`--rpm-autoprov` (pkglayer's
    /// own shared-library scan of the ELF files), then the filters, which also see automatic entries.
    func adaptRPMDependencies(_ spec: inout PackageSpec, manifest: FileManifest) throws {
        let o = request.rpm
        if o.ignoreIterationInDependencies { spec.depends = Self.ignoringIteration(spec.depends) }
        let wantRequires = o.autoReq || o.autoReqProv, wantProvides = o.autoProv || o.autoReqProv
        if (wantRequires || wantProvides) && request.noAutoDepends {
            logger.warning("--no-auto-depends wins over --rpm-autoreq/--rpm-autoprov/--rpm-autoreqprov: no shared-library dependencies are added")
        } else if wantRequires || wantProvides {
            let scan = try SharedLibraryDependencies(knownProviders: [:]).scan(manifest: manifest)
            if wantRequires && !request.noDepends {
                for dep in scan.rpmRequiresDependencies where !spec.depends.contains(dep) { spec.depends.append(dep) }
            }
            if wantProvides {
                for dep in scan.rpmProvidesDependencies where !spec.provides.contains(dep) { spec.provides.append(dep) }
            }
        }
        spec.depends = try Self.filtering(spec.depends, o.filterFromRequires, flag: "--rpm-filter-from-requires")
        spec.provides = try Self.filtering(spec.provides, o.filterFromProvides, flag: "--rpm-filter-from-provides")
    }

    func adaptDebDependencies(_ spec: inout PackageSpec) {
        if request.deb.ignoreIterationInDependencies { spec.depends = Self.ignoringIteration(spec.depends) }
    }
}
