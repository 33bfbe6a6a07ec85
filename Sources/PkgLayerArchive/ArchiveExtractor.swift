import Foundation
import PkgLayerCore

/// Extracts members of an untrusted archive under a root directory, safely:
/// - `..` and absolute member names are refused;
/// - a symlink whose target leaves the root is refused;
/// - nothing is ever written through a symlink: every parent is opened with O_NOFOLLOW, and files are
///   created with O_EXCL|O_NOFOLLOW, so a member cannot redirect a later one outside the root, and
///   nothing that exists is overwritten;
/// - hardlinks may only point at regular files already under the root, found without following
///   symlinks.
/// Ownership is not applied (the manifest carries it); permission bits are, with directories kept
/// writable by their owner so later members can be created in them.
///
/// Member content comes from an `ArchiveReader` (`extract(_:from:)`), from a closure that pushes the
/// bytes (`extract(_:data:)`, e.g. to hash them on the way), or through a sink for parsers that are
/// themselves pushed data (`createFile(_:)`).
///
/// Everything the extractor creates is remembered: `removeAll()` takes it away again (and the root,
/// when the extractor created it), so a reader that fails leaves nothing behind.
public final class ArchiveExtractor {
    public let root: String
    private let rootFD: Int32
    private let archiveName: String
    private let keepSpecialBits: Bool
    /// The topmost directory `init` created to make the root, or nil when the root already existed.
    private let createdRoot: String?
    /// Everything created under the root, relative to it, in creation order.
    private var created: [(path: String, isDirectory: Bool)] = []
    /// The package paths (`/a/b`) of the symlinks extracted, in order.
    public private(set) var symlinks: [String] = []
    /// The last parent directory opened (a package path) and its descriptor, owned here: members of
    /// one directory usually come together, so most members need no walk from the root.
    private var cachedParent: (path: String, fd: Int32)?
    private var discarded = false

