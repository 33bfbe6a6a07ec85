import PkgLayerCore

/// One deb822 paragraph (a binary package's `control` file): ordered `Field: value` pairs, where a
/// value may continue over lines that start with a space or a tab.
///
/// Field names compare case-insensitively, as dpkg compares them; the spelling and order in which
/// they were written are kept.
public struct ControlParagraph: Equatable, Sendable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public static func == (a: ControlParagraph, b: ControlParagraph) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// The value of a field (case-insensitive name), without the first line's leading space.
    /// Multi-line values keep their continuation lines as written (each starting with a space).
    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    /// Appends a field. A nil or empty value is skipped, so optional fields simply vanish.
    public mutating func append(_ name: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        fields.append((name, value))
    }

    /// Sets a field: replaces the value of the field of that name (case-insensitive) where it is,
    /// else appends it.
    public mutating func set(_ name: String, _ value: String) {
        let lower = name.lowercased()
        if let index = fields.firstIndex(where: { $0.name.lowercased() == lower }) {
            fields[index] = (name, value)
        } else {
            fields.append((name, value))
        }
    }

    /// The paragraph as dpkg writes it: `Name: value\n` per field, continuation lines as given.
    public var rendered: String {
        var out = ""
        for (name, value) in fields { out += "\(name): \(value)\n" }
        return out
    }

    /// Checks that `rendered` is exactly these fields and nothing more, whatever the values came from (a
    /// spec, `--deb-field`, a custom control file, a converted package): each name is printable ASCII
    /// without ':', and each value's lines hold no line break or control character of any kind (checked
    /// over Unicode scalars) and every line after the first starts with a space or a tab and is not blank,
    /// so no value can end its field and begin another (`Essential: yes`) or end the paragraph.
    public func checkWritable(location: String) throws {
        for (name, value) in fields {
            guard Self.isFieldName(name) else {
                throw PkgLayerError(.invalidInput, "'\(String(name.unicodeScalars.filter { !SingleLine.isForbidden($0) }).prefix(60))' is not a control field name (printable ASCII without spaces or ':', not starting with '#' or '-')",
                                    at: location)
            }
            if let problem = Self.problem(inValue: value) {
                throw PkgLayerError(.invalidInput, "the control field '\(name)' \(problem); a line break would end the field and start another one: give it on one line (or, where a field may span lines, as continuation lines)",
                                    at: location)
            }
        }
    }

    /// What keeps `value` from being written as one deb822 field, or nil: a line break or control
    /// character other than the LF that begins a continuation line, a continuation line that does not
    /// start with a space or a tab, or a blank one.
    public static func problem(inValue value: String) -> String? {
        for (index, line) in value.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = String(String.UnicodeScalarView(line))
            if let (scalar, _) = SingleLine.firstForbidden(in: text) {
                return "holds \(SingleLine.name(of: scalar))" + (index == 0 ? "" : " on line \(index + 1)")
            }
            guard index > 0 else { continue }
            guard let first = line.first, first == " " || first == "\t" else {
                return "has a line \(index + 1) that does not start with a space or a tab"
            }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return "has a blank line \(index + 1) (write ' .' for an empty line)" }
        }
        return nil
    }

    /// A deb822 field name: printable ASCII (U+0021 to U+007E) except ':', not starting with '#' or '-'.
    public static func isFieldName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "#", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != ":" }
    }

    /// Parses the first paragraph of a control file. `location` names the file in errors.
    /// Accepts CRLF line ends and ignores `#` comment lines; a continuation line before any field,
    /// a line without a colon or a second paragraph is an error.
    public init(parsing text: String, location: String) throws {
        var current: (name: String, value: String)?
        var seen = Set<String>()
        var lineNumber = 0
        var sawBlankAfterFields = false
        // Swift reads "\r\n" as one Character, so split on unicode scalars.
        for rawLine in Self.lines(text) {
            lineNumber += 1
            let line = Substring(rawLine)
            if line.hasPrefix("#") { continue }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if current != nil || !fields.isEmpty { sawBlankAfterFields = true }
                continue
            }
            if sawBlankAfterFields {
                throw PkgLayerError(.deb, "control file has more than one paragraph (line \(lineNumber)); a binary package has exactly one",
                                    at: location)
            }
            if line.first == " " || line.first == "\t" {
                guard current != nil else {
                    throw PkgLayerError(.deb, "control file line \(lineNumber) is a continuation line before any field", at: location)
                }
                current!.value += "\n" + line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw PkgLayerError(.deb, "control file line \(lineNumber) has no 'Field:' name: '\(line.prefix(60))'", at: location)
            }
            let name = String(line[..<colon])
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw PkgLayerError(.deb, "control file line \(lineNumber) has an invalid field name '\(name)'", at: location)
            }
            if let current { fields.append(current) }
            guard seen.insert(name.lowercased()).inserted else {
                throw PkgLayerError(.deb, "control file repeats the field '\(name)' (line \(lineNumber))", at: location)
            }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            current = (name, String(value))
        }
        if let current { fields.append(current) }
        // Trailing whitespace on a value carries no meaning in deb822.
        fields = fields.map { ($0.name, Self.trimTrailing($0.value)) }
    }

    /// Lines split at LF, with a CR before the LF removed.
    public static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            var s = String(String.UnicodeScalarView(scalars))
            if s.unicodeScalars.last == "\r" { s.unicodeScalars.removeLast() }
            return s
        }
    }

    private static func trimTrailing(_ s: String) -> String {
        var s = Substring(s)
        while let last = s.last, last == " " || last == "\t" || last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
