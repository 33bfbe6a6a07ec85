import Foundation

/// The kind of a manifest entry. Devices, fifos and sockets are refused when the manifest is built.
public enum FileKind: String, Sendable, Codable {
    case file, directory, symlink, hardlink
}

/// Per-file flags, as rpm carries them in FILEFLAGS (deb uses `config` for conffiles).
public struct FileFlags: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The numbers are rpm's RPMFILE_* values, so the rpm writer can use them as they are.
    public static let config = FileFlags(rawValue: 1 << 0)
    public static let doc = FileFlags(rawValue: 1 << 1)
    public static let missingOK = FileFlags(rawValue: 1 << 3)
    public static let noReplace = FileFlags(rawValue: 1 << 4)
    public static let ghost = FileFlags(rawValue: 1 << 6)
    public static let license = FileFlags(rawValue: 1 << 7)
}

/// One entry of the normalised manifest.
///
/// `path` is absolute inside the package (`/usr/bin/hello`), normalised (no `.`, `..`, `//`, trailing `/`).
/// For a `.hardlink`, `linkTarget` is the path of the group's first member (which is a `.file`), and size
/// and sha256 repeat that file's. For a `.symlink`, `linkTarget` is the link's text.
public struct ManifestEntry: Sendable, Equatable, Codable {
    public var path: String
    public var kind: FileKind
    /// Permission bits including setuid (04000), setgid (02000) and sticky (01000); no type bits.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var user: String
    public var group: String
    public var mtime: Int64
    public var size: UInt64
    /// Lower-case hex sha256 of a regular file's (or hardlink's) content.
    public var sha256: String?
    public var linkTarget: String?
    public var flags: FileFlags
    /// File capabilities in libcap's text form (`cap_net_bind_service=ep`), as rpm's FILECAPS carries them.
    public var capabilities: String?
    /// True for directories the package should not claim: parents added implicitly and the standard
    /// system directories (`/usr`, `/usr/bin`, …). Archives (deb, layers) still contain them; rpm does
    /// not own them, so removing the package never tries to remove `/usr/bin`.
    public var isImplicitDirectory: Bool
    /// Where the content is read from when a writer streams it (regular files only).
    public var sourcePath: String?

    public init(path: String, kind: FileKind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0,
                user: String = "root", group: String = "root", mtime: Int64, size: UInt64 = 0,
                sha256: String? = nil, linkTarget: String? = nil, flags: FileFlags = [],
                capabilities: String? = nil, isImplicitDirectory: Bool = false, sourcePath: String? = nil) {
        self.path = path; self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid
        self.user = user; self.group = group; self.mtime = mtime; self.size = size; self.sha256 = sha256
        self.linkTarget = linkTarget; self.flags = flags; self.capabilities = capabilities
        self.isImplicitDirectory = isImplicitDirectory; self.sourcePath = sourcePath
    }

    /// The POSIX type bits for this entry (a hardlink is a regular file on disk).
    public var typeBits: UInt32 {
        switch kind {
        case .file, .hardlink: return 0o100000
        case .directory: return 0o040000
        case .symlink: return 0o120000
        }
    }

    /// `st_mode`: type bits plus permission bits.
    public var fullMode: UInt32 { typeBits | (mode & 0o7777) }

    /// The path without its leading `/` (`usr/bin/hello`), as tar members spell it.
    public var relativePath: String { String(path.dropFirst()) }
}

/// The normalised file manifest: sorted by path (bytewise), unique paths, every parent present.
/// Every writer (rpm, deb, OCI layer) consumes this one value and walks nothing itself.
public struct FileManifest: Sendable, Equatable, Codable {
    public private(set) var entries: [ManifestEntry]

    /// Sorts, checks and completes entries: rejects duplicate and escaping paths, adds missing parent
    /// directories (root-owned, 0755, marked implicit) and checks every hardlink points at a file.
    public init(entries: [ManifestEntry], implicitDirectoryMtime: Int64) throws {
        var byPath: [String: ManifestEntry] = [:]
        for var entry in entries {
            entry.path = try ManifestPath.normalize(entry.path, field: entry.path)
            if entry.path == "/" { continue }
            if byPath[entry.path] != nil {
                throw PkgLayerError(.duplicatePath, "two sources map to this destination; remove one mapping or exclude one with -x",
                                    at: entry.path)
            }
            byPath[entry.path] = entry
        }
        for path in Array(byPath.keys) {
            var parent = ManifestPath.parent(of: path)
            while parent != "/" {
                if let existing = byPath[parent] {
                    if existing.kind != .directory {
                        throw PkgLayerError(.duplicatePath, "is a \(existing.kind.rawValue) but '\(path)' needs it to be a directory", at: parent)
                    }
                    break
                }
                byPath[parent] = ManifestEntry(path: parent, kind: .directory, mode: 0o755, mtime: implicitDirectoryMtime,
                                               isImplicitDirectory: true)
                parent = ManifestPath.parent(of: parent)
            }
        }
        self.entries = byPath.values.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        try validateLinks(byPath)
    }

