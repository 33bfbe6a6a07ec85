import PkgLayerCore

extension RecipeSchema {
    /// A JSON Schema (draft 2020-12) for a recipe, generated from the field table that strict decoding
    /// uses. Every mapping has `additionalProperties: false`; only the reserved `image` section is open.
    /// Print it with `pkglayer schema`; point an editor's YAML language server at it.
    ///
    /// Scalars a YAML-to-JSON conversion may turn into numbers (`version: 1.10`, `mode: 0755`) accept
    /// numbers too; pkglayer itself always reads them as the text written.
    public static var json: String { jsonValue.pretty }

    static var jsonValue: JSONValue {
        guard case .object(var root) = objectSchema(recipe) else { fatalError("object schema is an object") }
        root["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        root["title"] = .string("pkglayer recipe")
        root["description"] = .string("A pkglayer recipe: how to build a package from pinned sources. See docs/recipe.md.")
        var defs: [String: JSONValue] = [:]
        for object in objects where object !== recipe { defs[object.name] = objectSchema(object) }
        root["$defs"] = .object(defs)
        return .object(root)
    }

    static func objectSchema(_ o: ObjectType) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for field in o.fields { properties[field.key] = fieldSchema(field) }
        var schema: [String: JSONValue] = [
            "type": .string("object"),
            "description": .string(o.doc),
            "properties": .object(properties),
            "additionalProperties": .bool(false),
        ]
        let required = o.fields.filter(\.required).map(\.key)
        if !required.isEmpty { schema["required"] = .strings(required) }
        var all: [JSONValue] = []
        for constraint in o.constraints {
            switch constraint {
            case .exactlyOne(let keys):
                all.append(.object(["oneOf": .array(keys.map { .object(["required": .strings([$0])]) })]))
            case .atLeastOne(let keys):
                all.append(.object(["anyOf": .array(keys.map { .object(["required": .strings([$0])]) })]))
            case .requires(let key, let others):
                all.append(.object(["dependentRequired": .object([key: .strings(others)])]))
            }
        }
        if !all.isEmpty { schema["allOf"] = .array(all) }
        return .object(schema)
    }

    static func fieldSchema(_ field: Field) -> JSONValue {
        guard case .object(var schema) = typeSchema(field.type) else { fatalError("type schema is an object") }
        schema["description"] = .string(field.doc)
        if let d = field.defaultValue {
            switch field.type {
            case .boolean: schema["default"] = .bool(d == "true")
            case .integer: schema["default"] = .int(Int64(d)!)
            default: schema["default"] = Int64(d).map(JSONValue.int) ?? .string(d)
            }
        }
        return .object(schema)
    }

    static func typeSchema(_ type: FieldType) -> JSONValue {
        switch type {
        case .scalar(let rule):
            return .object(scalarSchema(rule))
        case .boolean:
            return .object(["type": .string("boolean")])
        case .integer(let min, let max):
            var s: [String: JSONValue] = ["type": .string("integer"), "minimum": .int(min)]
            if max != Int64.max { s["maximum"] = .int(max) }
            return .object(s)
        case .list(let element, let minItems):
            var s: [String: JSONValue] = ["type": .string("array"), "items": typeSchema(element)]
            if minItems > 0 { s["minItems"] = .int(Int64(minItems)) }
            return .object(s)
        case .map(let key, let value):
            return .object([
                "type": .string("object"),
                "propertyNames": .object(scalarSchema(key)),
                "additionalProperties": .object(scalarSchema(value)),
            ])
        case .object(let o):
            return .object(["$ref": .string("#/$defs/\(o.name)")])
        case .either(let alternatives):
            return .object(["anyOf": .array(alternatives.map(typeSchema))])
        case .any:
            return .object([:])
        }
    }

    static func scalarSchema(_ rule: ScalarRule) -> [String: JSONValue] {
        var s: [String: JSONValue] = [:]
        s["type"] = rule.jsonTypes.count == 1 ? .string(rule.jsonTypes[0]) : .strings(rule.jsonTypes)
        if let allowed = rule.allowed { s["enum"] = .strings(allowed) }
        if let pattern = rule.pattern {
            if rule.scope != nil {
                // `${{…}}` is expanded before the pattern applies: accept either.
                s["anyOf"] = .array([.object(["pattern": .string(pattern)]), .object(["pattern": .string("\\$\\{\\{")])])
            } else {
                s["pattern"] = .string(pattern)
            }
        }
        return s
    }
}
