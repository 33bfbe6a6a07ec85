/// Values that become one line of a line-based file: a control field, a header, a script's `#!` line,
/// an `/etc/passwd` entry. Checked over Unicode scalars, never Characters: Swift reads "\r\n" as one
/// Character that equals neither "\n" nor "\r", so a Character test lets `Me <m@x>\r\nEssential: yes`
/// through as one line.
///
/// A line break is any scalar some reader of such files ends a line at: LF, VT, FF, CR, FS, GS, RS
/// (Python's `str.splitlines`, which python-debian and many scripts use), NEL (U+0085), LINE SEPARATOR
/// (U+2028) and PARAGRAPH SEPARATOR (U+2029). A single-line value also holds no other control
/// character (C0 other than tab, DEL, C1): NUL ends a C string early, ESC rewrites a terminal.
public enum SingleLine {
    /// Whether some reader of a line-based file ends a line at `scalar`.
    public static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// Whether `scalar` may not appear in a single-line value: a line break or another control character
    /// (tab is allowed).
    public static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (v < 0x20 && v != 0x09) || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
    }

    /// The first scalar of `value` that a single-line value may not hold, and the text before it.
    public static func firstForbidden(in value: String) -> (scalar: Unicode.Scalar, before: String)? {
        var before = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if isForbidden(scalar) { return (scalar, String(before)) }
            before.append(scalar)
        }
        return nil
    }

    /// Throws when `value` holds a line break or a control character, naming `field` and where the value
    /// lands (`what`: "a Debian control file's Maintainer field"). The error shows the text before the
    /// character (at most its last 40 characters), never what follows: that is the would-be injected line.
    public static func check(_ value: String?, field: String, what: String) throws {
        guard let value, let (scalar, before) = firstForbidden(in: value) else { return }
        let shown = before.count > 40 ? "…" + String(before.suffix(40)) : before
        let position = before.isEmpty ? "at its start" : "after '\(shown)'"
        let consequence = isLineBreak(scalar)
            ? "a line break there would end the line and start another (an injected field or command)"
            : "control characters are not allowed there"
        throw PkgLayerError(.invalidInput, "the value holds \(name(of: scalar)) \(position); \(what) is one line of text, and \(consequence): give the value on one line without control characters",
                            at: field)
    }

    /// The lines of a multi-line value, split at every line break `isLineBreak` names (CR LF counts
    /// once), so that each line can be written as a line of its own.
    public static func lines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            if isLineBreak(scalar) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    /// The text up to the first line break (a script's `#!` line), without the break.
    public static func firstLine(of text: String) -> String {
        var line = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isLineBreak(scalar) { break }
            line.append(scalar)
        }
        return String(line)
    }

    /// The lines a shell reads from `text`: split at LF scalars only (a CR stays in its line, as `sh`
    /// keeps it). For checking that no line of a here-document body equals its delimiter.
    public static func shellLines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    /// `a carriage return (U+000D)`: how an error names a character that cannot be shown.
    public static func name(of scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        switch scalar.value {
        case 0x00: return "a NUL byte (\(code))"
        case 0x0A: return "a line feed (\\n, \(code))"
        case 0x0B: return "a vertical tab (\(code))"
        case 0x0C: return "a form feed (\(code))"
        case 0x0D: return "a carriage return (\\r, \(code))"
        case 0x1B: return "an escape character (\(code))"
        case 0x85: return "a next-line character (NEL, \(code))"
        case 0x2028: return "a line separator (\(code))"
        case 0x2029: return "a paragraph separator (\(code))"
        default: return "a control character (\(code))"
        }
    }
}
