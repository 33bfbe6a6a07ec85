import Foundation
import PkgLayerCore
import Yams

/// Reads a recipe in two passes over Yams' node tree (which keeps every line and column):
///
/// 1. ``validate(_:as:path:)`` checks the whole tree against the field table and collects every
///    problem: unknown keys (with a suggestion), wrong types, missing required keys, bad values,
///    unknown `${{…}}` variables.
/// 2. Only if that found nothing, RecipeDecoder+Model.swift reads the typed ``Recipe`` out of the
///    tree, resolving files relative to the recipe and checking what needs more than one field.
///
/// All problems are reported at once, one per line, each as `file:line:column: message`.
struct RecipeDecoder {
    /// The recipe path as the user gave it, for messages.
    let file: String
    /// The recipe's directory, absolute; relative paths in the recipe start here.
    let directory: String
    /// The build context, absolute with symlinks resolved: every file the recipe names must be inside
    /// it (`RecipeDecoder+Context.swift`). The recipe's directory unless `--context` widens it.
    let context: String
    var diagnostics: [Diagnostic] = []
    /// `package.*` values, read before validation so fields that use `${{package.version}}` can be
    /// checked after expansion.
    var packageVariables: [String: String] = [:]

    struct Diagnostic: Equatable, CustomStringConvertible {
        var location: SourceLocation
        var message: String
        var description: String { "\(location): \(message)" }
    }

    init(file: String, directory: String, context: String? = nil) {
        self.file = file
        self.directory = directory
        self.context = BuildContext.resolve(context ?? directory)
    }

    // MARK: Positions

    func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    mutating func report(_ message: String, at node: Node) {
        diagnostics.append(Diagnostic(location: location(of: node), message: message))
    }

