import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM
/// Resolves root requirements into a closure of packages, for apt and yum alike.
///
/// It is a deterministic greedy walk, not a SAT solver; the same inputs always give the same closure:
/// - requirements are taken in order (roots first, then each chosen package's Pre-Depends and Depends, breadth
///   first); a requirement already met by a chosen package (by name, Provides or listed file) adds nothing;
/// - otherwise the alternatives are tried in order and the first satisfiable one wins;
/// - for a real package name the highest satisfying version is chosen (ties: the earlier repository);
/// - a virtual name with several providing packages is an error for a root (apt refuses that too: name one);
///   for a dependency the provider whose name sorts first is taken;
/// - local packages are in the closure from the start, as they are, and their own requirements are resolved.
/// Conflicts and Breaks are checked on the finished closure; a conflict is an error, not a search.
/// Errors name the requirement and the chain that needed it (`nginx -> libssl3 (>= 3.0.0)`).
public struct DependencyResolver {
    public var index: PackageIndex
    public var scheme: VersionScheme
    /// The architectures a chosen package may have (the host's, plus `all` / `noarch`).
    public var architectures: Set<String>
    /// What the index holds, for errors (`http://deb.debian.org/debian bookworm main`).
    public var sources: String
    /// Requirements that need no package (rpm's `rpmlib(...)` features).
    public var ignores: @Sendable (String) -> Bool

    public init(index: PackageIndex, scheme: VersionScheme, architectures: Set<String>, sources: String,
                ignores: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.index = index; self.scheme = scheme; self.architectures = architectures
        self.sources = sources; self.ignores = ignores
    }

    private struct Pending {
        var requirement: Dependency
        var chain: [String]
        var isRoot: Bool
    }

    /// The closure of `roots` and `local`, sorted by name (local packages included).
    public func resolve(roots: [Dependency], local: [AvailablePackage] = []) throws -> [AvailablePackage] {
        var chosen: [String: AvailablePackage] = [:]
        var why: [String: [String]] = [:]
        var queue: [Pending] = []
        for package in local {
            if let other = chosen[package.name] {
                throw PkgLayerError(.invalidInput, "two local packages are named \(package.name): \(other.location) and \(package.location); keep one",
                                    at: package.location)
            }
            chosen[package.name] = package
            why[package.name] = [package.name]
        }
        for root in roots { queue.append(Pending(requirement: Self.normalized(root), chain: [], isRoot: true)) }
        for package in local { queue += requirements(of: package, chain: [package.name]) }

        var head = 0
        while head < queue.count {
            let pending = queue[head]
            head += 1
            let clauses = pending.requirement.alternatives.filter { !ignores($0.name) }
            if clauses.isEmpty { continue }
            if clauses.contains(where: { clause in chosen.values.contains { satisfies($0, clause) } }) { continue }
            var reasons: [String] = []
            var picked: AvailablePackage?
            for clause in clauses {
                switch candidate(for: clause, chosen: chosen, isRoot: pending.isRoot) {
                case .found(let package): picked = package
                case .failed(let reason): reasons.append(reason)
                }
                if picked != nil { break }
            }
            guard let package = picked else {
                throw unsatisfiable(pending, clauses: clauses, reasons: reasons)
            }
            let chain = pending.chain + [package.name]
            chosen[package.name] = package
            why[package.name] = chain
            queue += requirements(of: package, chain: chain)
        }
        let closure = chosen.values.sorted { $0.name < $1.name }
        try checkConflicts(closure, why: why)
        return closure
    }

    private func requirements(of package: AvailablePackage, chain: [String]) -> [Pending] {
        (package.preDepends + package.depends).map { Pending(requirement: Self.normalized($0), chain: chain, isRoot: false) }
    }

    /// Drops Debian's `:any` / `:native` (and an explicit architecture) qualifiers from names.
    static func normalized(_ dependency: Dependency) -> Dependency {
        Dependency(alternatives: dependency.alternatives.map { clause in
            var clause = clause
            if let colon = clause.name.lastIndex(of: ":"), !clause.name.hasPrefix("/"), !clause.name.contains("(") {
                clause.name = String(clause.name[..<colon])
            }
            return clause
        })
    }

