import Foundation

/// Licenses from a Debian package's `/usr/share/doc/PKG/copyright`, when it is machine-readable (DEP-5,
/// "copyright-format/1.0"): the distinct `License:` short names of its paragraphs, in order of first
/// appearance, joined with ` AND ` (every file of the package is under one of them). nil for a
/// free-form copyright file: guessing from prose would be worse than saying nothing.
public enum DebCopyright {
    public static func licenses(_ text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix("Format:"), first.contains("copyright-format") else { return nil }
        var names: [String] = []
        for line in lines where line.hasPrefix("License:") {
            let name = line.dropFirst("License:".count).trimmingCharacters(in: .whitespaces)
            // A stand-alone license paragraph repeats a name already listed; an empty name is a
            // continuation-only paragraph.
            guard !name.isEmpty, !names.contains(name) else { continue }
            names.append(name)
        }
        return names.isEmpty ? nil : names.map { $0.contains(" ") ? "(\($0))" : $0 }.joined(separator: " AND ")
    }
}
