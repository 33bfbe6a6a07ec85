import Foundation

// The vocabulary of the recipe's field table (RecipeSchema+Fields.swift). The one table drives strict
// decoding (allowed keys, types, required fields, defaults, value checks), the JSON schema and the
// reference documentation, so the three cannot drift apart.

/// How a scalar value is checked. Every scalar in a recipe is read as the text written (`1.10` stays
/// `"1.10"`); the rule then says which texts are valid.
struct ScalarRule: Sendable {
    /// What a valid value is, as a noun phrase for messages and docs ("a sha256 digest").
    var noun = "a string"
    /// An anchored regular expression the (expanded) text must match. Written in the subset that
    /// NSRegularExpression and ECMA-262 (JSON schema) read alike.
    var pattern: String?
    /// The only texts allowed.
    var allowed: [String]?
    /// How to write a valid value; ends every message about a bad value.
    var hint: String?
    /// JSON types a YAML-to-JSON converter may produce for a valid value. `version: 1.10` reaches an
    /// editor's schema check as a number, `mode: 0755` as an integer.
    var jsonTypes: [String] = ["string"]
    /// `${{…}}` is expanded in this field, with the variables of this scope. nil: not expanded.
    var scope: VariableScope?
    /// `${{…}}` is kept as written without complaint (scripts are shell text, passed on verbatim).
    var verbatim = false
    /// A semantic check of the expanded text; returns what is wrong, or nil.
    var check: (@Sendable (String) -> String?)?
}

/// The type of a field.
indirect enum FieldType: Sendable {
    case scalar(ScalarRule)
    /// `true` or `false`.
    case boolean
    case integer(min: Int64, max: Int64)
    case list(FieldType, minItems: Int)
    /// A mapping with free keys (the build environment).
    case map(key: ScalarRule, value: ScalarRule)
    case object(ObjectType)
    /// One of several shapes, told apart by the YAML node kind (or, for scalars, by which one accepts the text).
    case either([FieldType])
    /// Anything, kept as written (the reserved `image` section).
    case any

    static func list(_ element: FieldType) -> FieldType { .list(element, minItems: 0) }
    static let string = FieldType.scalar(ScalarRule())

    /// For messages: "a list of strings".
    var noun: String {
        switch self {
        case .scalar(let r): return r.noun
        case .boolean: return "true or false"
        case .integer(let min, let max):
            if max == Int64.max { return min == 0 ? "a non-negative integer" : "an integer of at least \(min)" }
            return "an integer from \(min) to \(max)"
        case .list(let element, _):
            switch element {
            case .scalar: return "a list of strings"
            case .object: return "a list of mappings"
            default: return "a list"
            }
        case .map: return "a mapping of names to strings"
        case .object(let o): return o.fields.count == 1 ? "a mapping with '\(o.fields[0].key)'" : "a mapping"
        case .either(let alts): return alts.map(\.noun).joined(separator: " or ")
        case .any: return "anything"
        }
    }

    /// For the docs' type column.
    var docType: String {
        switch self {
        case .scalar(let r):
            if let allowed = r.allowed { return "one of " + allowed.map { "`\($0)`" }.joined(separator: ", ") }
            return Self.bare(r.noun)
        case .boolean: return "boolean"
        case .integer: return "integer"
        case .list(let element, _):
            if case .object(let o) = element { return "list of [\(o.title)](#\(o.anchor))" }
            if case .scalar(let r) = element, r.allowed == nil { return "list of \(Self.plural(Self.bare(r.noun)))" }
            return "list of \(element.docType)"
        case .map: return "map of string → string"
        case .object(let o): return "[\(o.title)](#\(o.anchor))"
        case .either(let alts): return alts.map(\.docType).joined(separator: " or ")
        case .any: return "any"
        }
    }

    /// "a sha256 digest" → "sha256 digest".
    static func bare(_ noun: String) -> String {
        for article in ["a ", "an "] where noun.hasPrefix(article) { return String(noun.dropFirst(article.count)) }
        return noun
    }

    static func plural(_ noun: String) -> String {
        if noun.hasSuffix("y") { return noun.dropLast() + "ies" }
        return noun + "s"
    }
}

