import PkgLayerCore

/// OCI-specific builders over Core's canonical `JSONValue`.
extension JSONValue {
    static func strings(_ values: [String]?) -> JSONValue? {
        values.map { .array($0.map(JSONValue.string)) }
    }

    static func stringMap(_ values: [String: String]?) -> JSONValue? {
        guard let values, !values.isEmpty else { return nil }
        return .object(values.mapValues(JSONValue.string))
    }

    /// A set as an object of empty objects (`{"80/tcp":{}}`), the form ExposedPorts and Volumes take.
    static func emptyObjectSet(_ values: [String]?) -> JSONValue? {
        guard let values, !values.isEmpty else { return nil }
        var members: [String: JSONValue] = [:]
        for value in values { members[value] = .object([:]) }
        return .object(members)
    }
}
