import Foundation

/// Shell-style globs over package paths (`/etc/**`, `*.conf`, `/usr/bin/*`), as fpm's `-x`,
/// `--config-files` and `--rpm-attr` take them.
///
/// A pattern without `/` matches the basename anywhere; one with `/` matches the whole path (a leading
/// `/` is optional). `**` crosses directory boundaries; `*` and `?` do not. A pattern also matches
/// everything below a directory it matches, so `-x /usr/share/doc` drops the whole tree.
public struct Glob: Sendable, Equatable {
    public let pattern: String
    private let anchored: Bool
    private let normalized: String

    public init(_ pattern: String) {
        self.pattern = pattern
        var p = pattern
        while p.hasSuffix("/") && p.count > 1 { p.removeLast() }
        if p.hasPrefix("./") { p.removeFirst(2) }
        anchored = p.contains("/")
        normalized = anchored ? (p.hasPrefix("/") ? p : "/" + p) : p
    }

    /// Whether `path` (an absolute package path) matches, or lies below a match.
    public func matches(_ path: String) -> Bool {
        if anchored {
            var candidate = path
            while true {
                if Glob.match(Array(normalized.utf8), Array(candidate.utf8)) { return true }
                let parent = ManifestPath.parent(of: candidate)
                if parent == candidate || parent == "/" { return false }
                candidate = parent
            }
        }
        return path.split(separator: "/").contains { Glob.match(Array(normalized.utf8), Array($0.utf8)) }
    }

    /// Iterative glob matcher with `**`, `*`, `?` and `[...]` classes.
    static func match(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        func rec(_ pi: Int, _ si: Int) -> Bool {
            var pi = pi, si = si
            while pi < p.count {
                let c = p[pi]
                if c == UInt8(ascii: "*") {
                    let doubleStar = pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*")
                    var next = pi + (doubleStar ? 2 : 1)
                    if doubleStar, next < p.count, p[next] == UInt8(ascii: "/") {
                        // "**/" also matches zero directories.
                        if rec(next + 1, si) { return true }
                        next += 0
                    }
                    var k = si
                    while true {
                        if rec(next, k) { return true }
                        if k >= s.count { return false }
                        if !doubleStar && s[k] == UInt8(ascii: "/") { return false }
                        k += 1
                    }
                }
                guard si < s.count else { return false }
                if c == UInt8(ascii: "?") {
                    if s[si] == UInt8(ascii: "/") { return false }
                } else if c == UInt8(ascii: "["), let close = p[(pi + 1)...].firstIndex(of: UInt8(ascii: "]")) {
                    var set = Array(p[(pi + 1)..<close])
                    let negate = set.first == UInt8(ascii: "!") || set.first == UInt8(ascii: "^")
                    if negate { set.removeFirst() }
                    var hit = false
                    var j = 0
                    while j < set.count {
                        if j + 2 < set.count, set[j + 1] == UInt8(ascii: "-") {
                            if s[si] >= set[j] && s[si] <= set[j + 2] { hit = true }
                            j += 3
                        } else {
                            if s[si] == set[j] { hit = true }
                            j += 1
                        }
                    }
                    if hit == negate { return false }
                    pi = close
                } else if c != s[si] {
                    return false
                }
                pi += 1
                si += 1
            }
            return si == s.count
        }
        return rec(0, 0)
    }
}