    /// - Parameters:
    ///   - root: created (with its parents) when missing; it may already hold files.
    ///   - archiveName: named in errors (the tarball, rpm or deb path).
    ///   - keepSpecialBits: false for staging trees that exist to be read (a package reader's): files
    ///     and directories lose setuid, setgid and sticky, and files stay readable by their owner
    ///     (u+r). The manifest carries the real modes. True (the default) restores the bits exactly,
    ///     for trees whose modes are the truth (a source tarball, a tar input).
    public init(root: String, archiveName: String, keepSpecialBits: Bool = true) throws {
        var topmostMissing: String?
        var probe = (root as NSString).standardizingPath
        var st = stat()
        while !probe.isEmpty, probe != "/", lstat(probe, &st) != 0, errno == ENOENT {
            topmostMissing = probe
            probe = (probe as NSString).deletingLastPathComponent
        }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw PkgLayerError(.io, "cannot create the extraction directory: \(error.localizedDescription)", at: root)
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: root) }
        self.root = root
        rootFD = fd
        self.archiveName = archiveName
        self.keepSpecialBits = keepSpecialBits
        createdRoot = topmostMissing
    }

    deinit {
        if let cached = cachedParent { close(cached.fd) }
        close(rootFD)
    }

    // MARK: - Extracting

    /// Extracts the reader's current member; returns its normalised package path (`/usr/bin/x`), or
    /// nil for the root directory itself (`./`).
    @discardableResult
    public func extract(_ header: ArchiveEntryHeader, from reader: ArchiveReader) throws -> String? {
        try extract(header) { write in try reader.readData(write) }
    }

    /// Extracts one member whose content `data` supplies: for a regular file, `data` is called once
    /// with a `write` function and pushes the whole content through it; for anything else (and for a
    /// hardlink) it is not called. Returns the normalised package path, or nil for the root itself.
    @discardableResult
    public func extract(_ header: ArchiveEntryHeader,
                        data: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> String? {
        if header.isRegular && header.hardlinkTarget == nil {
            guard let file = try makeFile(header) else { return nil }
            try data { try file.write($0) }
            try file.finish()
            return file.packagePath
        }
        return try extractWithoutContent(header)
    }

    /// Creates a regular-file member and returns the sink its content goes to; `finish()` it to apply
    /// its mode. For parsers that are pushed their data (rpm's stripped cpio).
    public func createFile(_ header: ArchiveEntryHeader) throws -> ExtractedFile {
        guard header.isRegular, header.hardlinkTarget == nil else {
            throw PkgLayerError(.archive, "createFile takes a regular-file member, not mode 0\(String(header.mode, radix: 8))", at: header.path)
        }
        guard let file = try makeFile(header) else {
            throw PkgLayerError(.invalidInput, "member '\(header.path)' is a file in place of the archive's root directory", at: archiveName)
        }
        return file
    }

    /// Creates a regular file's member, or returns nil when its name is the root itself (`./`),
    /// which is skipped as it is for every other type.
    private func makeFile(_ header: ArchiveEntryHeader) throws -> ExtractedFile? {
        let (located, parentFD, name) = try locate(header)
        guard let path = located else { return nil }
        let fd = openat(parentFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PkgLayerError(.invalidInput, "cannot create member '\(header.path)': \(String(cString: strerror(errno))) (a duplicate member or a symlink in the way)",
                                at: archiveName)
        }
        created.append((String(path.dropFirst()), false))
        return ExtractedFile(fd: fd, packagePath: path, extractedPath: root + path, mode: fileMode(header.mode), archiveName: archiveName)
    }

    /// Directories, symlinks and hardlinks.
    private func extractWithoutContent(_ header: ArchiveEntryHeader) throws -> String? {
        let (located, parentFD, name) = try locate(header)
        guard let path = located else { return nil }

        if let target = header.hardlinkTarget {
            let targetPath: String
            do {
                targetPath = try ManifestPath.normalizeMember(target, archive: archiveName)
            } catch {
                throw PkgLayerError(.pathEscapesRoot, "member '\(header.path)' is a hardlink to '\(target)', which is not a member of the archive (an absolute path or '..')",
                                    at: archiveName)
            }
            // The link's parent is held in the cache; the target's may replace it, so keep a copy.
            let linkParent = dup(parentFD)
            guard linkParent >= 0 else { throw PkgLayerError.posix("dup", path: root) }
            defer { close(linkParent) }
            let notAFile = PkgLayerError(.invalidInput, "member '\(header.path)' is a hardlink to '\(target)', which is not a regular file extracted before it",
                                         at: archiveName)
            guard targetPath != "/", let targetParent = try? parentDirectory(of: targetPath, member: header.path, create: false) else {
                throw notAFile
            }
            let targetName = ManifestPath.basename(of: targetPath)
            var st = stat()
            guard fstatat(targetParent, targetName, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else {
                throw notAFile
            }
            guard linkat(targetParent, targetName, linkParent, name, 0) == 0 else {
                throw creationFailed(header, "hardlink \(path)")
            }
            created.append((String(path.dropFirst()), false))
            return path
        }
        if header.isDirectory {
            if mkdirat(parentFD, name, 0o700) == 0 {
                created.append((String(path.dropFirst()), true))
            } else if errno != EEXIST {
                throw PkgLayerError.posix("mkdir \(path)", path: archiveName)
            }
            var st = stat()
            guard fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw PkgLayerError(.invalidInput, "member '\(header.path)' is a directory but something else is already at that path",
                                    at: archiveName)
            }
            let special: UInt32 = keepSpecialBits ? 0o7000 : 0
            guard fchmodat(parentFD, name, mode_t(header.mode & (0o777 | special) | 0o700), 0) == 0 else {
                throw PkgLayerError.posix("chmod \(path)", path: archiveName)
            }
            return path
        }
        if header.isSymlink {
            let target = header.symlinkTarget ?? ""
            guard !target.isEmpty, ManifestPath.symlinkStaysInside(linkPath: path, target: target) else {
                throw PkgLayerError(.pathEscapesRoot, "member '\(header.path)' is a symlink to '\(target)', which leaves the archive's root",
                                    at: archiveName)
            }
            guard symlinkat(target, parentFD, name) == 0 else {
                throw creationFailed(header, "symlink \(path)")
            }
            created.append((String(path.dropFirst()), false))
            symlinks.append(path)
            return path
        }
        throw PkgLayerError(.unsupportedFileType, "member '\(header.path)' is a device, fifo or socket, which pkglayer does not extract",
                            at: archiveName)
    }

    /// A member that already exists is the archive's fault (a duplicate); anything else is the system's.
    private func creationFailed(_ header: ArchiveEntryHeader, _ what: String) -> PkgLayerError {
        let code = errno
        if code == EEXIST {
            return PkgLayerError(.invalidInput, "cannot create member '\(header.path)': something is already at that path (a duplicate member?)",
                                 at: archiveName)
        }
        return PkgLayerError.posix(what, path: archiveName, errno: code)
    }

    /// The permission bits an extracted regular file gets.
    private func fileMode(_ mode: UInt32) -> mode_t {
        mode_t(keepSpecialBits ? mode & 0o7777 : mode & 0o777 | 0o400)
    }

    // MARK: - Walking

    /// The member's normalised path (nil for the root itself), the descriptor of its parent directory
    /// (created as needed; owned by the extractor, valid until the next call) and its file name.
    private func locate(_ header: ArchiveEntryHeader) throws -> (path: String?, parentFD: Int32, name: String) {
        guard !discarded else {
            throw PkgLayerError(.archive, "this extractor's files were removed; start a new ArchiveExtractor", at: archiveName)
        }
        let path = try ManifestPath.normalizeMember(header.path, archive: archiveName)
        if path == "/" { return (nil, rootFD, "") }
        let parentFD = try parentDirectory(of: path, member: header.path, create: true)
        return (path, parentFD, ManifestPath.basename(of: path))
    }

    /// Opens each parent directory of `path` in turn, refusing symlinks on the way; with `create`,
    /// missing ones are made (0755) and remembered. The descriptor is cached; the caller must not
    /// close it, and it stays valid only until the next call.
    private func parentDirectory(of path: String, member: String, create: Bool) throws -> Int32 {
        let parent = ManifestPath.parent(of: path)
        if let cached = cachedParent, cached.path == parent { return cached.fd }
        let fd: Int32
        do {
            fd = try SafeDirectory.open(parent, beneath: rootFD, create: create, location: "\(archiveName): \(path)") { made in
                created.append((made, true))
            }
        } catch let stop as SafeDirectory.NotADirectory {
            throw PkgLayerError(.pathEscapesRoot, "member '\(member)' would be written through '\(stop.component)', which is not a real directory (a symlink?)",
                                at: archiveName)
        }
        if let cached = cachedParent { close(cached.fd) }
        cachedParent = (parent, fd)
        return fd
    }

    // MARK: - Reading back

    /// What `openMember` found in place of a regular file.
    public enum MemberProblem: Error, Sendable {
        /// Nothing of that name in the archive; `link` (`path -> target`) is the last link followed on
        /// the way, when there was one.
        case missing(link: String?)
        /// The name, or a link on the way, is not a regular file (a directory, a device …).
        case notAFile
        /// A link on the way leads out of the root with `..`.
        case escapes(link: String, target: String)
        /// More than 40 links on the way (a loop).
        case tooManyLinks
    }

    /// Opens the extracted member `name` (a path relative to the root, as an archive's own index names
    /// it) for reading, without ever leaving the root: each component is opened with O_NOFOLLOW
    /// beneath the root, and a symlink on the way is resolved by hand against the root — a relative
    /// target from the link's directory, an absolute target from the root itself (as in a chroot), a
    /// `..` past the root refused — so no member is ever read through a link that leads to a host
    /// file. Returns a descriptor the caller closes, and the member's path after links.
    public func openMember(_ name: String) throws -> (fd: Int32, path: String) {
        var pending = name.split(separator: "/").map(String.init).reversed() as [String]
        var resolved: [String] = []
        var links = 0
        var lastLink: String?
        while let component = pending.popLast() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                guard !resolved.isEmpty else { throw MemberProblem.escapes(link: name, target: name) }
                resolved.removeLast()
                continue
            }
            let parent = try openResolvedDirectory(resolved, link: lastLink)
            defer { close(parent) }
            var st = stat()
            guard fstatat(parent, component, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw MemberProblem.missing(link: lastLink) }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                links += 1
                guard links <= 40 else { throw MemberProblem.tooManyLinks }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(parent, component, &buffer, buffer.count - 1)
                guard n > 0 else { throw MemberProblem.missing(link: lastLink) }
                let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                lastLink = "\((resolved + [component]).joined(separator: "/")) -> \(target)"
                if target.hasPrefix("/") { resolved = [] }
                // `..` in a target may climb to the root, never past it.
                var depth = resolved.count
                for part in target.split(separator: "/") where part != "." {
                    depth += part == ".." ? -1 : 1
                    if depth < 0 { throw MemberProblem.escapes(link: (resolved + [component]).joined(separator: "/"), target: target) }
                }
                pending += target.split(separator: "/").map(String.init).reversed()
            case S_IFDIR:
                resolved.append(component)
            case S_IFREG:
                guard pending.allSatisfy({ $0.isEmpty || $0 == "." }) else { throw MemberProblem.notAFile }
                let fd = openat(parent, component, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw PkgLayerError.posix("open \(name)", path: archiveName) }
                return (fd, (resolved + [component]).joined(separator: "/"))
            default:
                throw MemberProblem.notAFile
            }
        }
        throw MemberProblem.notAFile   // the root or a directory
    }

    /// The descriptor of the real directory `components` beneath the root (no symlink on the way).
    private func openResolvedDirectory(_ components: [String], link: String?) throws -> Int32 {
        do {
            return try SafeDirectory.open(components.joined(separator: "/"), beneath: rootFD, create: false, location: archiveName)
        } catch is SafeDirectory.NotADirectory {
            throw MemberProblem.missing(link: link)
        }
    }

    // MARK: - Cleaning up

    /// Removes everything this extractor created, newest first, and the root itself when the
    /// extractor created it. What was there before is left alone. The extractor cannot be used after.
    public func removeAll() {
        discarded = true
        if let cached = cachedParent {
            close(cached.fd)
            cachedParent = nil
        }
        if let createdRoot {
            try? FileManager.default.removeItem(atPath: createdRoot)
        } else {
            // Every parent of a remembered path is a real directory the extractor walked (or made)
            // without following symlinks, so these relative paths cannot lead outside.
            for entry in created.reversed() {
                unlinkat(rootFD, entry.path, entry.isDirectory ? AT_REMOVEDIR : 0)
            }
        }
        created = []
    }
}