    private func validateLinks(_ byPath: [String: ManifestEntry]) throws {
        for entry in entries {
            switch entry.kind {
            case .hardlink:
                guard let target = entry.linkTarget, let file = byPath[target], file.kind == .file else {
                    throw PkgLayerError(.invalidInput, "hardlink target '\(entry.linkTarget ?? "")' is not a regular file in the package",
                                        at: entry.path)
                }
                if target.utf8.lexicographicallyPrecedes(entry.path.utf8) == false {
                    throw PkgLayerError(.invalidInput, "hardlink must sort after its target '\(target)'", at: entry.path)
                }
            case .symlink:
                guard let target = entry.linkTarget, !target.isEmpty else {
                    throw PkgLayerError(.invalidInput, "symlink has an empty target", at: entry.path)
                }
            case .file, .directory: break
            }
        }
    }

    public var count: Int { entries.count }
    public subscript(path: String) -> ManifestEntry? { entries.first { $0.path == path } }

    /// Sum of regular-file sizes (hardlinked content counted once).
    public var installedSize: UInt64 {
        entries.reduce(0) { $0 + ($1.kind == .file ? $1.size : ($1.kind == .symlink ? UInt64($1.linkTarget?.utf8.count ?? 0) : 0)) }
    }

    /// Returns a copy with `transform` applied to each entry (paths must not change).
    public func mapEntries(_ transform: (inout ManifestEntry) throws -> Void) rethrows -> FileManifest {
        var copy = self
        for index in copy.entries.indices {
            let path = copy.entries[index].path
            try transform(&copy.entries[index])
            precondition(copy.entries[index].path == path, "mapEntries must not change paths")
        }
        return copy
    }

    /// Hardlink groups: for each file that has hardlinks, its path and the paths linking to it, in order.
    public var hardlinkGroups: [String: [String]] {
        var groups: [String: [String]] = [:]
        for entry in entries where entry.kind == .hardlink {
            groups[entry.linkTarget!, default: []].append(entry.path)
        }
        return groups
    }
}

/// Path rules shared by every reader and writer.
public enum ManifestPath {
    /// Normalises a package path to `/a/b`. Rejects `..` components and NUL bytes: a package path may
    /// never leave the root. `field` names the input at fault in the error.
    public static func normalize(_ raw: String, field: String) throws -> String {
        if raw.utf8.contains(0) {
            throw PkgLayerError(.invalidInput, "path contains a NUL byte", at: field)
        }
        var parts: [Substring] = []
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                throw PkgLayerError(.pathEscapesRoot, "path '\(raw)' contains '..' and would escape the package root; use a path inside the tree",
                                    at: field)
            }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    public static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Resolves a symlink's target against its own directory and reports whether it stays inside the root.
    /// Absolute targets are taken relative to the package root (as they will be once installed).
    public static func symlinkStaysInside(linkPath: String, target: String) -> Bool {
        let base = target.hasPrefix("/") ? [] : parent(of: linkPath).split(separator: "/").map(String.init)
        var stack = base
        for component in target.split(separator: "/") {
            if component == "." { continue }
            if component == ".." {
                if stack.isEmpty { return false }
                stack.removeLast()
            } else {
                stack.append(String(component))
            }
        }
        return true
    }
}

/// Directories that belong to the base system. rpm packages do not own them, so that removing a
/// package never removes or re-permissions `/usr/bin`.
public enum StandardDirectories {
    public static let all: Set<String> = {
        var set: Set<String> = [
            "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
            "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
            "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libexec", "/usr/include", "/usr/local",
            "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib", "/usr/local/share", "/usr/local/include", "/usr/local/etc",
            "/usr/share", "/usr/share/doc", "/usr/share/info", "/usr/share/locale", "/usr/share/man", "/usr/share/licenses",
            "/usr/share/applications", "/usr/share/icons", "/usr/share/pixmaps", "/usr/share/pkgconfig", "/usr/lib/pkgconfig",
            "/usr/lib64/pkgconfig", "/usr/lib/systemd", "/usr/lib/systemd/system", "/lib/systemd", "/lib/systemd/system",
            "/usr/src", "/etc/default", "/etc/init.d", "/etc/logrotate.d", "/etc/profile.d", "/etc/sysconfig",
            "/etc/systemd", "/etc/systemd/system", "/etc/cron.d", "/etc/ld.so.conf.d", "/etc/security",
            "/var/lib", "/var/log", "/var/cache", "/var/run", "/var/spool", "/var/tmp", "/var/opt", "/var/www",
            "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/share/bash-completion",
            "/usr/share/bash-completion/completions", "/usr/share/zsh", "/usr/share/zsh/site-functions",
        ]
        for n in 1...9 { set.insert("/usr/share/man/man\(n)") }
        set.insert("/usr/share/man/mann")
        return set
    }()
}

extension ManifestPath {
    /// Normalises a member name read from an untrusted archive (a tarball, an rpm payload, a deb's
    /// data.tar). Unlike `normalize`, an absolute name is refused, not re-rooted: a member called
    /// `/etc/passwd` is hostile. `./usr/bin/x` and `usr/bin/x` are fine.
    public static func normalizeMember(_ raw: String, archive: String) throws -> String {
        if raw.hasPrefix("/") {
            throw PkgLayerError(.pathEscapesRoot, "member '\(raw)' has an absolute path; archives must hold paths relative to their root",
                                at: archive)
        }
        do {
            return try normalize(raw, field: archive)
        } catch var error as PkgLayerError {
            error.message = "member '\(raw)': " + error.message
            throw error
        }
    }
}
