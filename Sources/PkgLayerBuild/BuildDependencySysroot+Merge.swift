import Foundation
import PkgLayerCore

extension BuildDependencySysroot {
    /// Merges one dependency package's extracted tree (`source`, as a package reader left it) into
    /// the sysroot `destination`, as installing it over the packages merged before would: a file or
    /// symlink replaces whatever non-directory is at its path, directories merge.
    ///
    /// The sysroot's content comes from packages, so nothing in it is trusted and nothing is
    /// followed: every directory is opened with O_DIRECTORY | O_NOFOLLOW from its parent's
    /// descriptor, an existing entry is `unlinkat`-ed before its replacement is made with
    /// O_CREAT | O_EXCL | O_NOFOLLOW, and a symlink where the package has a directory (or a
    /// directory where it has a file) is refused rather than merged through. What the build sees:
    /// - symlinks stay symlinks; an absolute target is made relative, so it resolves inside the
    ///   sysroot (the package's `/` is `/build/deps`), and a relative one that climbs out is refused;
    /// - permission bits without setuid, setgid and sticky (directories keep u+rwx), modification
    ///   times; ownership is not copied;
    /// - files that are hardlinks of each other in `source` stay hardlinks.
    ///
    /// - Parameter package: the dependency package, named in errors.
    public static func merge(_ source: String, into destination: String, package: String) throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let sourceFD = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard sourceFD >= 0 else { throw PkgLayerError.posix("open", path: source) }
        defer { close(sourceFD) }
        let destinationFD = open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard destinationFD >= 0 else { throw PkgLayerError.posix("open", path: destination) }
        defer { close(destinationFD) }
        var merger = SysrootMerger(sourceRoot: source, rootFD: destinationFD, root: destination, package: package)
        try merger.mergeDirectory(from: sourceFD, to: destinationFD, path: "")
    }

    /// `target` (absolute, as the package wrote it) as a path relative to the directory of `link`
    /// (a package path), so that it names the same file wherever the tree is mounted.
    static func relativeTarget(_ target: String, fromLinkAt link: String) -> String {
        func components(_ path: String) -> [String] {
            var stack: [String] = []
            for part in path.split(separator: "/") where part != "." {
                if part == ".." { if !stack.isEmpty { stack.removeLast() } } else { stack.append(String(part)) }
            }
            return stack
        }
        let from = components(ManifestPath.parent(of: link))
        let to = components(target)
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        let parts = Array(repeating: "..", count: from.count - common) + to[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}

/// One `merge`: the sysroot's root descriptor and the hardlink groups seen so far.
private struct SysrootMerger {
    let sourceRoot: String
    let rootFD: Int32
    let root: String
    let package: String
    /// "dev:ino" of a source file with more than one link → where its first copy went (package path).
    var linked: [String: String] = [:]

    init(sourceRoot: String, rootFD: Int32, root: String, package: String) {
        self.sourceRoot = sourceRoot; self.rootFD = rootFD; self.root = root; self.package = package
    }

    mutating func mergeDirectory(from sourceFD: Int32, to destinationFD: Int32, path: String) throws {
        for name in try SafeDirectory.names(in: sourceFD, location: sourceRoot + path) {
            let entryPath = "\(path)/\(name)"
            var st = stat()
            guard fstatat(sourceFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw PkgLayerError.posix("lstat", path: sourceRoot + entryPath) }
            var existing = stat()
            let exists = fstatat(destinationFD, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
            let existingIsDirectory = exists && existing.st_mode & S_IFMT == S_IFDIR
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if exists && !existingIsDirectory {
                    throw conflict(entryPath, ours: "a directory", theirs: Self.kind(existing))
                }
                if !exists, mkdirat(destinationFD, name, 0o700) != 0 {
                    throw PkgLayerError.posix("mkdir", path: root + entryPath)
                }
                let childSource = openat(sourceFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard childSource >= 0 else { throw PkgLayerError.posix("open", path: sourceRoot + entryPath) }
                defer { close(childSource) }
                let child = openat(destinationFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw conflict(entryPath, ours: "a directory", theirs: "something that is not a real directory") }
                defer { close(child) }
                try mergeDirectory(from: childSource, to: child, path: entryPath)
                fchmod(child, mode_t(st.st_mode & 0o777) | 0o700)
                var times = [st.st_atim, st.st_mtim]
                futimens(child, &times)
            case S_IFREG:
                try clear(name, in: destinationFD, path: entryPath, existing: exists ? existing : nil, ours: "a file")
                try copyFile(name, st, from: sourceFD, to: destinationFD, path: entryPath)
            case S_IFLNK:
                try clear(name, in: destinationFD, path: entryPath, existing: exists ? existing : nil, ours: "a symlink")
                var target = try Self.readLink(name, in: sourceFD, location: sourceRoot + entryPath)
                if target.hasPrefix("/") {
                    target = BuildDependencySysroot.relativeTarget(target, fromLinkAt: entryPath)
                } else if target.isEmpty || !ManifestPath.symlinkStaysInside(linkPath: entryPath, target: target) {
                    throw PkgLayerError(.pathEscapesRoot, "build dependency \(package) has a symlink \(entryPath) -> '\(target)', which leaves the package's root; the sysroot at \(Sandbox.depsMount) refuses it. Make the link absolute or keep it inside the package",
                                        at: package)
                }
                guard symlinkat(target, destinationFD, name) == 0 else { throw PkgLayerError.posix("symlink", path: root + entryPath) }
                var times = [st.st_atim, st.st_mtim]
                utimensat(destinationFD, name, &times, AT_SYMLINK_NOFOLLOW)
            default:
                throw PkgLayerError(.unsupportedFileType, "build dependency \(package) has a device, fifo or socket at \(entryPath); the sysroot holds only files, directories and symlinks",
                                    at: package)
            }
        }
    }

    /// Removes the non-directory at `name` before the package's entry takes its place; a directory
    /// there is a conflict (merging a file into it would mean removing another package's tree).
    private func clear(_ name: String, in fd: Int32, path: String, existing: stat?, ours: String) throws {
        guard let existing else { return }
        if existing.st_mode & S_IFMT == S_IFDIR { throw conflict(path, ours: ours, theirs: "a directory") }
        guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else { throw PkgLayerError.posix("remove", path: root + path) }
    }

    private mutating func copyFile(_ name: String, _ st: stat, from sourceFD: Int32, to destinationFD: Int32, path: String) throws {
        let inode = "\(st.st_dev):\(st.st_ino)"
        if st.st_nlink > 1, let first = linked[inode] {
            let parentFD = try SafeDirectory.open(String(ManifestPath.parent(of: first).dropFirst()), beneath: rootFD, create: false,
                                                  location: root + first)
            defer { close(parentFD) }
            if linkat(parentFD, ManifestPath.basename(of: first), destinationFD, name, 0) == 0 { return }
        }
        let input = openat(sourceFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw PkgLayerError.posix("open", path: sourceRoot + path) }
        defer { close(input) }
        let output = openat(destinationFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw PkgLayerError.posix("create", path: root + path) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("read", path: sourceRoot + path)
            }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try FileWriter.writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: root + path) }
        }
        guard fchmod(output, mode_t(st.st_mode & 0o777)) == 0 else { throw PkgLayerError.posix("chmod", path: root + path) }
        var times = [st.st_atim, st.st_mtim]
        futimens(output, &times)
        if st.st_nlink > 1 { linked[inode] = path }
    }

    private func conflict(_ path: String, ours: String, theirs: String) -> PkgLayerError {
        PkgLayerError(.invalidInput, "build dependency \(package) has \(ours) at \(path), where a build dependency merged before it has \(theirs); the sysroot at \(Sandbox.depsMount) cannot hold both, and pkglayer does not write through or replace another package's directory. Make the packages agree on \(path)",
                      at: package)
    }

    static func kind(_ st: stat) -> String {
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return "a symlink"
        case S_IFDIR: return "a directory"
        case S_IFREG: return "a file"
        default: return "a special file"
        }
    }

    static func readLink(_ name: String, in fd: Int32, location: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(fd, name, &buffer, buffer.count - 1)
        guard n >= 0 else { throw PkgLayerError.posix("readlink", path: location) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
