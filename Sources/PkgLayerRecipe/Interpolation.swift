import Foundation
import PkgLayerCore

/// The variables a recipe may use as `${{name}}`.
///
/// Shell syntax (`$HOME`, `${HOME}`, `$(cmd)`) is never touched: only the doubled brace is pkglayer's.
/// Each variable has a scope, the earliest stage at which its value is known; a field accepts the
/// variables whose scope is at or before its own (see ``VariableScope``).
public enum RecipeVariable: String, CaseIterable, Sendable {
    case packageName = "package.name"
    case packageVersion = "package.version"
    case packageRelease = "package.release"
    case packageEpoch = "package.epoch"
    case packageFullVersion = "package.full-version"
    case buildArch = "build.arch"
    case buildDebArch = "build.deb-arch"
    case buildJobs = "build.jobs"
    case targetsDestdir = "targets.destdir"
    case contextSrcdir = "context.srcdir"

    public var scope: VariableScope {
        switch self {
        case .packageName, .packageVersion, .packageRelease, .packageEpoch, .packageFullVersion: return .package
        case .buildArch, .buildDebArch: return .target
        case .buildJobs, .targetsDestdir, .contextSrcdir: return .build
        }
    }

    /// One line for the documentation.
    public var summary: String {
        switch self {
        case .packageName: return "The main package's name."
        case .packageVersion: return "The upstream version (`package.version`)."
        case .packageRelease: return "The release (`package.release`, default `1`)."
        case .packageEpoch: return "The epoch, `0` when none is set."
        case .packageFullVersion: return "`[epoch:]version-release`, e.g. `1.22.1-1` or `2:1.0-3`; the epoch appears only when it is above 0. Use it to pin a subpackage to its main package."
        case .buildArch: return "The target architecture in rpm's spelling (`x86_64`, `aarch64`)."
        case .buildDebArch: return "The target architecture in Debian's spelling (`amd64`, `arm64`)."
        case .buildJobs: return "How many parallel jobs the build may run (`build.jobs`; `auto` is the number of CPUs)."
        case .targetsDestdir: return "The directory to install into (`make install DESTDIR=${{targets.destdir}}`); everything under it is packaged."
        case .contextSrcdir: return "The source tree, where the sources were extracted and the patches applied; steps start in it."
        }
    }
}

/// When a variable's value becomes known, and so which fields may use it.
public enum VariableScope: Int, Comparable, Sendable, CaseIterable {
    /// Known as soon as the recipe is read: `package.*`. Usable everywhere interpolation is, including
    /// source URLs and subpackage names.
    case package
    /// Known once the target architecture is chosen: adds `build.arch` and `build.deb-arch`. Usable in
    /// dependencies.
    case target
    /// Known only when the build runs: adds `build.jobs`, `targets.destdir` and `context.srcdir`. Usable
    /// in build steps and the build environment.
    case build

    public static func < (a: VariableScope, b: VariableScope) -> Bool { a.rawValue < b.rawValue }

    /// The variables usable at this scope.
    public var variables: [RecipeVariable] { RecipeVariable.allCases.filter { $0.scope <= self } }

    /// Where variables of this scope can be used.
    public var usableIn: String {
        switch self {
        case .package: return "summaries, descriptions, sources, subpackage names, dependencies, build steps and the build environment"
        case .target: return "dependencies, build steps and the build environment"
        case .build: return "build steps and the build environment"
        }
    }
}

/// `${{…}}` references in text.
enum Interpolation {
    struct Reference {
        var name: String
        /// The whole `${{ name }}`.
        var range: Range<String.Index>
    }

    /// Finds every reference, or says what is malformed.
    static func references(in text: String) -> (references: [Reference], problem: String?) {
        var refs: [Reference] = []
        var searchFrom = text.startIndex
        while let open = text.range(of: "${{", range: searchFrom..<text.endIndex) {
            guard let close = text.range(of: "}}", range: open.upperBound..<text.endIndex) else {
                return (refs, "'${{' is not closed; write ${{name}}, e.g. ${{package.version}} (a shell variable is written $NAME or ${NAME})")
            }
            let name = text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            let valid = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            guard valid else {
                return (refs, "'${{\(text[open.upperBound..<close.lowerBound])}}' is not a variable name; write ${{name}}, e.g. ${{package.version}}")
            }
            refs.append(Reference(name: name, range: open.lowerBound..<close.upperBound))
            searchFrom = close.upperBound
        }
        return (refs, nil)
    }

