import Foundation
import PkgLayerCore

/// Build dependencies built by pkglayer are installed (by the caller) into a host directory that the
/// sandbox shows read-only at `/build/deps`, laid out like `/`: `/build/deps/usr/include`,
/// `/build/deps/usr/lib`, …. bubblewrap 0.8 has no overlay, so they cannot be merged into `/usr`; the
/// compiler, the linker, pkg-config and the dynamic loader are pointed at the prefix instead.
public enum BuildDependencySysroot {
    /// The variables that point the toolchain at the sysroot mounted at `mount`:
    /// - `PKG_CONFIG_PATH`: its pkgconfig directories (relocate the `.pc` files first, see
    ///   `relocatePkgConfigFiles`: pkg-config's `PKG_CONFIG_SYSROOT_DIR` would also prefix the host's own
    ///   packages such as openssl, and pkgconf's `--define-prefix` has no environment switch);
    /// - `CPPFLAGS=-I…/usr/include`, `LDFLAGS=-L…/usr/lib… -Wl,-rpath-link,…` for configure scripts;
    /// - `CPATH` and `LIBRARY_PATH`, which gcc and clang honour even when a build system ignores
    ///   CPPFLAGS/LDFLAGS (nginx's configure does); both are searched before the system directories;
    /// - `LD_LIBRARY_PATH`, so programs that configure compiles and runs find the libraries.
    public static func environment(mount: String = Sandbox.depsMount, multiarchTriplet: String? = HostLayout.detectMultiarch()) -> [String: String] {
        var libDirs = ["\(mount)/usr/lib"]
        if let multiarchTriplet { libDirs.insert("\(mount)/usr/lib/\(multiarchTriplet)", at: 0) }
        libDirs.append("\(mount)/usr/lib64")
        let include = "\(mount)/usr/include"
        let pkgConfig = libDirs.map { "\($0)/pkgconfig" } + ["\(mount)/usr/share/pkgconfig"]
        return [
            "PKG_CONFIG_PATH": pkgConfig.joined(separator: ":"),
            "CPPFLAGS": "-I\(include)",
            "LDFLAGS": (libDirs.map { "-L\($0)" } + libDirs.map { "-Wl,-rpath-link,\($0)" }).joined(separator: " "),
            "CPATH": include,
            "LIBRARY_PATH": libDirs.joined(separator: ":"),
            "LD_LIBRARY_PATH": libDirs.joined(separator: ":"),
        ]
    }

    /// How a recipe's own value is joined to the dependency value of the same variable.
    static func separator(for key: String) -> String {
        ["CPPFLAGS", "CFLAGS", "CXXFLAGS", "LDFLAGS"].contains(key) ? " " : ":"
    }

    /// Rewrites the `.pc` files under `hostRoot` so their absolute variable definitions
    /// (`prefix=/usr`, `libdir=/usr/lib/x86_64-linux-gnu`) point inside `mount`
    /// (`prefix=/build/deps/usr`). Returns the files changed. Call it on the prepared sysroot before
    /// the build; the packages themselves are not touched.
    ///
    /// The sysroot holds what build dependencies shipped, so the walk never follows a symlink: a
    /// `.pc` that is a link, or one reached through a linked directory, is left alone, and each
    /// rewrite is a new file renamed over the old one inside its own directory's descriptor.
    @discardableResult
    public static func relocatePkgConfigFiles(hostRoot: String, mount: String = Sandbox.depsMount) throws -> [String] {
        let rootFD = open(hostRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw PkgLayerError.posix("open", path: hostRoot) }
        defer { close(rootFD) }
        var changed: [String] = []
        func walk(_ fd: Int32, _ relative: String) throws {
            for name in try SafeDirectory.names(in: fd, location: hostRoot + relative) {
                let path = "\(relative)/\(name)"
                var st = stat()
                guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw PkgLayerError.posix("lstat", path: hostRoot + path) }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { throw PkgLayerError.posix("open", path: hostRoot + path) }
                    defer { close(child) }
                    try walk(child, path)
                case S_IFREG where name.hasSuffix(".pc"):
                    let text = String(decoding: try readFile(name, in: fd, location: hostRoot + path), as: UTF8.self)
                    let rewritten = relocate(pcText: text, mount: mount)
                    if rewritten != text {
                        try replaceFile(name, in: fd, with: Array(rewritten.utf8), mode: mode_t(st.st_mode & 0o777), location: hostRoot + path)
                        changed.append(hostRoot + path)
                    }
                default:
                    continue
                }
            }
        }
        try walk(rootFD, "")
        return changed.sorted()
    }

    /// The bytes of the regular file `name` in the directory `fd`, opened without following a link.
    static func readFile(_ name: String, in fd: Int32, location: String) throws -> [UInt8] {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { throw PkgLayerError.posix("open", path: location) }
        defer { close(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("read", path: location)
            }
            if n == 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }

    /// Writes `bytes` as a new file beside `name` (O_CREAT | O_EXCL | O_NOFOLLOW) and renames it over
    /// `name`, all relative to `fd`: whatever `name` was (a file, a planted link) is replaced, never
    /// written through.
    static func replaceFile(_ name: String, in fd: Int32, with bytes: [UInt8], mode: mode_t, location: String) throws {
        let temporary = ".\(name).pkglayer-\(getpid())"
        _ = unlinkat(fd, temporary, 0)
        let out = openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw PkgLayerError.posix("create", path: location) }
        var open = true
        defer { if open { close(out) } }
        do {
            try bytes.withUnsafeBytes { try FileWriter.writeAll(out, $0, path: location) }
            guard fchmod(out, mode) == 0 else { throw PkgLayerError.posix("chmod", path: location) }
            close(out)
            open = false
            guard renameat(fd, temporary, fd, name) == 0 else { throw PkgLayerError.posix("rename", path: location) }
        } catch {
            unlinkat(fd, temporary, 0)
            throw error
        }
    }

    /// `name=/abs/path` lines get `mount` in front of the path (once); everything else is kept.
    static func relocate(pcText: String, mount: String) -> String {
        var lines: [String] = []
        for line in pcText.components(separatedBy: "\n") {
            if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let name = line[..<eq]
                let value = line[line.index(after: eq)...]
                let isVariable = !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
                if isVariable, value.hasPrefix("/"), !value.hasPrefix(mount + "/"), value != Substring(mount) {
                    lines.append("\(name)=\(mount)\(value)")
                    continue
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
