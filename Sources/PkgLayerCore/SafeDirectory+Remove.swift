import Foundation

/// Removal inside a tree that untrusted content shaped (an image's unpacked root, a build sysroot):
/// every step is relative to a directory descriptor and nothing is followed, so a symlink planted in
/// the tree is removed as a link, never through it.
extension SafeDirectory {
    /// Removes `name` from the directory `parentFD`: a symlink or file with `unlinkat`, a directory
    /// with everything in it, each child opened with O_DIRECTORY | O_NOFOLLOW from its parent's
    /// descriptor. Missing is not an error.
    ///
    /// - Parameter location: named in errors (the path as the caller knows it).
    public static func remove(_ name: String, in parentFD: Int32, location: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw PkgLayerError(.invalidInput, "'\(name)' is not a single file name; nothing removed", at: location)
        }
        var st = stat()
        guard fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw PkgLayerError.posix("lstat", path: location)
        }
        let isDirectory = st.st_mode & S_IFMT == S_IFDIR
        if isDirectory {
            let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw PkgLayerError.posix("open", path: location) }
            defer { close(fd) }
            // A directory of mode 0555 keeps its children from its owner too.
            if st.st_mode & 0o700 != 0o700 { fchmod(fd, mode_t(st.st_mode & 0o7777) | 0o700) }
            try removeContents(of: fd, location: location)
        }
        guard unlinkat(parentFD, name, isDirectory ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT else {
            throw PkgLayerError.posix("remove", path: location)
        }
    }

    /// Removes everything inside the directory `fd` (which stays), as `remove` does for each entry.
    public static func removeContents(of fd: Int32, location: String) throws {
        for name in try names(in: fd, location: location) {
            try remove(name, in: fd, location: location + "/" + name)
        }
    }

    /// The entries of the directory `fd` (without `.` and `..`), sorted by their bytes.
    public static func names(in fd: Int32, location: String) throws -> [String] {
        let copy = dup(fd)
        guard copy >= 0 else { throw PkgLayerError.posix("dup", path: location) }
        guard let dir = fdopendir(copy) else {
            let error = PkgLayerError.posix("opendir", path: location)
            close(copy)
            throw error
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw PkgLayerError.posix("readdir", path: location) }
                break
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
