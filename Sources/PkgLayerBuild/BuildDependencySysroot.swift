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
    @discardableResult
    public static func relocatePkgConfigFiles(hostRoot: String, mount: String = Sandbox.depsMount) throws -> [String] {
        var changed: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: hostRoot) else { return [] }
        while let relative = walker.nextObject() as? String {
            guard relative.hasSuffix(".pc") else { continue }
            let path = "\(hostRoot)/\(relative)"
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let rewritten = relocate(pcText: text, mount: mount)
            if rewritten != text {
                let out = try AtomicFile(path: path, overwrite: true, mode: mode_t(st.st_mode & 0o777))
                try out.write(rewritten)
                try out.commit()
                changed.append(path)
            }
        }
        return changed.sorted()
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
