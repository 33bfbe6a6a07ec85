import Foundation
import PkgLayerCore

/// Creates a package's files under a staging directory without ever following a symlink.
///
/// Every path is walked component by component from a descriptor of the root with
/// `openat(O_DIRECTORY | O_NOFOLLOW)`: a parent that is missing is created as a real directory, and a
/// parent that is a symlink (planted by an earlier member) is an error, not something to follow.
/// Files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so nothing existing is overwritten.
///
/// Staged content is for reading: directories are 0755 and files keep their permission bits without
/// setuid, setgid or sticky (the manifest carries the real modes and owners).
final class StagingExtractor {
    let root: String
    private let rootFD: Int32
    private let createdRoot: Bool
    private var cachedDirectory: (path: [String], fd: Int32)?
    /// Names the archive in errors.
    let archive: String

    /// `root` must not exist or be an empty directory.
    init(root: String, archive: String) throws {
        self.root = root
        self.archive = archive
        var created = false
        var st = stat()
        if lstat(root, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw PkgLayerError(.invalidInput, "staging path exists and is not a directory", at: root)
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            guard contents.isEmpty else {
                throw PkgLayerError(.invalidInput, "staging directory is not empty; give an empty or new directory", at: root)
            }
        } else {
            guard mkdir(root, 0o755) == 0 else { throw PkgLayerError.posix("creating the staging directory", path: root) }
            created = true
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("opening the staging directory", path: root) }
        rootFD = fd
        createdRoot = created
    }

    deinit {
        if let cached = cachedDirectory { close(cached.fd) }
        close(rootFD)
    }

    /// The staged location of a package path (`/usr/bin/x` → `ROOT/usr/bin/x`).
    func stagedPath(_ packagePath: String) -> String { root + packagePath }

    /// Removes everything extracted so far (and the root if this extractor created it).
    func removeAll() {
        if let cached = cachedDirectory { close(cached.fd); cachedDirectory = nil }
        if createdRoot {
            try? FileManager.default.removeItem(atPath: root)
        } else if let children = try? FileManager.default.contentsOfDirectory(atPath: root) {
            for child in children { try? FileManager.default.removeItem(atPath: "\(root)/\(child)") }
        }
    }

    private func components(_ packagePath: String) -> [String] {
        packagePath.split(separator: "/").map(String.init)
    }

    /// An fd of the directory holding `packagePath`, creating missing parents as real directories.
    /// The caller must not close it.
    private func parentFD(of packagePath: String, member: String) throws -> (fd: Int32, name: String) {
        var parts = components(packagePath)
        let name = parts.removeLast()
        if let cached = cachedDirectory, cached.path == parts { return (cached.fd, name) }
        var fd = dup(rootFD)
        guard fd >= 0 else { throw PkgLayerError.posix("dup", path: root) }
        for part in parts {
            var next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT {
                if mkdirat(fd, part, 0o755) != 0 && errno != EEXIST {
                    let e = errno
                    close(fd)
                    throw PkgLayerError.posix("creating directory for '\(member)'", path: archive, errno: e)
                }
                next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let e = errno
                close(fd)
                if e == ELOOP || e == ENOTDIR {
                    throw PkgLayerError(.pathEscapesRoot, "member '\(member)' lies beneath '\(part)', which is not a directory (a symlink?); refusing to write through it",
                                        at: archive)
                }
                throw PkgLayerError.posix("opening the directory of '\(member)'", path: archive, errno: e)
            }
            close(fd)
            fd = next
        }
        if let cached = cachedDirectory { close(cached.fd) }
        cachedDirectory = (parts, fd)
        return (fd, name)
    }

    func makeDirectory(_ packagePath: String, member: String) throws {
        let (parent, name) = try parentFD(of: packagePath, member: member)
        if mkdirat(parent, name, 0o755) == 0 { return }
        let e = errno
        var st = stat()
        if e == EEXIST, fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR { return }
        if e == EEXIST {
            throw PkgLayerError(.deb, "member '\(member)' is a directory, but an earlier member already put something else there", at: archive)
        }
        throw PkgLayerError.posix("creating directory '\(member)'", path: archive, errno: e)
    }

    /// Creates a new regular file and returns its fd (the caller writes, then calls `finishFile`).
    func createFile(_ packagePath: String, member: String) throws -> Int32 {
        let (parent, name) = try parentFD(of: packagePath, member: member)
        let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST {
                throw PkgLayerError(.deb, "member '\(member)' appears twice (or collides with an earlier member)", at: archive)
            }
            throw PkgLayerError.posix("creating '\(member)'", path: archive, errno: e)
        }
        return fd
    }

    func finishFile(_ fd: Int32, mode: UInt32, member: String) throws {
        defer { close(fd) }
        guard fchmod(fd, mode_t(mode & 0o777 | 0o400)) == 0 else {
            throw PkgLayerError.posix("setting the mode of '\(member)'", path: archive)
        }
    }

    func makeSymlink(_ packagePath: String, target: String, member: String) throws {
        let (parent, name) = try parentFD(of: packagePath, member: member)
        guard symlinkat(target, parent, name) == 0 else {
            let e = errno
            if e == EEXIST {
                throw PkgLayerError(.deb, "member '\(member)' appears twice (or collides with an earlier member)", at: archive)
            }
            throw PkgLayerError.posix("creating symlink '\(member)'", path: archive, errno: e)
        }
    }

    /// Links `packagePath` to the already-extracted regular file `targetPath` (never following symlinks).
    func makeHardlink(_ packagePath: String, to targetPath: String, member: String) throws {
        let (targetParentTmp, targetName) = try parentFD(of: targetPath, member: member)
        let targetParent = dup(targetParentTmp)
        guard targetParent >= 0 else { throw PkgLayerError.posix("dup", path: archive) }
        defer { close(targetParent) }
        let (parent, name) = try parentFD(of: packagePath, member: member)
        guard linkat(targetParent, targetName, parent, name, 0) == 0 else {
            let e = errno
            if e == EEXIST {
                throw PkgLayerError(.deb, "member '\(member)' appears twice (or collides with an earlier member)", at: archive)
            }
            throw PkgLayerError.posix("creating hardlink '\(member)'", path: archive, errno: e)
        }
    }
}

/// A descriptor as a write target.
func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw PkgLayerError.posix("write", path: path)
        }
        offset += n
    }
}