/// A regular file being extracted: its content is written through `write`, and `finish()` applies the
/// member's mode and closes it. Dropped unfinished, it is closed and stays (mode 0600) until the
/// extractor's `removeAll()`.
public final class ExtractedFile: ByteSink {
    /// The member's normalised package path (`/usr/bin/x`).
    public let packagePath: String
    /// Where it is on disk.
    public let extractedPath: String
    /// Bytes written so far.
    public private(set) var size: UInt64 = 0
    private var fd: Int32
    private let mode: mode_t
    private let archiveName: String

    init(fd: Int32, packagePath: String, extractedPath: String, mode: mode_t, archiveName: String) {
        self.fd = fd
        self.packagePath = packagePath
        self.extractedPath = extractedPath
        self.mode = mode
        self.archiveName = archiveName
    }

    deinit { if fd >= 0 { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw PkgLayerError(.io, "'\(packagePath)' is already finished", at: extractedPath) }
        try FileWriter.writeAll(fd, bytes, path: extractedPath, what: "write \(packagePath)")
        size += UInt64(bytes.count)
    }

    /// Applies the mode and closes the file (once; later calls do nothing).
    public func finish() throws {
        guard fd >= 0 else { return }
        defer { close(fd); fd = -1 }
        guard fchmod(fd, mode) == 0 else { throw PkgLayerError.posix("chmod \(packagePath)", path: archiveName) }
    }
}