    mutating func report(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    /// The diagnostics as one error: the first one's location, every one on its own line.
    func error() -> PkgLayerError? {
        guard let first = diagnostics.first else { return nil }
        let limit = 25
        var lines = [first.message]
        lines += diagnostics.dropFirst().prefix(limit - 1).map(\.description)
        if diagnostics.count > limit { lines.append("… and \(diagnostics.count - limit) more problems") }
        return PkgLayerError(.invalidInput, lines.joined(separator: "\n"), at: first.location.description)
    }

    // MARK: Node helpers

    /// An explicit YAML null: `~`, `null`, or nothing after the colon.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func kindNoun(_ node: Node) -> String {
        if isNull(node) { return "nothing (null)" }
        switch node {
        case .scalar(let s): return "'\(s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    // MARK: Pass 1: validation

    /// Reads `package.name`, `version`, `release` and `epoch` as written, for expansion in checks.
    mutating func collectPackageVariables(root: Node) {
        let pkg = root.mapping?["package"]?.mapping
        func text(_ key: String, _ fallback: String) -> String {
            if let node = pkg?[key], case .scalar(let s) = node, !Self.isNull(node) { return s.string }
            return fallback
        }
        let name = text("name", "package"), version = text("version", "0"), release = text("release", "1")
        let epoch = text("epoch", "0")
        packageVariables = [
            RecipeVariable.packageName.rawValue: name,
            RecipeVariable.packageVersion.rawValue: version,
            RecipeVariable.packageRelease.rawValue: release,
            RecipeVariable.packageEpoch.rawValue: epoch,
            RecipeVariable.packageFullVersion.rawValue: Recipe.Package.fullVersion(epoch: UInt32(epoch), version: version, release: release),
        ]
    }

    /// Stand-in values for checking fields whose variables are known only later.
    var placeholderVariables: [String: String] {
        var v = packageVariables
        v[RecipeVariable.buildArch.rawValue] = Architecture.native.rpm
        v[RecipeVariable.buildDebArch.rawValue] = Architecture.native.deb
        v[RecipeVariable.buildJobs.rawValue] = "1"
        v[RecipeVariable.targetsDestdir.rawValue] = "/destdir"
        v[RecipeVariable.contextSrcdir.rawValue] = "/srcdir"
        return v
    }

    mutating func validate(_ node: Node, as type: FieldType, path rawPath: String) {
        if case .any = type { return }
        let path = rawPath.isEmpty ? "the recipe" : rawPath
        if Self.isNull(node) {
            report("\(path): expected \(type.noun), got nothing (null); give a value or remove the key", at: node)
            return
        }
        switch type {
        case .any:
            return
        case .scalar(let rule):
            guard case .scalar(let s) = node else { return wrongType(node, type, path) }
            if let problem = scalarProblem(s.string, rule: rule) { report("\(path): \(problem)", at: node) }
        case .boolean:
            guard case .scalar(let s) = node else { return wrongType(node, type, path) }
            if s.string != "true" && s.string != "false" {
                report("\(path): expected true or false, got '\(s.string)'", at: node)
            }
        case .integer(let min, let max):
            guard case .scalar(let s) = node else { return wrongType(node, type, path) }
            if let problem = Self.integerProblem(s.string, min: min, max: max) { report("\(path): \(problem)", at: node) }
        case .list(let element, let minItems):
            guard case .sequence(let seq) = node else { return wrongType(node, type, path) }
            if seq.count < minItems {
                report("\(path): needs at least \(minItems) entr\(minItems == 1 ? "y" : "ies")", at: node)
            }
            for (i, item) in seq.enumerated() { validate(item, as: element, path: "\(path)[\(i)]") }
        case .map(let keyRule, let valueRule):
            guard case .mapping(let map) = node else { return wrongType(node, type, path) }
            for (key, value) in map {
                guard case .scalar(let k) = key else { report("\(path): keys must be plain names", at: key); continue }
                if let problem = scalarProblem(k.string, rule: keyRule) { report("\(path): \(problem)", at: key) }
                validate(value, as: .scalar(valueRule), path: Self.join(path, k.string))
            }
        case .object(let object):
            guard case .mapping(let map) = node else { return wrongType(node, type, path) }
            validateObject(map, node: node, object, path: rawPath)
        case .either(let alternatives):
            validateEither(node, alternatives, type, path)
        }
    }

    private mutating func wrongType(_ node: Node, _ type: FieldType, _ path: String) {
        var message = "\(path): expected \(type.noun), got \(Self.kindNoun(node))"
        if case .list(.scalar, _) = type, case .scalar(let s) = node {
            message += "; write a list: [\(s.string)] or one '- item' per line"
        }
        report(message, at: node)
    }

    private mutating func validateEither(_ node: Node, _ alternatives: [FieldType], _ type: FieldType, _ path: String) {
        func accepts(_ alt: FieldType) -> Bool {
            switch (alt, node) {
            case (.scalar, .scalar), (.boolean, .scalar), (.integer, .scalar): return true
            case (.list, .sequence), (.map, .mapping), (.object, .mapping): return true
            case (.any, _): return true
            default: return false
            }
        }
        let candidates = alternatives.filter(accepts)
        if candidates.isEmpty { return wrongType(node, type, path) }
        if candidates.count == 1 { return validate(node, as: candidates[0], path: path) }
        // Several scalar shapes (jobs: auto or a number): the first that accepts the text wins.
        for candidate in candidates {
            var trial = self
            trial.diagnostics = []
            trial.validate(node, as: candidate, path: path)
            if trial.diagnostics.isEmpty { return }
        }
        report("\(path): expected \(type.noun), got \(Self.kindNoun(node))", at: node)
    }

    private mutating func validateObject(_ map: Node.Mapping, node: Node, _ object: ObjectType, path: String) {
        var present: [String] = []
        for (key, value) in map {
            guard case .scalar(let k) = key else { report("\(path.isEmpty ? "the recipe" : path): keys must be plain names", at: key); continue }
            guard let field = object[k.string] else {
                report(unknownKeyMessage(k.string, in: object, path: path), at: key)
                continue
            }
            present.append(k.string)
            validate(value, as: field.type, path: Self.join(path, k.string))
        }
        for field in object.fields where field.required && !present.contains(field.key) {
            report("\(Self.join(path, field.key)) is required: \(Self.firstSentence(field.doc).lowercasedFirst)", at: node)
        }
        for constraint in object.constraints {
            switch constraint {
            case .exactlyOne(let keys):
                let given = keys.filter(present.contains)
                if given.count != 1 {
                    let what = path.isEmpty ? "the recipe" : path
                    report(given.isEmpty
                           ? "\(what) needs one of \(keys.map { "'\($0)'" }.joined(separator: " or ")): \(constraintHint(keys, object))"
                           : "\(what) has both \(given.map { "'\($0)'" }.joined(separator: " and ")); keep only one", at: node)
                }
            case .requires(let key, let others):
                if present.contains(key) {
                    for other in others where !present.contains(other) {
                        report("\(Self.join(path, other)) is required with '\(key)': \(Self.firstSentence(object[other]?.doc ?? "").lowercasedFirst)", at: node)
                    }
                }
            case .atLeastOne(let keys):
                if !keys.contains(where: present.contains) {
                    report("\(path) needs at least one of \(keys.map { "'\($0)'" }.joined(separator: ", "))", at: node)
                }
            }
        }
    }

    private func constraintHint(_ keys: [String], _ object: ObjectType) -> String {
        keys.compactMap { k in object[k].map { "'\(k)' (\(Self.firstSentence($0.doc).lowercasedFirst))" } }.joined(separator: " or ")
    }

    private func unknownKeyMessage(_ key: String, in object: ObjectType, path: String) -> String {
        let whereText = path.isEmpty ? "at the top level" : "in \(path)"
        var message = "unknown key '\(key)' \(whereText)"
        if key == "<<" { return message + ": YAML merge keys are not supported in recipes; write the keys out" }
        if let guess = Suggestion.closest(to: key, among: object.keys) {
            return message + "; did you mean '\(guess)'?"
        }
        if let home = RecipeSchema.objects.first(where: { $0 !== object && $0[key] != nil }) {
            message += "; '\(key)' belongs in \(home.title)"
        }
        return message + "; allowed keys here: \(object.keys.joined(separator: ", "))"
    }

    /// What is wrong with a scalar's text under a rule, or nil.
    func scalarProblem(_ raw: String, rule: ScalarRule) -> String? {
        var text = raw
        if let scope = rule.scope {
            if let problem = Interpolation.check(raw, scope: scope) { return problem }
            var known = placeholderVariables
            known = known.filter { RecipeVariable(rawValue: $0.key).map { $0.scope <= scope } ?? false }
            text = (try? Interpolation.expand(raw, variables: known, at: nil)) ?? raw
        } else if !rule.verbatim, raw.contains("${{") {
            return "${{…}} is not expanded in this field; variables can be used in \(VariableScope.package.usableIn)"
        }
        if let allowed = rule.allowed, !allowed.contains(text) {
            var message = "'\(text)' is not \(rule.noun)"
            if let guess = Suggestion.closest(to: text, among: allowed) { message += "; did you mean '\(guess)'?" }
            return message + "; " + (rule.hint ?? "use one of: \(allowed.joined(separator: ", "))")
        }
        if let pattern = rule.pattern, !Self.matches(text, pattern) {
            return "'\(text)' is not \(rule.noun)" + (rule.hint.map { "; \($0)" } ?? "")
        }
        if let check = rule.check, let problem = check(text) {
            return problem + (rule.hint.map { "; \($0)" } ?? "")
        }
        return nil
    }

    static func integerProblem(_ text: String, min: Int64, max: Int64) -> String? {
        guard let value = Int64(text) else { return "expected an integer, got '\(text)'" }
        if value < min { return "\(value) is too small; use at least \(min)" }
        if value > max { return "\(value) is too large; use at most \(max)" }
        return nil
    }

    // nonisolated(unsafe): only read and written under `regexLock` (see `regex(_:)`).
    nonisolated(unsafe) private static var regexCache: [String: NSRegularExpression] = [:]
    private static let regexLock = NSLock()

    static func matches(_ text: String, _ pattern: String) -> Bool {
        regexLock.lock()
        defer { regexLock.unlock() }
        let regex: NSRegularExpression
        if let cached = regexCache[pattern] {
            regex = cached
        } else {
            regex = try! NSRegularExpression(pattern: pattern)
            regexCache[pattern] = regex
        }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func firstSentence(_ doc: String) -> String {
        let flat = doc.replacingOccurrences(of: "\n", with: " ")
        if let end = flat.range(of: ". ") { return String(flat[..<end.lowerBound]) }
        return flat.hasSuffix(".") ? String(flat.dropLast()) : flat
    }
}

extension String {
    var lowercasedFirst: String { isEmpty ? self : prefix(1).lowercased() + dropFirst() }
}
