import Foundation
import PkgLayerCore

/// Extracts members of an untrusted archive under a root directory, safely:
/// - `..` and absolute member names are refused;
/// - a symlink whose target leaves the root is refused;
/// - nothing is ever written through a symlink: every parent is opened with O_NOFOLLOW, and files are
///   created with O_EXCL|O_NOFOLLOW, so a member cannot redirect a later one outside the root;
/// - hardlinks may only point at regular files already extracted.
/// Ownership is not applied (the manifest carries it); permission bits are, with directories kept
/// writable by their owner so later members can be created in them.
public final class ArchiveExtractor {
    public let root: String
    private let rootFD: Int32
    private let archiveName: String

    /// - Parameter archiveName: named in errors (the tarball, rpm or deb path).
    public init(root: String, archiveName: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: root) }
        self.root = root
        rootFD = fd
        self.archiveName = archiveName
    }

    deinit { close(rootFD) }

    /// Extracts the reader's current member; returns its normalised package path (`/usr/bin/x`), or
    /// nil for the root directory itself (`./`).
    @discardableResult
    public func extract(_ header: ArchiveEntryHeader, from reader: ArchiveReader) throws -> String? {
        let path = try ManifestPath.normalizeMember(header.path, archive: archiveName)
        if path == "/" { return nil }
        let parentFD = try openParent(of: path)
        defer { close(parentFD) }
        let name = ManifestPath.basename(of: path)
        let mode = mode_t(header.mode & 0o7777)

        if let target = header.hardlinkTarget {
            let targetPath = try ManifestPath.normalizeMember(target, archive: archiveName)
            var st = stat()
            guard fstatat(rootFD, String(targetPath.dropFirst()), &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else {
                throw PkgLayerError(.invalidInput, "member '\(header.path)' is a hardlink to '\(target)', which is not a regular file extracted before it",
                                    at: archiveName)
            }
            guard linkat(rootFD, String(targetPath.dropFirst()), parentFD, name, 0) == 0 else {
                throw PkgLayerError.posix("hardlink \(path)", path: archiveName)
            }
            return path
        }
        if header.isDirectory {
            if mkdirat(parentFD, name, 0o700) != 0 && errno != EEXIST {
                throw PkgLayerError.posix("mkdir \(path)", path: archiveName)
            }
            var st = stat()
            guard fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw PkgLayerError(.invalidInput, "member '\(header.path)' is a directory but something else is already at that path",
                                    at: archiveName)
            }
            fchmodat(parentFD, name, mode | 0o700, 0)
            return path
        }
        if header.isSymlink {
            let target = header.symlinkTarget ?? ""
            guard !target.isEmpty, ManifestPath.symlinkStaysInside(linkPath: path, target: target) else {
                throw PkgLayerError(.pathEscapesRoot, "member '\(header.path)' is a symlink to '\(target)', which leaves the archive's root",
                                    at: archiveName)
            }
            guard symlinkat(target, parentFD, name) == 0 else {
                throw PkgLayerError.posix("symlink \(path)", path: archiveName)
            }
            return path
        }
        guard header.isRegular else {
            throw PkgLayerError(.unsupportedFileType, "member '\(header.path)' is a device, fifo or socket, which pkglayer does not extract",
                                at: archiveName)
        }
        let fd = openat(parentFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw PkgLayerError(.invalidInput, "cannot create member '\(header.path)': \(String(cString: strerror(errno))) (a duplicate member or a symlink in the way)",
                                at: archiveName)
        }
        defer { close(fd) }
        try reader.readData { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PkgLayerError.posix("write \(path)", path: root)
                }
                offset += n
            }
        }
        fchmod(fd, mode)
        return path
    }

    /// Opens (creating as needed) each parent directory of `path`, refusing symlinks on the way.
    private func openParent(of path: String) throws -> Int32 {
        var fd = dup(rootFD)
        for component in ManifestPath.parent(of: path).split(separator: "/") {
            let name = String(component)
            if mkdirat(fd, name, 0o755) != 0 && errno != EEXIST {
                close(fd)
                throw PkgLayerError.posix("mkdir", path: "\(archiveName): \(path)")
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(fd)
            guard next >= 0 else {
                throw PkgLayerError(.pathEscapesRoot, "member '\(path)' would be written through '\(name)', which is not a real directory (a symlink?)",
                                    at: archiveName)
            }
            fd = next
        }
        return fd
    }
}
