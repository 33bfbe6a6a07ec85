import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// The host's apt sources, as apt reads them: one-line `deb [opts] URI suite [component…]` entries in
/// /etc/apt/sources.list and sources.list.d/*.list, and deb822 paragraphs (Types, URIs, Suites,
/// Components, Signed-By, Trusted, Enabled) in sources.list.d/*.sources. Only `deb` entries count
/// (not `deb-src`); files are read in name order, as apt does.
extension AptRepository {
    public static func hostSources(root: String = "/etc/apt") throws -> [RepositorySpec] {
        var result: [RepositorySpec] = []
        let main = "\(root)/sources.list"
        if let text = try? String(contentsOfFile: main, encoding: .utf8) { result += try parseOneLineSources(text, file: main) }
        let dir = "\(root)/sources.list.d"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        for name in names {
            let path = "\(dir)/\(name)"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if name.hasSuffix(".list") { result += try parseOneLineSources(text, file: path) }
            if name.hasSuffix(".sources") { result += try parseDeb822Sources(text, file: path) }
        }
        return result
    }

    /// `deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg trusted=yes] http://… bookworm main contrib`.
    public static func parseOneLineSources(_ text: String, file: String) throws -> [RepositorySpec] {
        var result: [RepositorySpec] = []
        for (number, rawLine) in ControlParagraph.lines(text).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let type = words.first, type == "deb" else { continue }
            words.removeFirst()
            var options: [String: String] = [:]
            if let first = words.first, first.hasPrefix("[") {
                var optionWords: [String] = []
                while let word = words.first {
                    words.removeFirst()
                    optionWords.append(word)
                    if word.hasSuffix("]") { break }
                }
                let joined = optionWords.joined(separator: " ").dropFirst().dropLast()
                for option in joined.split(separator: " ") {
                    let pair = option.split(separator: "=", maxSplits: 1)
                    if pair.count == 2 { options[pair[0].lowercased()] = String(pair[1]) }
                }
            }
            let origin = "\(file):\(number + 1)"
            guard words.count >= 2 else {
                throw PkgLayerError(.invalidInput, "expected 'deb [options] URI suite [components]'", at: origin)
            }
            result.append(RepositorySpec(kind: .apt, url: words[0], suites: [words[1]], components: Array(words.dropFirst(2)),
                                         keyring: options["signed-by"], trusted: options["trusted"] == "yes", origin: origin))
        }
        return result
    }

    /// deb822 `.sources`: one repository per paragraph and URI.
    public static func parseDeb822Sources(_ text: String, file: String) throws -> [RepositorySpec] {
        var result: [RepositorySpec] = []
        var fields: [String: String] = [:]
        var current: String?
        var startLine = 1
        func flush() {
            defer { fields = [:]; current = nil }
            guard !fields.isEmpty, (fields["enabled"] ?? "yes") != "no" else { return }
            let types = (fields["types"] ?? "").split(separator: " ")
            guard types.contains("deb") else { return }
            let words: (String) -> [String] = { (fields[$0] ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) }
            // Signed-By may be an inline armored key (several lines); only a path is supported here.
            let signedBy = words("signed-by").count == 1 ? words("signed-by")[0] : nil
            for uri in words("uris") {
                result.append(RepositorySpec(kind: .apt, url: uri, suites: words("suites"), components: words("components"),
                                             keyring: signedBy, trusted: fields["trusted"] == "yes", origin: "\(file):\(startLine)"))
            }
        }
        for (number, line) in ControlParagraph.lines(text).enumerated() {
            if line.hasPrefix("#") { continue }
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()
                startLine = number + 2
                continue
            }
            if line.first == " " || line.first == "\t" {
                if let current { fields[current, default: ""] += "\n" + line.trimmingCharacters(in: .whitespaces) }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw PkgLayerError(.invalidInput, "line \(number + 1) is not 'Field: value'", at: file)
            }
            let name = line[..<colon].lowercased()
            fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            current = name
        }
        flush()
        return result
    }
}