    /// Whether `package` meets `clause` by its name, a Provides or a listed file.
    public func satisfies(_ package: AvailablePackage, _ clause: Dependency.Clause) -> Bool {
        if package.name == clause.name {
            guard let op = clause.versionOperator, let version = clause.version else { return true }
            if scheme.satisfies(package.version, op, version) { return true }
        }
        for provide in package.provides where provide.name == clause.name {
            guard let op = clause.versionOperator, let version = clause.version else { return true }
            if let provided = provide.version {
                if scheme.satisfies(provided, op, version) { return true }
            } else if scheme.unversionedProvideSatisfiesVersioned {
                return true
            }
        }
        if clause.version == nil, clause.name.hasPrefix("/"), package.files.contains(clause.name) { return true }
        return false
    }

    private enum Candidate {
        case found(AvailablePackage)
        case failed(String)
    }

    private func candidate(for clause: Dependency.Clause, chosen: [String: AvailablePackage], isRoot: Bool) -> Candidate {
        if let existing = chosen[clause.name] {
            return .failed("\(existing.label) is already in the set and does not satisfy \(Self.describe(clause))")
        }
        let named = index.named(clause.name).filter { architectures.contains($0.architecture) && satisfies($0, clause) }
        if let best = highest(named) { return .found(best) }
        let providers = index.providers(of: clause.name).filter {
            architectures.contains($0.architecture) && chosen[$0.name] == nil && satisfies($0, clause)
        }
        let names = Set(providers.map(\.name)).sorted()
        guard let first = names.first else { return .failed(availability(of: clause)) }
        if names.count > 1 && isRoot {
            return .failed("\(clause.name) is a virtual package provided by \(Self.bounded(names)); name the one you want")
        }
        return .found(highest(providers.filter { $0.name == first })!)
    }

    /// The highest version; on a tie the earlier package in the index.
    private func highest(_ packages: [AvailablePackage]) -> AvailablePackage? {
        var best: AvailablePackage?
        for package in packages where best == nil || scheme.compare(package.version, best!.version) > 0 {
            best = package
        }
        return best
    }

    private func availability(of clause: Dependency.Clause) -> String {
        var seen: [String] = []
        for package in index.named(clause.name) {
            let arch = architectures.contains(package.architecture) ? "" : " (\(package.architecture), not installable here)"
            seen.append(package.version + arch)
        }
        for package in index.providers(of: clause.name) {
            let version = package.provides.first { $0.name == clause.name }?.version
            seen.append("\(package.name) \(package.version) provides \(clause.name)\(version.map { " = \($0)" } ?? "")")
        }
        let list = seen.isEmpty ? "none" : Self.bounded(Array(Set(seen)).sorted())
        return "no package in \(sources) provides \(Self.describe(clause)); available: \(list)"
    }

    private func unsatisfiable(_ pending: Pending, clauses: [Dependency.Clause], reasons: [String]) -> PkgLayerError {
        let wanted = Self.bounded(clauses.map(Self.describe), separator: " | ")
        let chain = (pending.chain + [wanted]).joined(separator: " -> ")
        let fix = pending.isRoot ? "check the package name and version" : "add a repository that has it, or a local package that provides it"
        return PkgLayerError(.invalidInput, "\(chain): \(Self.bounded(reasons, separator: "; ")); \(fix)",
                             at: pending.isRoot ? "packages" : pending.chain.last)
    }

    /// How many items of a list an error message shows; a hostile index can give a relation thousands
    /// of alternatives or a name thousands of providers.
    static let listedItems = 10

    /// The first `listedItems` of `items` joined, and "… and N more" for the rest.
    static func bounded(_ items: [String], separator: String = ", ") -> String {
        guard items.count > listedItems else { return items.joined(separator: separator) }
        return items.prefix(listedItems).joined(separator: separator) + "\(separator)… and \(items.count - listedItems) more"
    }

    private func checkConflicts(_ closure: [AvailablePackage], why: [String: [String]]) throws {
        for package in closure {
            for relation in package.conflicts {
                for clause in Self.normalized(relation).alternatives {
                    for other in closure where other.name != package.name && satisfies(other, clause) {
                        let a = (why[package.name] ?? [package.name]).joined(separator: " -> ")
                        let b = (why[other.name] ?? [other.name]).joined(separator: " -> ")
                        throw PkgLayerError(.invalidInput, """
                            \(package.label) conflicts with \(Self.describe(clause)), and \(other.label) is needed too \
                            (\(a); \(b)); pkglayer does not search for another combination: pin versions or drop one of the roots
                            """, at: package.name)
                    }
                }
            }
        }
    }

    /// `libssl3 (>= 3.0.0)`.
    public static func describe(_ clause: Dependency.Clause) -> String {
        guard let op = clause.versionOperator, let version = clause.version else { return clause.name }
        return "\(clause.name) (\(op.deb) \(version))"
    }
}
