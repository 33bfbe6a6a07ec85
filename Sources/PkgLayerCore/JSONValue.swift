/// A JSON value with one deterministic spelling: object keys sorted by their UTF-8 bytes, no
/// insignificant whitespace, `/` and non-ASCII text written as they are, only `"`, `\` and control
/// characters escaped, and integers only (no floating point, so no locale or rounding changes a
/// digit). Registries and `docker load` address manifests and configs by the sha256 of their exact
/// bytes, and the build cache keys recipes by it, so the bytes depend only on the value.
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
        append(to: &out, indent: nil, depth: 0)
        return out
    }

    /// The canonical encoding as text.
    public var canonical: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// Indented text (two spaces), keys still sorted, ending in a newline; for people (`pkglayer schema`).
    public var pretty: String {
        var out: [UInt8] = []
        append(to: &out, indent: Array("  ".utf8), depth: 0)
        return String(decoding: out, as: UTF8.self) + "\n"
    }

    /// An object built from optional members: members whose value is nil are left out.
    public static func object(_ pairs: [(String, JSONValue?)]) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for (key, value) in pairs { if let value { members[key] = value } }
        return .object(members)
    }

    private func append(to out: inout [UInt8], indent: [UInt8]?, depth: Int) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value): out += Array(String(value).utf8)
        case .string(let text): JSONValue.appendString(text, to: &out)
        case .array(let items):
            if items.isEmpty { out += Array("[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.newline(&out, indent, depth + 1)
                item.append(to: &out, indent: indent, depth: depth + 1)
            }
            JSONValue.newline(&out, indent, depth)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out += Array("{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.newline(&out, indent, depth + 1)
                JSONValue.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                members[key]!.append(to: &out, indent: indent, depth: depth + 1)
            }
            JSONValue.newline(&out, indent, depth)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: [UInt8]?, _ depth: Int) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<depth { out += indent }
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
