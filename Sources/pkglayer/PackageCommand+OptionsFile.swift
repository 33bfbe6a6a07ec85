import ArgumentParser
import Foundation

/// fpm's `--fpm-options-file FILE`: the file's flags are read as if they stood on the command line
/// where the option is. One or more flags a line, shell-quoted; a word starting with `#` starts a
/// comment. A file may name another; a file read twice is an error (fpm's rule), as is one over 100 KiB.
enum FpmOptionsFile {
    static let maximumSize = 100 * 1024

    /// `arguments` with every `--fpm-options-file FILE` (or `=FILE`) replaced by the file's words.
    static func expand(_ arguments: [String], loaded: inout [String]) throws -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            var path: String?
            if arg == "--fpm-options-file" {
                guard i + 1 < arguments.count else { throw ValidationError("--fpm-options-file needs a file") }
                path = arguments[i + 1]; i += 2
            } else if arg.hasPrefix("--fpm-options-file=") {
                path = String(arg.dropFirst("--fpm-options-file=".count)); i += 1
            } else if arg == "--" {
                out += arguments[i...]; break
            } else {
                out.append(arg); i += 1
                continue
            }
            guard let path else { continue }
            let full = URL(fileURLWithPath: path).standardizedFileURL.path
            if loaded.contains(full) {
                throw ValidationError("--fpm-options-file: '\(path)' was already read once (does a file name itself?)")
            }
            loaded.append(full)
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            guard let size = attributes?[.size] as? Int, let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--fpm-options-file: cannot read '\(path)'")
            }
            guard size <= maximumSize else {
                throw ValidationError("--fpm-options-file: '\(path)' is \(size) bytes; the limit is \(maximumSize) (fpm's)")
            }
            var words: [String] = []
            for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                do { words += try split(String(line)) } catch let error as ValidationError {
                    throw ValidationError("--fpm-options-file: \(path):\(number + 1): \(error.message)")
                }
            }
            out += try expand(words, loaded: &loaded)
        }
        return out
    }

    /// Shell words: single and double quotes, backslash escapes, `#` comments.
    static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if let q = quote {
                if c == q { quote = nil; continue }
                if c == "\\", q == "\"", let next = chars.first, "\"\\$`".contains(next) { current.append(chars.removeFirst()); continue }
                current.append(c); continue
            }
            switch c {
            case "'", "\"": quote = c; inWord = true
            case "\\":
                if let next = chars.popFirst() { current.append(next) }
                inWord = true
            case "#" where !inWord: return words
            case _ where c.isWhitespace:
                if inWord { words.append(current); current = ""; inWord = false }
            default: current.append(c); inWord = true
            }
        }
        if quote != nil { throw ValidationError("unterminated quote") }
        if inWord { words.append(current) }
        return words
    }
}
