import PkgLayerCore

/// Recipe-specific builders over Core's canonical `JSONValue`.
extension JSONValue {
    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
}
