import Foundation

/// A canary tree beside the work directories of a hostile-input test: every path under `root` with its
/// type, permission bits, content or link target, read with lstat only (never following a link). A test
/// takes it before and after the run; any difference means pkglayer reached outside its work.
public func canarySnapshot(_ root: String) throws -> [String: String] {
    var result: [String: String] = [:]
    func walk(_ relative: String) throws {
        let full = relative.isEmpty ? root : "\(root)/\(relative)"
        var st = stat()
        guard lstat(full, &st) == 0 else { return }
        let mode = String(st.st_mode & 0o7777, radix: 8)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            result[relative] = "dir \(mode)"
            for name in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                try walk(relative.isEmpty ? name : "\(relative)/\(name)")
            }
        case S_IFLNK:
            result[relative] = "link -> \(try FileManager.default.destinationOfSymbolicLink(atPath: full))"
        default:
            let body = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "(\(st.st_size) bytes, not text)"
            result[relative] = "file \(mode) \(body)"
        }
    }
    try walk("")
    return result
}
