import Foundation
import PkgLayerCore

/// The build context: like a Docker build context, every file a recipe or image file names (local
/// sources, patches, script files, `image.files`, local package files, bases, lockfiles, recipes it
/// builds against) must resolve inside one directory tree — the file's own directory, or the context
/// given with `--context`. Symlinks are followed before the check, so a link that points out of the
/// context is refused like `../secret` or `/root/.ssh/id_rsa`: in CI, recipes come from pull requests,
/// and nothing a recipe says may pull a file from the host into a package or an image.
///
/// Keyrings are the one exception: trust anchors under /usr/share/keyrings and /etc/apt/trusted.gpg.d
/// verify signatures and never reach an artifact.
public enum BuildContext {
    /// Directories outside the context a recipe may name keyrings in.
    public static let systemKeyringDirectories = ["/usr/share/keyrings", "/etc/apt/trusted.gpg.d"]

    /// `path` with every symlink resolved; for a path that does not exist (yet), its deepest existing
    /// ancestor resolved and the rest appended.
    public static func resolve(_ path: String) -> String {
        var existing = (path as NSString).standardizingPath
        var rest: [String] = []
        while !existing.isEmpty, existing != "/" {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let resolved = String(cString: real)
                return rest.isEmpty ? resolved : (resolved as NSString).appendingPathComponent(rest.reversed().joined(separator: "/"))
            }
            rest.append((existing as NSString).lastPathComponent)
            existing = (existing as NSString).deletingLastPathComponent
        }
        return "/" + rest.reversed().joined(separator: "/")
    }

    /// `path` with `.` and `..` removed textually, no symlink followed (`/a/b/../c` → `/a/c`).
    public static func lexical(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory holding `path`, textually.
    static func lexicalParent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// With an explicit context, the recipe or image file itself must be inside it.
    public static func check(file absolutePath: String, isInside context: String?, flagged given: String) throws {
        guard let context else { return }
        let root = resolve(context)
        guard contains(root, resolve(absolutePath)) else {
            throw PkgLayerError(.usage, "'\(given)' is not inside the build context \(root); give a --context that contains it", at: "--context")
        }
    }

    /// Whether `resolved` (already through `resolve`) is `root` or below it.
    public static func contains(_ root: String, _ resolved: String) -> Bool {
        root == "/" || resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}

extension RecipeDecoder {
    /// `written` (relative to the file's directory, or absolute) as an absolute path, after checking
    /// that it stays inside the context once symlinks are followed. A path that leaves it is reported
    /// naming `field` and both paths; the unresolved absolute path is returned either way, so reading
    /// goes on and every problem is reported at once.
    mutating func contextPath(_ written: String, field: String, at location: SourceLocation) -> String {
        let path = absolute(written)
        let resolved = BuildContext.resolve(path)
        if !BuildContext.contains(context, resolved) {
            let lexical = BuildContext.lexical(written.hasPrefix("/") ? written : directory + "/" + written)
            let how = BuildContext.contains(context, BuildContext.resolve(BuildContext.lexicalParent(lexical))) && lexical != resolved
                ? " (through a symlink: it resolves to \(resolved))" : ""
            report("\(field): '\(written)' is outside the build context \(context)\(how); a recipe may only name files in its own directory tree. Move the file there, or widen the context with --context DIR",
                   at: location)
        }
        return path
    }

    /// A keyring: inside the context, or under one of the system keyring directories.
    mutating func keyringPath(_ written: String, field: String, at location: SourceLocation) -> String {
        let path = absolute(written)
        let resolved = BuildContext.resolve(path)
        if BuildContext.systemKeyringDirectories.contains(where: { BuildContext.contains($0, resolved) }) { return path }
        return contextPath(written, field: field, at: location)
    }
}