/// One key of a mapping.
struct Field: Sendable {
    var key: String
    var type: FieldType
    /// The documentation: what it means, how it is used, an example. Markdown.
    var doc: String
    var required = false
    /// The value used when the key is absent, as YAML text. The decoder reads defaults from here.
    var defaultValue: String?

    init(_ key: String, _ type: FieldType, required: Bool = false, default defaultValue: String? = nil, _ doc: String) {
        self.key = key; self.type = type; self.required = required; self.defaultValue = defaultValue; self.doc = doc
    }
}

/// A rule across the keys of one mapping.
enum Constraint: Sendable {
    /// Exactly one of these keys must be present.
    case exactlyOne([String])
    /// When the first key is present, the others must be too.
    case requires(String, [String])
    /// At least one of these keys must be present.
    case atLeastOne([String])

    var doc: String {
        func list(_ keys: [String]) -> String { keys.map { "`\($0)`" }.joined(separator: ", ") }
        switch self {
        case .exactlyOne(let keys): return "Exactly one of \(list(keys)) is required."
        case .requires(let key, let others): return "With `\(key)`, \(list(others)) \(others.count == 1 ? "is" : "are") required."
        case .atLeastOne(let keys): return "At least one of \(list(keys)) is required."
        }
    }
}

/// A mapping with a fixed set of keys. A class so that shared definitions (dependencies, scripts)
/// appear once in the schema's `$defs` and the docs.
final class ObjectType: Sendable {
    /// The `$defs` name.
    let name: String
    /// The heading in the docs ("package", "sources[]").
    let title: String
    let doc: String
    let fields: [Field]
    let constraints: [Constraint]

    init(_ name: String, title: String? = nil, doc: String, constraints: [Constraint] = [], fields: [Field]) {
        self.name = name; self.title = title ?? name; self.doc = doc; self.fields = fields; self.constraints = constraints
        precondition(Set(fields.map(\.key)).count == fields.count, "duplicate key in \(name)")
    }

    subscript(key: String) -> Field? { fields.first { $0.key == key } }

    var keys: [String] { fields.map(\.key) }

    /// The heading's anchor as GitHub makes it: lowercase, spaces to `-`, punctuation dropped.
    var anchor: String {
        String(title.lowercased().map { $0 == " " ? "-" : $0 }.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }
}

// MARK: - Reusable rules

extension ScalarRule {
    static func text(scope: VariableScope? = .package) -> ScalarRule { ScalarRule(noun: "a string", scope: scope) }

    static func matching(_ noun: String, _ pattern: String, hint: String, json: [String] = ["string"],
                         scope: VariableScope? = nil, check: (@Sendable (String) -> String?)? = nil) -> ScalarRule {
        ScalarRule(noun: noun, pattern: pattern, hint: hint, jsonTypes: json, scope: scope, check: check)
    }

    static func oneOf(_ values: [String], noun: String? = nil, hint: String? = nil) -> ScalarRule {
        ScalarRule(noun: noun ?? values.map { "'\($0)'" }.joined(separator: ", "), allowed: values,
                   hint: hint ?? "use one of: \(values.joined(separator: ", "))")
    }
}

extension FieldType {
    static func scalar(_ noun: String, _ pattern: String, hint: String, json: [String] = ["string"],
                       scope: VariableScope? = nil, check: (@Sendable (String) -> String?)? = nil) -> FieldType {
        .scalar(.matching(noun, pattern, hint: hint, json: json, scope: scope, check: check))
    }
    static func text(scope: VariableScope? = .package) -> FieldType { .scalar(.text(scope: scope)) }
    static let nonNegative = FieldType.integer(min: 0, max: Int64.max)
}
