import Foundation
import PkgLayerCore

/// What a build's result depends on besides the recipe and the sources: the compiler and the versions
/// of the Debian packages the recipe declares. Part of the output cache key.
public struct ToolchainIdentity: Sendable, Equatable, Codable {
    /// `cc --version`'s first line (`cc (Debian 12.2.0-14+deb12u1) 12.2.0`); nil without a cc.
    public var compiler: String?
    /// Declared Debian package → installed version.
    public var packages: [String: String]
    /// `bwrap --version`'s first line.
    public var sandbox: String?

    public init(compiler: String?, packages: [String: String], sandbox: String?) {
        self.compiler = compiler
        self.packages = packages
        self.sandbox = sandbox
    }

    /// Stable text for hashing into a cache key: one `key=value` line each, sorted.
    public var canonicalText: String {
        var lines = ["compiler=\(compiler ?? "")", "sandbox=\(sandbox ?? "")"]
        lines += packages.sorted { $0.key < $1.key }.map { "package:\($0.key)=\($0.value)" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Checks, before anything runs, that the commands a recipe needs are on the sandbox's PATH and the
/// Debian packages it declares are installed; reports everything missing at once with the
/// `apt-get install -y …` command that fixes it. Also collects the toolchain identity.
public enum HostRequirements {
    /// Commands whose Debian package is known, for the fix command.
    public static let commandPackages: [String: String] = [
        "bwrap": "bubblewrap", "cc": "gcc", "gcc": "gcc", "c++": "g++", "g++": "g++", "cpp": "cpp", "make": "make",
        "patch": "patch", "perl": "perl", "python3": "python3", "pkg-config": "pkgconf", "pkgconf": "pkgconf",
        "autoconf": "autoconf", "autoreconf": "autoconf", "automake": "automake", "aclocal": "automake",
        "libtoolize": "libtool", "libtool": "libtool-bin", "m4": "m4", "bison": "bison", "yacc": "bison", "flex": "flex",
        "cmake": "cmake", "ninja": "ninja-build", "meson": "meson", "git": "git", "curl": "curl", "wget": "wget",
        "xz": "xz-utils", "bzip2": "bzip2", "zstd": "zstd", "gzip": "gzip", "tar": "tar", "file": "file",
        "makeinfo": "texinfo", "msgfmt": "gettext", "xgettext": "gettext", "re2c": "re2c", "install": "coreutils",
        "sed": "sed", "awk": "mawk", "gawk": "gawk", "grep": "grep", "find": "findutils", "diff": "diffutils",
        "strip": "binutils", "ld": "binutils", "ar": "binutils", "as": "binutils", "nm": "binutils", "objcopy": "binutils",
        "clang": "clang", "go": "golang-go", "cargo": "cargo", "rustc": "rustc",
    ]

    /// Checks `commands` (looked up on the host in the sandbox's PATH, which shows the host's /usr) and
    /// the Debian `packages`. bwrap, which runs every build, is always checked (in the host PATH).
    ///
    /// - Throws: `.toolMissing` listing every missing command and package, with the apt-get command.
    /// - Returns: the toolchain identity (package versions, compiler, bwrap).
    @discardableResult
    public static func check(commands: [String], packages: [String], sandboxPath: String = Sandbox.defaultPath) throws -> ToolchainIdentity {
        var missingCommands: [String] = []
        for command in commands where Subprocess.which(command, path: sandboxPath) == nil {
            if !missingCommands.contains(command) { missingCommands.append(command) }
        }
        let bwrap = Subprocess.which("bwrap", path: Subprocess.hostPath)
        if bwrap == nil && !missingCommands.contains("bwrap") { missingCommands.append("bwrap") }

        var versions: [String: String] = [:]
        var missingPackages: [String] = []
        if !packages.isEmpty {
            guard Subprocess.which("dpkg-query", path: Subprocess.hostPath) != nil else {
                throw PkgLayerError(.toolMissing, "the recipe declares Debian packages (\(packages.joined(separator: ", "))) but this host has no dpkg-query; build on Debian or Ubuntu, or declare commands instead",
                                    at: "build requirements")
            }
            let status = try packageStatus(packages)
            for package in packages {
                if let version = status[package] { versions[package] = version } else if !missingPackages.contains(package) { missingPackages.append(package) }
            }
        }

        guard missingCommands.isEmpty && missingPackages.isEmpty else {
            throw missingError(commands: missingCommands, packages: missingPackages, sandboxPath: sandboxPath)
        }
        return ToolchainIdentity(compiler: firstLine(of: "cc", ["--version"], path: sandboxPath), packages: versions,
                                 sandbox: bwrap.flatMap { firstLine(of: $0, ["--version"], path: Subprocess.hostPath) })
    }

    /// Installed packages → version (`dpkg-query -W -f '${Status} ${Version}'`, "install ok installed" only).
    static func packageStatus(_ packages: [String]) throws -> [String: String] {
        let result = try Subprocess.run("dpkg-query", ["-W", "-f", "${binary:Package}\t${Package}\t${Status}\t${Version}\n"] + packages,
                                        environment: Subprocess.cLocaleEnvironment)
        var installed: [String: String] = [:]
        for line in result.text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, fields[2].hasSuffix(" installed"), !fields[3].isEmpty else { continue }
            installed[fields[0]] = fields[3]
            installed[fields[1]] = installed[fields[1]] ?? fields[3]
        }
        return installed
    }

    static func missingError(commands: [String], packages: [String], sandboxPath: String) -> PkgLayerError {
        var lines = ["missing on this host, so nothing was built:"]
        if !commands.isEmpty {
            lines.append("  commands not found in \(sandboxPath): \(commands.joined(separator: ", "))")
        }
        if !packages.isEmpty {
            lines.append("  Debian packages not installed: \(packages.joined(separator: ", "))")
        }
        var install: [String] = []
        var unknown: [String] = []
        for command in commands {
            if let package = commandPackages[command] {
                if !install.contains(package) { install.append(package) }
            } else {
                unknown.append(command)
            }
        }
        for package in packages where !install.contains(package) { install.append(package) }
        if !install.isEmpty {
            lines.append("Fix: apt-get install -y \(install.joined(separator: " "))")
        }
        for command in unknown {
            lines.append("  (no known package for '\(command)'; find it with: apt-file search --regexp 'bin/\(command)$')")
        }
        return PkgLayerError(.toolMissing, lines.joined(separator: "\n"), at: "build requirements")
    }

    static func firstLine(of command: String, _ arguments: [String], path: String) -> String? {
        guard let program = Subprocess.which(command, path: path),
              let result = try? Subprocess.run(program, arguments, environment: Subprocess.cLocaleEnvironment),
              result.status.succeeded else { return nil }
        return result.text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
