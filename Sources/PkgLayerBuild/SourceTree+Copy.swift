import Foundation
import PkgLayerCore

extension SourceTree {
    /// Copies a local file or directory into the tree.
    ///
    /// A file lands at `subdirectory/<name>` (`name` defaults to the file's own name) and replaces a file
    /// already there (a recipe may ship a newer `config.sub`). A directory's *contents* are merged into
    /// `subdirectory`. Permission bits (without setuid/setgid/sticky) and modification times are kept,
    /// symlinks are copied as symlinks, ownership is not copied. Nothing is written through a symlink
    /// that is already in the tree.
    public func copy(_ source: String, into subdirectory: String = "", as name: String? = nil) throws {
        let relative = try SourceTree.relativeDirectory(subdirectory, field: "\(source): extract-to")
        let dirFD = try openDirectory(relative, create: true)
        defer { close(dirFD) }
        var st = stat()
        guard lstat(source, &st) == 0 else { throw PkgLayerError.posix("lstat", path: source) }
        if st.st_mode & S_IFMT == S_IFDIR {
            try copyContents(of: source, to: dirFD, shown: relative)
        } else {
            let target = name ?? (source as NSString).lastPathComponent
            guard !target.isEmpty, !target.contains("/"), target != ".", target != ".." else {
                throw PkgLayerError(.invalidInput, "cannot copy to the name '\(target)'", at: source)
            }
            try copyEntry(source, st, to: dirFD, name: target, shown: relative)
        }
    }

    private func copyContents(of directory: String, to dirFD: Int32, shown: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            let path = "\(directory)/\(name)"
            var st = stat()
            guard lstat(path, &st) == 0 else { throw PkgLayerError.posix("lstat", path: path) }
            try copyEntry(path, st, to: dirFD, name: name, shown: shown.isEmpty ? name : "\(shown)/\(name)")
        }
    }

    private func copyEntry(_ path: String, _ st: stat, to dirFD: Int32, name: String, shown: String) throws {
        let mode = mode_t(st.st_mode & 0o777)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            if mkdirat(dirFD, name, 0o755) != 0 && errno != EEXIST {
                throw PkgLayerError.posix("mkdir", path: "\(root)/\(shown)")
            }
            let childFD = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard childFD >= 0 else {
                throw PkgLayerError(.pathEscapesRoot, "'\(shown)' in the source tree is not a real directory (a symlink?); cannot copy \(path) into it",
                                    at: root)
            }
            defer { close(childFD) }
            try copyContents(of: path, to: childFD, shown: shown)
            fchmod(childFD, mode | 0o700)
            var times = [st.st_atim, st.st_mtim]
            futimens(childFD, &times)
        case S_IFLNK:
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
            unlinkat(dirFD, name, 0)
            guard symlinkat(target, dirFD, name) == 0 else { throw PkgLayerError.posix("symlink", path: "\(root)/\(shown)") }
        case S_IFREG:
            // A new file, never the old one truncated: that one may be a hardlink shared with another
            // path, and whatever is there is replaced, not written into.
            var existing = stat()
            if fstatat(dirFD, name, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT != S_IFDIR {
                unlinkat(dirFD, name, 0)
            }
            let out = openat(dirFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard out >= 0 else {
                throw PkgLayerError(.pathEscapesRoot, "cannot write '\(shown)' in the source tree: \(String(cString: strerror(errno))) (a symlink in the way?)",
                                    at: root)
            }
            defer { close(out) }
            try FileReader.forEachBlock(path: path) { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(out, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw PkgLayerError.posix("write", path: "\(root)/\(shown)")
                    }
                    offset += n
                }
            }
            fchmod(out, mode)
            var times = [st.st_atim, st.st_mtim]
            futimens(out, &times)
        default:
            throw PkgLayerError(.unsupportedFileType, "is a device, fifo or socket; only files, directories and symlinks are copied", at: path)
        }
    }
}
