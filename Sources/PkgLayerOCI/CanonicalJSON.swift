import PkgLayerCore

/// A JSON value that serialises to one canonical byte string: object keys sorted bytewise by their
/// UTF-8, no insignificant whitespace, `/` and non-ASCII text written as they are, integers only (no
/// floating point, so no locale or rounding can change a digit). Registries and `docker load` address
/// manifests and configs by the sha256 of their exact bytes, so the bytes must depend only on the value.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The canonical encoding.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        append(to: &out)
        return out
    }

    /// The canonical encoding as text (for logs and tests).
    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    private func append(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value): out += Array(String(value).utf8)
        case .string(let text): JSONValue.appendString(text, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.append(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.append(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Escapes only what JSON requires: `"`, `\` and control characters below 0x20.
    private static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// An object built from optional members: nil values and empty collections given as nil are left out.
    static func object(_ pairs: [(String, JSONValue?)]) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for (key, value) in pairs { if let value { members[key] = value } }
        return .object(members)
    }

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
