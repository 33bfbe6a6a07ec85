import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerFetch

/// A source as it went into the tree, for the output cache key and the `--json` report.
public struct PreparedSource: Sendable, Equatable {
    public var request: SourceRequest
    /// The file that was extracted or copied (a cache entry for URLs, the local path otherwise).
    public var path: String
    /// The file's sha256; for a local directory, a digest over its sorted paths, modes, link targets and
    /// file digests (`SourceTree.treeDigest`).
    public var sha256: String
    /// nil for local files and directories.
    public var origin: SourceOrigin?
}

/// The build's source tree on the host (bound at `/build/src` in the sandbox): archives extracted with
/// normalised ownership (nothing is ever chowned, so a tarball's foreign uids do not matter), local
/// files copied, patches applied in order.
///
/// Every write goes through descriptors opened with O_NOFOLLOW from the tree's root, so a symlink that
/// an earlier archive planted cannot redirect a later file, copy or `extract-to` outside the tree.
public final class SourceTree {
    public let root: String

    /// Creates `root` (and its parents) if needed.
    public init(root: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.root = root
    }

    /// Resolves, extracts or copies every source in order. URL sources go through `resolver`; local
    /// paths are relative to `baseDirectory`. `field(i)` names a source in errors (`sources[2]`).
    @discardableResult
    public func populate(_ sources: [SourceRequest], baseDirectory: String, resolver: SourceResolver,
                         field: (Int) -> String = { "sources[\($0)]" }) throws -> [PreparedSource] {
        for (index, source) in sources.enumerated() { try source.validate(field: field(index)) }
        var prepared: [PreparedSource] = []
        for (index, source) in sources.enumerated() {
            if let url = source.url {
                let resolved = try resolver.resolve(url: url, sha256: source.sha256!)
                try add(source, file: resolved.path)
                prepared.append(PreparedSource(request: source, path: resolved.path, sha256: resolved.sha256, origin: resolved.origin))
            } else if let local = source.localPath {
                let path = local.hasPrefix("/") ? local : (baseDirectory as NSString).appendingPathComponent(local)
                var st = stat()
                guard stat(path, &st) == 0 else {
                    throw PkgLayerError(.io, "local source '\(local)' not found (looked at \(path))", at: field(index))
                }
                let digest: String
                if st.st_mode & S_IFMT == S_IFDIR {
                    if source.sha256 != nil {
                        throw PkgLayerError(.invalidInput, "'\(local)' is a directory; sha256 applies to files only", at: field(index))
                    }
                    digest = try SourceTree.treeDigest(path)
                } else {
                    digest = try FileDigest.sha256Hex(path: path)
                    if let pinned = source.sha256, try SourceRequest.checkedDigest(pinned, field: field(index)) != digest {
                        throw SourceCache.mismatch(origin: path, expected: try SourceRequest.checkedDigest(pinned, field: field(index)), actual: digest)
                    }
                }
                try add(source, file: path)
                prepared.append(PreparedSource(request: source, path: path, sha256: digest, origin: nil))
            }
        }
        return prepared
    }

    /// Extracts or copies one source file (already resolved and verified) into the tree.
    public func add(_ source: SourceRequest, file: String) throws {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory)
        if !isDirectory.boolValue && source.shouldExtract {
            try extractArchive(file, name: source.displayName, stripComponents: source.stripComponents, into: source.extractTo)
        } else {
            try copy(file, into: source.extractTo, as: isDirectory.boolValue ? nil : source.fileName)
        }
    }

    /// Archive names pkglayer extracts by default.
    public static func looksLikeArchive(_ name: String) -> Bool {
        let lower = name.lowercased()
        let suffixes = [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".tar.zst", ".tzst",
                        ".tar.lz", ".tar.lzma", ".tlz", ".tar.z"]
        return suffixes.contains { lower.hasSuffix($0) }
    }

    /// Normalises an `extract-to` value to a relative path ("" for the top); `..` and absolute paths
    /// are refused.
    static func relativeDirectory(_ text: String, field: String) throws -> String {
        if text.hasPrefix("/") {
            throw PkgLayerError(.pathEscapesRoot, "extract-to '\(text)' must be relative to the source tree", at: field)
        }
        return String(try ManifestPath.normalize(text, field: field).dropFirst())
    }

    /// Opens `relative` under the root as a directory, creating missing components (0755) and refusing
    /// any component that is a symlink or not a directory. The caller closes the descriptor.
    func openDirectory(_ relative: String, create: Bool) throws -> Int32 {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw PkgLayerError.posix("open", path: root) }
        defer { close(rootFD) }
        do {
            return try SafeDirectory.open(relative, beneath: rootFD, create: create, location: "\(root)/\(relative)")
        } catch let stop as SafeDirectory.NotADirectory {
            throw PkgLayerError(.pathEscapesRoot, "'\(relative)' passes through '\(stop.component)', which is not a real directory (a symlink?)",
                                at: root)
        }
    }

    /// A digest of a directory's content for cache keys: sorted relative paths with their type, mode
    /// bits, symlink target or file sha256. Ownership and times are left out.
    public static func treeDigest(_ directory: String) throws -> String {
        var lines: [String] = []
        func walk(_ relative: String) throws {
            let full = relative.isEmpty ? directory : "\(directory)/\(relative)"
            for name in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                let rel = relative.isEmpty ? name : "\(relative)/\(name)"
                let path = "\(directory)/\(rel)"
                var st = stat()
                guard lstat(path, &st) == 0 else { throw PkgLayerError.posix("lstat", path: path) }
                let perms = String(st.st_mode & 0o7777, radix: 8)
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    lines.append("d \(perms) \(rel)")
                    try walk(rel)
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
                    lines.append("l \(rel) -> \(target)")
                case S_IFREG:
                    lines.append("f \(perms) \(try FileDigest.sha256Hex(path: path)) \(rel)")
                default:
                    throw PkgLayerError(.unsupportedFileType, "is a device, fifo or socket; a source directory may hold only files, directories and symlinks",
                                        at: path)
                }
            }
        }
        try walk("")
        return Digest.sha256(Array(lines.joined(separator: "\n").utf8)).hex
    }
}