    /// Replaces every reference with its value. The message of an unknown name lists the known ones
    /// and, when the name is a recipe variable that is not known at this stage, says where it can be used.
    static func expand(_ text: String, variables: [String: String], at location: SourceLocation?) throws -> String {
        let (refs, problem) = references(in: text)
        if let problem { throw PkgLayerError(.invalidInput, problem, at: location?.description) }
        guard !refs.isEmpty else { return text }
        var out = ""
        var cursor = text.startIndex
        for ref in refs {
            out += text[cursor..<ref.range.lowerBound]
            guard let value = variables[ref.name] else {
                throw PkgLayerError(.invalidInput, unknownMessage(ref.name, known: Array(variables.keys)), at: location?.description)
            }
            out += value
            cursor = ref.range.upperBound
        }
        out += text[cursor...]
        return out
    }

    /// Checks names against a scope without values; returns the first problem.
    static func check(_ text: String, scope: VariableScope) -> String? {
        let (refs, problem) = references(in: text)
        if let problem { return problem }
        let known = scope.variables.map(\.rawValue)
        for ref in refs where !known.contains(ref.name) {
            return unknownMessage(ref.name, known: known)
        }
        return nil
    }

    static func unknownMessage(_ name: String, known: [String]) -> String {
        let sorted = known.sorted()
        if let variable = RecipeVariable(rawValue: name) {
            return "${{\(name)}} is not known here: it can be used in \(variable.scope.usableIn); known here: \(sorted.joined(separator: ", "))"
        }
        var message = "unknown variable ${{\(name)}}"
        if let guess = Suggestion.closest(to: name, among: sorted) { message += "; did you mean ${{\(guess)}}?" }
        return message + " Known variables: \(sorted.joined(separator: ", "))"
    }
}

extension Recipe {
    /// Expands `${{name}}` references in `text` with `variables` (see ``variables(architecture:destdir:srcdir:jobs:)``).
    ///
    /// `$VAR` and `${VAR}` are left alone for the shell. An unknown name is an `.invalidInput` error at
    /// `location` that lists the known variables.
    public static func interpolate(_ text: String, variables: [String: String], at location: SourceLocation? = nil) throws -> String {
        try Interpolation.expand(text, variables: variables, at: location)
    }

    /// The `package.*` variables, known as soon as the recipe is read.
    public var packageVariables: [String: String] {
        [
            RecipeVariable.packageName.rawValue: package.name,
            RecipeVariable.packageVersion.rawValue: package.version,
            RecipeVariable.packageRelease.rawValue: package.release,
            RecipeVariable.packageEpoch.rawValue: String(package.epoch ?? 0),
            RecipeVariable.packageFullVersion.rawValue: package.fullVersion,
        ]
    }

    /// The variables known once the target architecture is chosen (`package.*`, `build.arch`, `build.deb-arch`).
    public func targetVariables(architecture: Architecture) -> [String: String] {
        var v = packageVariables
        v[RecipeVariable.buildArch.rawValue] = architecture.rpm
        v[RecipeVariable.buildDebArch.rawValue] = architecture.deb
        return v
    }

    /// Every variable, for the build room to expand steps and the environment with.
    ///
    /// - Parameters:
    ///   - architecture: the target architecture (the machine pkglayer runs on, for native builds).
    ///   - destdir: the install directory as the build sees it (inside the sandbox).
    ///   - srcdir: the source tree as the build sees it.
    ///   - jobs: the parallelism actually used (resolve `build.jobs: auto` with ``Build/resolvedJobs(cpuCount:)``).
    public func variables(architecture: Architecture, destdir: String, srcdir: String, jobs: Int) -> [String: String] {
        var v = targetVariables(architecture: architecture)
        v[RecipeVariable.buildJobs.rawValue] = String(jobs)
        v[RecipeVariable.targetsDestdir.rawValue] = destdir
        v[RecipeVariable.contextSrcdir.rawValue] = srcdir
        return v
    }
}
